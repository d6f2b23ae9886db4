// Model FLOPs utilisation of one SimCLR training step (ConvNet encoder), against this machine's
// nominal float32 peak, all measured in one run:
//   - counted FLOPs: the convolution and linear layers of a forward pass (multiply and add
//     counted separately), backward = 2x forward except the first convolution (its input needs
//     no gradient: 1x), for both views, plus the loss's similarity products;
//   - achieved GFLOP/s: counted FLOPs / the best measured step time (random inputs; augmentation
//     and data loading excluded);
//   - nominal peak: the clock (measured with a chain of dependent adds; VMs often report none)
//     x the float32 FLOP per cycle of the vendor's documented FMA units x the cores used
//     (contra::measure_cpu_peak), with an FMA loop measured on the same cores as a check;
//   - the float32 2048x2048 matrix product (contra::measure_matmul_gflops) as a practical ceiling.
//
//   bench_mfu [--config FILE] [--batch B] [--size S] [--threads T] [--steps N] [--set k=v ...]
//
// BN, ReLU and pooling FLOPs are not counted. The dense count is a convention: a library that
// uses fewer operations (Winograd or FFT convolutions) can show achieved GFLOP/s above the peak.
// Prints the figures as key=value lines.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "bench_cli.h"
#include "contra/config/load.h"
#include "contra/core/cpu_peak.h"
#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/methods/simclr.h"
#include "contra/models/convnet.h"
#include "contra/run/resolve.h"

namespace {

/// FLOPs (multiply and add counted separately) of the Conv2d and Linear layers of `seq` for one
/// sample; `x` ([1, ...]) is run through the layers and becomes the output. `first_conv`, when
/// not null and still 0, receives the first convolution's FLOPs.
double sequential_flops(torch::nn::Sequential& seq, torch::Tensor& x, double* first_conv = nullptr) {
  double flops = 0;
  for (auto& m : *seq) {
    auto y = m.forward(x);
    if (auto* conv = m.ptr()->as<torch::nn::Conv2dImpl>()) {
      const auto& o = conv->options;
      const double k = double(o.kernel_size()->at(0) * o.kernel_size()->at(1));
      const double f = 2.0 * double(o.in_channels() / o.groups()) * k * double(y.numel());
      if (first_conv && *first_conv == 0) *first_conv = f;
      flops += f;
    } else if (auto* lin = m.ptr()->as<torch::nn::LinearImpl>()) {
      flops += 2.0 * double(lin->options.in_features()) * double(lin->options.out_features());
    }
    x = y;
  }
  return flops;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string config = std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml";
  int64_t batch = 256, size = 28, threads = 2, steps = 10;
  std::vector<std::string> sets;
  CLI::App app{"Model FLOPs utilisation of one SimCLR training step (ConvNet encoder)"};
  app.add_option("--config", config, "config file")->capture_default_str();
  app.add_option("--batch", batch, "pairs per step")->capture_default_str()->check(contra::bench::at_least(1));
  app.add_option("--size", size, "image side in pixels")->capture_default_str()->check(contra::bench::at_least(1));
  app.add_option("--threads", threads, "intra-op threads (0: all cores)")
      ->capture_default_str()
      ->check(contra::bench::at_least(0));
  app.add_option("--steps", steps, "timed steps (after two warm-up steps)")
      ->capture_default_str()
      ->check(contra::bench::at_least(1));
  app.add_option("--set", sets, "config override key=value (repeatable)")->allow_extra_args(false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help: 0; bad input: the message, then 2
  }
  const int used_threads = contra::set_threads(int(threads));
  auto cfg = contra::config::load(config, sets);
  CONTRA_CHECK(cfg.model.encoder == "convnet", "bench_mfu counts FLOPs of the convnet encoder only, got ",
               cfg.model.encoder);
  const int64_t channels = 1;
  torch::manual_seed(0);
  contra::methods::SimCLR model(contra::run::simclr_options(cfg, channels));

  // Forward FLOPs per sample, layer by layer.
  double per_sample = 0, first_conv = 0;
  {
    torch::NoGradGuard no_grad;
    model->eval();
    auto net = std::dynamic_pointer_cast<contra::models::ConvNetImpl>(model->encoder.module);
    TORCH_INTERNAL_ASSERT(net, "convnet encoder expected");
    auto x = torch::randn({1, channels, size, size});
    per_sample += sequential_flops(net->body, x, &first_conv);
    per_sample += sequential_flops(model->head->mlp, x);
    model->train();
  }
  const double dim = double(cfg.model.head_dim), views = 2.0 * double(batch);
  // Forward + backward = 3x forward, but the first convolution computes no input gradient (2x);
  // the loss's [2B, 2B] similarity product: forward and two backward products.
  const double step_flops = (3.0 * per_sample - first_conv) * views + 3.0 * 2.0 * views * views * dim;

  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  auto v1 = torch::randn({batch, channels, size, size}), v2 = torch::randn_like(v1);
  double best = 1e300;
  for (int64_t s = 0; s < steps + 2; ++s) {  // two warm-up steps
    const auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    model->forward(v1, v2).loss.backward();
    opt.step();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= 2) best = std::min(best, dt);
  }
  const double matmul = contra::measure_matmul_gflops(2048, 3);
  const auto peak = contra::measure_cpu_peak(used_threads);
  const double achieved = step_flops / best / 1e9;
  std::printf("threads=%d batch=%lld size=%lld cpu=%s family=0x%x isa=%s\n", used_threads,
              (long long)batch, (long long)size, peak.vendor.c_str(), peak.family, peak.isa.c_str());
  std::printf("model_gflop_per_step=%.3f step_s=%.4f pairs_per_s=%.1f achieved_gflops=%.1f\n",
              step_flops / 1e9, best, double(batch) / best, achieved);
  std::printf("clock_ghz=%.3f flops_per_cycle=%d (%s) nominal_peak_gflops=%.1f\n", peak.clock_ghz,
              peak.flops_per_cycle, peak.flops_per_cycle_source.c_str(), peak.nominal_gflops);
  std::printf("fma_loop_gflops=%.1f matmul_2048_gflops=%.1f\n", peak.fma_loop_gflops, matmul);
  if (peak.nominal_gflops > 0)
    std::printf("mfu_percent=%.1f (of the nominal peak)  of_matmul_percent=%.1f\n",
                100.0 * achieved / peak.nominal_gflops, 100.0 * achieved / matmul);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 2;
}
