#include "contra/core/cpu_peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace contra {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

#if defined(__x86_64__)

std::string cpu_vendor() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return "";
  char v[13] = {};
  const unsigned regs[3] = {b, d, c};
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 4; ++k) v[i * 4 + k] = char((regs[i] >> (8 * k)) & 0xff);
  return v;
}

int cpu_family() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const int base = int((a >> 8) & 0xf);
  return base == 0xf ? base + int((a >> 20) & 0xff) : base;
}

/// Cycles per second of one core: 8 dependent adds per iteration take 8 cycles on every x86 core
/// of the last twenty years (one-cycle latency); the loop's own counter runs beside them.
double measure_clock_ghz() {
  constexpr int64_t kIterations = 20'000'000;
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    uint64_t x = 0;
    const auto t0 = Clock::now();
    for (int64_t i = 0; i < kIterations; ++i)
      asm volatile(
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
          : "+r"(x));
    best = std::min(best, seconds_since(t0));
  }
  return 8.0 * double(kIterations) / best / 1e9;
}

// Twelve independent accumulators hide the FMA latency (4-5 cycles) on two pipes.
constexpr int kChains = 12;
constexpr int64_t kFmaIterations = 4'000'000;

__attribute__((target("avx2,fma"))) float fma_loop_avx2() {
  __m256 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm256_set1_ps(float(k));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
  for (int64_t i = 0; i < kFmaIterations; ++i)
    for (int k = 0; k < kChains; ++k) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
  float out = 0, lanes[8];
  for (int k = 0; k < kChains; ++k) {
    _mm256_storeu_ps(lanes, acc[k]);
    out += lanes[0];
  }
  return out;
}

__attribute__((target("avx512f"))) float fma_loop_avx512() {
  __m512 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm512_set1_ps(float(k));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
  for (int64_t i = 0; i < kFmaIterations; ++i)
    for (int k = 0; k < kChains; ++k) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
  float out = 0, lanes[16];
  for (int k = 0; k < kChains; ++k) {
    _mm512_storeu_ps(lanes, acc[k]);
    out += lanes[0];
  }
  return out;
}

/// GFLOP/s of the FMA loop on `threads` threads at once (best of three).
double measure_fma_gflops(bool avx512, int threads) {
  const double lanes = avx512 ? 16 : 8;
  const double flops = 2.0 * lanes * kChains * double(kFmaIterations) * threads;
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    std::atomic<float> sink{0};
    std::vector<std::thread> pool;
    const auto t0 = Clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] { sink = sink + (avx512 ? fma_loop_avx512() : fma_loop_avx2()); });
    for (auto& th : pool) th.join();
    best = std::min(best, seconds_since(t0));
  }
  return flops / best / 1e9;
}

/// float32 FLOP per cycle per core of the FMA units, as each vendor documents them.
int documented_flops_per_cycle(const std::string& vendor, int family, const std::string& isa,
                               std::string& source) {
  if (isa == "none") {
    source = "no FMA instructions: not modelled";
    return 0;
  }
  if (vendor == "AuthenticAMD") {
    if (family >= 0x1a && isa == "avx512") {
      source = "AMD Zen 5: two 512-bit FMA pipes (2 x 16 lanes x 2)";
      return 64;
    }
    source = "AMD Zen 1-4: two 256-bit FMA pipes (2 x 8 lanes x 2; Zen 4 runs AVX-512 on them in two halves)";
    return 32;
  }
  if (isa == "avx512") {
    source = "Intel with AVX-512: two 512-bit FMA ports (2 x 16 lanes x 2; some parts have one)";
    return 64;
  }
  source = "x86 with AVX2: two 256-bit FMA units (2 x 8 lanes x 2)";
  return 32;
}

#endif

}  // namespace

CpuPeak measure_cpu_peak(int cores) {
  CpuPeak p;
  p.cores = cores;
#if defined(__x86_64__)
  p.vendor = cpu_vendor();
  p.family = cpu_family();
  p.isa = __builtin_cpu_supports("avx512f") ? "avx512" : __builtin_cpu_supports("fma") ? "avx2" : "none";
  p.clock_ghz = measure_clock_ghz();
  p.flops_per_cycle = documented_flops_per_cycle(p.vendor, p.family, p.isa, p.flops_per_cycle_source);
  p.nominal_gflops = p.clock_ghz * p.flops_per_cycle * cores;
  if (p.isa != "none") p.fma_loop_gflops = measure_fma_gflops(p.isa == "avx512", cores);
#endif
  return p;
}

}  // namespace contra
