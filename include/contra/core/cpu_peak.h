#pragma once
#include <string>

namespace contra {

/// The float32 peak of this machine's cores, as far as it can be known from inside a VM (which
/// often reports no clock): the clock measured, the FLOP per cycle of the vector units
/// documented by the CPU's vendor, and an FMA loop measured as a check.
struct CpuPeak {
  std::string vendor;           ///< "AuthenticAMD", "GenuineIntel", ... ("" off x86)
  int family = 0;               ///< CPUID family (AMD 0x19: Zen 3/4, 0x1A: Zen 5)
  std::string isa;              ///< widest float32 FMA instructions: avx512, avx2, none
  double clock_ghz = 0;         ///< measured: one core running a chain of dependent integer adds
  int flops_per_cycle = 0;      ///< float32, one core, from the vendor's documented FMA units
  int cores = 0;                ///< cores counted in the peak
  double nominal_gflops = 0;    ///< clock_ghz x flops_per_cycle x cores
  double fma_loop_gflops = 0;   ///< measured: independent FMA chains on `cores` threads at once
  std::string flops_per_cycle_source;  ///< why flops_per_cycle has its value
};

/// Measures the peak for `cores` cores (about half a second). Off x86-64, only `cores` is set.
CpuPeak measure_cpu_peak(int cores);

}  // namespace contra
