#include "contra/train/trainer.h"

#include <chrono>
#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::train {

TrainSummary fit(torch::nn::Module& model, const StepSource& source, Optimizer& optimizer,
                 const TrainerOptions& options, const TrainerHooks& hooks) {
  TORCH_INTERNAL_ASSERT(!hooks.loss && !hooks.loss_and_backward,
                        "fit(StepSource) computes the loss in the source; loss hooks must be unset");
  const int64_t total = options.schedule().total_steps();
  const int64_t per_epoch = std::max<int64_t>(1, source.batches_per_epoch);
  auto waited = [&] { return source.wait_seconds ? source.wait_seconds() : 0.0; };
  Progress progress(options.quiet() ? nullptr : stdout, options.log_every(), options.interactive());
  model.train();
  TrainSummary summary;
  const auto start = std::chrono::steady_clock::now();
  const double wait_at_start = waited();
  int64_t pairs = 0;
  TORCH_CHECK(options.start_step() >= 0 && options.start_step() <= total,
              "start_step ", options.start_step(), " outside [0, ", total, "]");
  int64_t last_checkpoint = options.start_step();  // 0: none yet
  auto checkpoint = [&](int64_t done, int64_t epoch) {
    if (!hooks.on_checkpoint) return;
    hooks.on_checkpoint(done, epoch);
    last_checkpoint = done;
  };
  int64_t step = options.start_step();
  for (; step < total; ++step) {
    const double lr = lr_at(options.schedule(), step);
    optimizer.set_lr(lr);
    optimizer.zero_grad();
    StepOutput s = source.next();
    const double loss = s.output.loss.item<double>();
    CONTRA_CHECK(std::isfinite(loss), "training diverged: loss is ", loss, " at step ", step + 1,
                 " (lr ", lr, "); lower optim.lr or raise loss.temperature; ",
                 last_checkpoint > 0 ? "the last checkpoint is from step " + std::to_string(last_checkpoint)
                                     : std::string("no checkpoint was written yet"));
    if (!source.backward_done) s.output.loss.backward();
    if (hooks.after_backward) hooks.after_backward();
    optimizer.step();
    if (hooks.after_step) hooks.after_step(step + 1, s.output);
    pairs += s.pairs * options.world_size();
    summary.final_loss = loss;

    const int64_t done = step + 1;
    const bool last = done == total;
    if (done % options.log_every() == 0 || last || options.interactive()) {
      double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      StepRecord rec;
      rec.stats.step = done;
      rec.stats.total = total;
      rec.stats.epoch = double(done) / double(per_epoch);
      rec.stats.loss = loss;
      rec.stats.lr = lr;
      rec.stats.elapsed_s = elapsed;
      rec.stats.pairs_per_s = pairs / elapsed;
      rec.stats.data_wait = (waited() - wait_at_start) / elapsed;
      rec.diagnostics = s.output;
      progress.update(rec.stats);
      if ((done % options.log_every() == 0 || last) && hooks.on_log) hooks.on_log(rec);
    }
    const bool asked = options.stop() && options.stop()->load();
    const bool stopping = hooks.agree_stop ? hooks.agree_stop(asked) : asked;
    if (last || stopping ||
        (options.checkpoint_every() > 0 && done % options.checkpoint_every() == 0))
      checkpoint(done, s.epoch);
    if (stopping && !last) {
      summary.interrupted = true;
      ++step;
      break;
    }
  }
  progress.finish();
  summary.steps = step;
  summary.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.pairs_per_s = summary.wall_s > 0 ? pairs / summary.wall_s : 0;
  summary.data_wait_fraction = summary.wall_s > 0 ? (waited() - wait_at_start) / summary.wall_s : 0;
  return summary;
}

TrainSummary fit(torch::nn::Module& model, data::TwoViewLoader& loader, Optimizer& optimizer,
                 const TrainerOptions& options, const TrainerHooks& hooks) {
  TORCH_INTERNAL_ASSERT(bool(hooks.loss) != bool(hooks.loss_and_backward),
                        "fit() needs exactly one of the loss and loss_and_backward hooks");
  StepSource source;
  source.backward_done = bool(hooks.loss_and_backward);
  source.batches_per_epoch = loader.batches_per_epoch();
  source.wait_seconds = [&loader] { return loader.wait_seconds(); };
  source.next = [&] {
    data::TwoViewBatch batch = loader.next();
    StepOutput s;
    s.output = hooks.loss ? hooks.loss(batch) : hooks.loss_and_backward(batch);
    s.pairs = batch.view1.size(0);
    s.epoch = batch.epoch;
    return s;
  };
  TrainerHooks rest = hooks;
  rest.loss = nullptr;
  rest.loss_and_backward = nullptr;
  return fit(model, source, optimizer, options, rest);
}

}  // namespace contra::train
