// One SimCLR training step, the two views one after the other (every intra-op thread on each small
// convolution: contra's default) against the two views at once, each on its own worker thread of
// one intra-op thread that also back-propagates it (model.parallel_views, methods/parallel_views.h),
// on the run's model (default: the demo's, configs/fashion_mnist.yaml), random inputs, no data
// loading:
//   sequential  model->forward(v1, v2).loss.backward(), SGD step, --threads threads;
//   split       the parallel step's code on the calling thread, views one after the other
//               (the split's own cost: loss on detached embeddings, held-back statistics replayed);
//   parallel    the parallel step on 2 workers (1 intra-op thread each).
// The modes take turns step by step (a machine whose load drifts slows all three alike); the
// first two rounds are warm-up. Prints key=value lines: per mode the best and median step time
// and pairs/s at the median, then parallel's speed over sequential's.
//
//   bench_parallel_views [--config FILE] [--batch 256] [--threads 2] [--steps 20] [--set k=v ...]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "bench_cli.h"
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/core/one_thread_workers.h"
#include "contra/core/runtime.h"
#include "contra/methods/parallel_views.h"
#include "contra/methods/simclr.h"
#include "contra/run/resolve.h"

namespace {

struct ViewsMode {
  std::string name;
  contra::methods::SimCLR model{nullptr};
  std::unique_ptr<torch::optim::SGD> optimizer;
  std::vector<double> seconds;
};

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) try {
  std::string config = std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml";
  int64_t batch = 256, threads = 2, steps = 20;
  std::vector<std::string> sets;
  CLI::App app{"SimCLR step: the two views one after the other vs at once on two threads"};
  app.add_option("--config", config, "config file (its model and encode_chunk)")->capture_default_str();
  app.add_option("--batch", batch, "pairs per step")->capture_default_str()->check(contra::bench::at_least(1));
  app.add_option("--threads", threads, "intra-op threads of the sequential step and of the loss (0: all cores)")
      ->capture_default_str()
      ->check(contra::bench::at_least(0));
  app.add_option("--steps", steps, "timed steps per mode (after two warm-up rounds)")
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
  CONTRA_CHECK(cfg.method == "simclr", "bench_parallel_views times simclr, got method ", cfg.method);
  const int64_t channels = 1, size = 28;
  contra::OneThreadWorkers workers(2);  // made before the models: their setup is not timed

  std::vector<ViewsMode> modes(3);
  const char* names[] = {"sequential", "split", "parallel"};
  for (size_t m = 0; m < modes.size(); ++m) {
    torch::manual_seed(0);  // the same initial model for every mode
    modes[m].name = names[m];
    modes[m].model = contra::methods::SimCLR(contra::run::simclr_options(cfg, channels));
    modes[m].optimizer = std::make_unique<torch::optim::SGD>(modes[m].model->parameters(),
                                                             torch::optim::SGDOptions(0.01).momentum(0.9));
  }
  torch::manual_seed(1);
  contra::data::Batch inputs;
  inputs.view1 = torch::randn({batch, channels, size, size});
  inputs.view2 = torch::randn_like(inputs.view1);

  for (int64_t round = 0; round < steps + 2; ++round) {
    for (size_t m = 0; m < modes.size(); ++m) {
      auto& mode = modes[m];
      const auto t0 = std::chrono::steady_clock::now();
      mode.optimizer->zero_grad();
      if (m == 0) {
        mode.model->forward(inputs.view1, inputs.view2).loss.backward();
      } else {
        contra::methods::parallel_views_step(*mode.model->split_step(inputs), m == 2 ? &workers : nullptr);
      }
      mode.optimizer->step();
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (round >= 2) mode.seconds.push_back(dt);
    }
  }
  std::printf("threads=%d batch=%lld encode_chunk=%lld channels_last=%d widths=%zu pool_grid=%lld steps=%lld\n",
              used_threads, (long long)batch, (long long)cfg.model.encode_chunk_or_default(), int(cfg.model.channels_last_or_default()),
              cfg.model.widths.size(), (long long)cfg.model.pool_grid, (long long)steps);
  for (const auto& mode : modes) {
    const double best = *std::min_element(mode.seconds.begin(), mode.seconds.end());
    const double median = median_of(mode.seconds);
    std::printf("%s_best_s=%.4f %s_median_s=%.4f %s_pairs_per_s=%.1f\n", mode.name.c_str(), best,
                mode.name.c_str(), median, mode.name.c_str(), double(batch) / median);
  }
  std::printf("parallel_over_sequential=%.3f (median step times)\n",
              median_of(modes[0].seconds) / median_of(modes[2].seconds));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 2;
}
