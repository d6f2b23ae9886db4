// Contrastive loss alone, forward + backward: the plain (materialised [N, N] matrix) losses
// against the tiled, linear-memory pass. One size and implementation per process, so that the
// peak resident memory (VmHWM) belongs to that run alone; bench/run_loss.sh loops over sizes.
//
//   bench_loss --impl plain|tiled [--objective nt_xent|info_nce|clip] [--pairs N] [--dim D]
//              [--threads T] [--device cpu|cuda] [--tile-size S] [--tile-threads within|across]
//              [--temperature t] [--warmup W] [--repeats R]
//
// Prints one line:
//   LOSS impl=... objective=... device=... pairs=... dim=... threads=... tile=... fwd_s=...
//        fwd_bwd_s=... cpu_s=... peak_rss_mb=... base_rss_mb=... emb_mb=... [cuda_peak_mb=...] loss=...
// fwd_s / fwd_bwd_s (wall) and cpu_s (process CPU time of forward + backward) are the best of
// the timed repeats. base_rss_mb is the resident memory once
// the embeddings exist and a 64-row warm-up pass has run; peak_rss_mb - base_rss_mb is what the loss itself needed (plus
// allocator slack). emb_mb is the embeddings and their gradients (4 N d values). On CUDA,
// cuda_peak_mb is the caching allocator's peak of allocated bytes, when the build has CUDA.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#if defined(CONTRA_WITH_CUDA_STATS)
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "bench_cli.h"
#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/losses/clip.h"
#include "contra/losses/info_nce.h"
#include "contra/losses/nt_xent.h"
#include "contra/losses/tiled.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace L = contra::losses;

/// A field of /proc/self/status in MiB (VmHWM: peak resident, VmRSS: current resident).
double status_mb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::atof(line.c_str() + key.size()) / 1024.0;
  return -1;
}

struct Args {
  std::string impl = "tiled", objective = "nt_xent", device = "cpu", tile_threads = "within";
  int64_t pairs = 2048, dim = 128, threads = 2, tile = 1024, warmup = 1, repeats = 1;
  double temperature = 0.1;
};

/// The command line; on bad input (or --help) prints the message and exits (2; --help: 0).
Args parse(int argc, char** argv) {
  Args a;
  CLI::App app{"Contrastive loss alone, forward + backward: plain against tiled"};
  app.add_option("--impl", a.impl, "implementation")
      ->capture_default_str()
      ->check(CLI::IsMember({"plain", "tiled"}));
  app.add_option("--objective", a.objective, "loss")
      ->capture_default_str()
      ->check(CLI::IsMember({"nt_xent", "info_nce", "clip"}));
  app.add_option("--pairs", a.pairs, "pairs N (rows of each embedding matrix)")
      ->capture_default_str()
      ->check(contra::bench::at_least(2));
  app.add_option("--dim", a.dim, "embedding dimension")->capture_default_str()->check(contra::bench::at_least(1));
  app.add_option("--threads", a.threads, "intra-op threads (0: all cores)")
      ->capture_default_str()
      ->check(contra::bench::at_least(0));
  app.add_option("--device", a.device, "device")->capture_default_str()->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--tile-size", a.tile, "rows per tile (tiled)")
      ->capture_default_str()
      ->check(contra::bench::at_least(1));
  app.add_option("--tile-threads", a.tile_threads, "threads within a tile or across tiles (tiled)")
      ->capture_default_str()
      ->check(CLI::IsMember({"within", "across"}));
  app.add_option("--temperature", a.temperature, "temperature")
      ->capture_default_str()
      ->check(contra::bench::positive_real());
  app.add_option("--warmup", a.warmup, "untimed passes first")
      ->capture_default_str()
      ->check(contra::bench::at_least(0));
  app.add_option("--repeats", a.repeats, "timed passes (the best is reported)")
      ->capture_default_str()
      ->check(contra::bench::at_least(1));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e) == 0 ? 0 : 2);
  }
  return a;
}

L::TiledObjective objective_of(const std::string& name) {
  if (name == "nt_xent") return L::TiledObjective::kNTXent;
  if (name == "info_nce") return L::TiledObjective::kInfoNCE;
  if (name == "clip") return L::TiledObjective::kClipSymmetric;
  throw contra::Error("unknown --objective '" + name + "'; valid: nt_xent, info_nce, clip");
}

L::ContrastiveOutput compute(const Args& a, const torch::Tensor& z1, const torch::Tensor& z2) {
  const auto obj = objective_of(a.objective);
  if (a.impl == "tiled")
    return L::functional::tiled_contrastive(
        z1, z2,
        L::TiledContrastiveOptions()
            .objective(obj)
            .temperature(a.temperature)
            .tile_size(a.tile)
            .threads(a.tile_threads == "across" ? L::TileThreads::kAcrossTiles
                                                : L::TileThreads::kWithinTile));
  switch (obj) {
    case L::TiledObjective::kNTXent:
      return L::functional::nt_xent(z1, z2, L::NTXentOptions().temperature(a.temperature));
    case L::TiledObjective::kInfoNCE:
      return L::functional::info_nce(z1, z2, L::InfoNCEOptions().temperature(a.temperature));
    case L::TiledObjective::kClipSymmetric:
      return L::functional::clip_loss(z1, z2, L::ClipOptions().temperature(a.temperature));
  }
  return {};
}

/// CPU time of the whole process (all threads), seconds: less disturbed than wall time by
/// other processes on the machine (but it counts OpenMP threads spinning while they wait).
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  const int threads = contra::set_threads(int(a.threads));
  CONTRA_CHECK(a.device == "cpu" || torch::cuda::is_available(),
               "--device cuda but no CUDA device is available to this LibTorch build");
  const torch::Device device(a.device == "cuda" ? torch::kCUDA : torch::kCPU);
  torch::manual_seed(0);
  auto z1 = torch::randn({a.pairs, a.dim}, torch::TensorOptions().device(device)).requires_grad_();
  auto z2 = (z1.detach() + 0.5 * torch::randn_like(z1)).requires_grad_();
  z1.mutable_grad() = torch::zeros_like(z1);  // gradients exist before the baseline is read
  z2.mutable_grad() = torch::zeros_like(z2);
  {
    // Warm-up on a few rows: BLAS buffers, autograd and worker threads exist before the
    // baseline, so peak - base is the loss's own memory.
    auto w1 = z1.detach().narrow(0, 0, std::min<int64_t>(a.pairs, 64)).clone().requires_grad_();
    auto w2 = z2.detach().narrow(0, 0, w1.size(0)).clone().requires_grad_();
    compute(a, w1, w2).loss.backward();
  }
  sync(device);
  const double base_rss = status_mb("VmRSS");
#if defined(CONTRA_WITH_CUDA_STATS)
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(0);
#endif

  double best_fwd = 1e300, best_total = 1e300, best_cpu = 1e300, loss = 0;
  for (int64_t r = 0; r < a.warmup + a.repeats; ++r) {
    z1.mutable_grad().zero_();
    z2.mutable_grad().zero_();
    sync(device);
    const double c0 = cpu_seconds();
    const auto t0 = Clock::now();
    auto out = compute(a, z1, z2);
    sync(device);
    const auto t1 = Clock::now();
    out.loss.backward();
    sync(device);
    const auto t2 = Clock::now();
    const double c2 = cpu_seconds();
    loss = out.loss.item<double>();
    if (r >= a.warmup) {
      best_fwd = std::min(best_fwd, std::chrono::duration<double>(t1 - t0).count());
      best_total = std::min(best_total, std::chrono::duration<double>(t2 - t0).count());
      best_cpu = std::min(best_cpu, c2 - c0);
    }
  }
  const double emb_mb = 4.0 * double(a.pairs) * double(a.dim) * 4.0 / (1024.0 * 1024.0);
  std::printf("LOSS impl=%s objective=%s device=%s pairs=%lld dim=%lld threads=%d tile=%lld "
              "tile_threads=%s fwd_s=%.4f fwd_bwd_s=%.4f cpu_s=%.4f peak_rss_mb=%.0f base_rss_mb=%.0f "
              "emb_mb=%.1f",
              a.impl.c_str(), a.objective.c_str(), a.device.c_str(), (long long)a.pairs,
              (long long)a.dim, threads, (long long)a.tile, a.tile_threads.c_str(), best_fwd,
              best_total, best_cpu, status_mb("VmHWM"), base_rss, emb_mb);
#if defined(CONTRA_WITH_CUDA_STATS)
  if (device.is_cuda()) {
    // Index 0 of the stat arrays is the aggregate over pool kinds (StatType::AGGREGATE).
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(0);
    std::printf(" cuda_peak_mb=%.0f", double(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0));
  }
#endif
  std::printf(" loss=%.6f\n", loss);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 2;
}
