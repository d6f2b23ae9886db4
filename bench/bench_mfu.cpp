// Model FLOPs utilisation of one SimCLR training step (ConvNet encoder): the convolution and
// linear FLOPs of a forward pass, x3 for forward + backward, for both views, plus the loss's
// similarity products; divided by the measured step time and compared with this machine's
// float32 matrix-product speed (contra::measure_matmul_gflops) in the same run.
//
//   bench_mfu [--config FILE] [--batch B] [--size S] [--threads T] [--steps N] [--set k=v ...]
//
// Random inputs (augmentation and data loading are excluded: model compute only). BN, ReLU and
// pooling FLOPs are not counted; the dense count is a convention (a library that uses fewer
// operations, e.g. Winograd convolutions, can show more than 100%).
// Prints one line: MFU model_gflop_per_step=... step_s=... achieved_gflops=...
//                  matmul_gflops=... mfu_percent=...
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
#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/methods/simclr.h"
#include "contra/models/convnet.h"
#include "contra/run/resolve.h"

namespace {

/// FLOPs (multiply and add counted separately) of the Conv2d and Linear layers of `seq` for one
/// sample; `x` ([1, ...]) is run through the layers and becomes the output.
double sequential_flops(torch::nn::Sequential& seq, torch::Tensor& x) {
  double flops = 0;
  for (auto& m : *seq) {
    auto y = m.forward(x);
    if (auto* conv = m.ptr()->as<torch::nn::Conv2dImpl>()) {
      const auto& o = conv->options;
      const double k = double(o.kernel_size()->at(0) * o.kernel_size()->at(1));
      flops += 2.0 * double(o.in_channels() / o.groups()) * k * double(y.numel());
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
  double per_sample = 0;
  {
    torch::NoGradGuard no_grad;
    model->eval();
    auto net = std::dynamic_pointer_cast<contra::models::ConvNetImpl>(model->encoder.module);
    TORCH_INTERNAL_ASSERT(net, "convnet encoder expected");
    auto x = torch::randn({1, channels, size, size});
    per_sample += sequential_flops(net->body, x);
    per_sample += sequential_flops(model->head->mlp, x);
    model->train();
  }
  const double dim = double(cfg.model.head_dim), views = 2.0 * double(batch);
  // Forward + backward = 3x forward; the loss's [2B, 2B] similarity product likewise.
  const double step_flops = 3.0 * (per_sample * views + 2.0 * views * views * dim);

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
  const double matmul = contra::measure_matmul_gflops();
  const double achieved = step_flops / best / 1e9;
  std::printf("MFU threads=%d batch=%lld size=%lld model_gflop_per_step=%.3f step_s=%.4f "
              "achieved_gflops=%.1f matmul_gflops=%.1f mfu_percent=%.1f\n",
              used_threads, (long long)batch, (long long)size, step_flops / 1e9, best, achieved,
              matmul, 100.0 * achieved / matmul);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 2;
}
