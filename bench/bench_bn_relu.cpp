// Batch norm + ReLU in training, forward and backward, on the demo ConvNet's activation shapes
// (one encode chunk of images, channels-last: the layout the fused layer takes): contra's fused layer (models/batch_norm_relu.h) against
// LibTorch's torch::batch_norm then ReLU, taking turns rep by rep (the first 3 are warm-up).
// Prints per shape the median microseconds of each and fused's speed over LibTorch's.
//
//   bench_bn_relu [--chunk 64] [--threads 2] [--reps 30]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "bench_cli.h"
#include "contra/core/runtime.h"
#include "contra/models/batch_norm_relu.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fused batch norm + ReLU against LibTorch's, forward and backward"};
  int64_t chunk = 64, threads = 2, reps = 30;
  app.add_option("--chunk", chunk, "images per pass (default 64)")->check(contra::bench::at_least(1));
  app.add_option("--threads", threads, "intra-op threads (default 2)")->check(contra::bench::at_least(1));
  app.add_option("--reps", reps, "timed repetitions (default 30)")->check(contra::bench::at_least(1));
  CLI11_PARSE(app, argc, argv);
  contra::keep_freed_memory();
  at::set_num_threads(int(threads));
  const std::vector<std::vector<int64_t>> shapes = {
      {chunk, 32, 28, 28}, {chunk, 64, 28, 28}, {chunk, 128, 14, 14}, {chunk, 256, 7, 7}};
  double fused_total = 0, torch_total = 0;
  for (bool channels_last : {true})
    for (const auto& shape : shapes) {
      const int64_t c = shape[1];
      auto x = torch::randn(shape);
      if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
      const auto dy = torch::randn_like(x);
      auto w = torch::ones({c}).requires_grad_(), b = torch::zeros({c}).requires_grad_();
      auto rm = torch::zeros({c}), rv = torch::ones({c});
      std::vector<double> fused, plain;
      for (int64_t r = 0; r < reps + 3; ++r) {
        auto xf = x.detach().requires_grad_();
        const double f = seconds_of([&] {
          contra::models::batch_norm_relu_train(xf, w, b, rm, rv, 0.1, 1e-5).backward(dy);
        });
        auto xp = x.detach().requires_grad_();
        const double p = seconds_of([&] {
          auto y = torch::batch_norm(xp, w, b, rm, rv, true, 0.1, 1e-5, false);
          torch::relu_(y).backward(dy);
        });
        if (r >= 3) fused.push_back(f), plain.push_back(p);
      }
      const double mf = median(fused) * 1e6, mp = median(plain) * 1e6;
      if (channels_last) fused_total += mf, torch_total += mp;
      std::printf("%s [%lld,%lld,%lld,%lld] fused_us=%.0f libtorch_us=%.0f speedup=%.2f\n",
                  channels_last ? "channels_last" : "nchw", (long long)shape[0], (long long)shape[1],
                  (long long)shape[2], (long long)shape[3], mf, mp, mp / mf);
    }
  std::printf("channels_last_total fused_us=%.0f libtorch_us=%.0f speedup=%.2f\n", fused_total, torch_total,
              torch_total / fused_total);
  return 0;
}
