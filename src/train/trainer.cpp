#include "contra/train/trainer.h"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"

namespace contra::train {

namespace {
const NameTable<NonFinitePolicy, 2> kNonfinitePolicyNames = {{"stop", NonFinitePolicy::kStop},
                                                       {"skip", NonFinitePolicy::kSkip}};
}  // namespace

NonFinitePolicy nonfinite_policy_from_string(const std::string& name) {
  return from_name(kNonfinitePolicyNames, name, "train.nonfinite policy");
}

std::vector<std::string> nonfinite_policy_names() { return names_of(kNonfinitePolicyNames); }

namespace {

/// True when every defined tensor is free of NaN and infinity: a reduction per tensor on the
/// device, stacked, and a single sync (not one .item() per parameter).
bool all_finite(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> ok;
  for (const auto& t : tensors)
    if (t.defined()) ok.push_back(t.isfinite().all());
  return ok.empty() || torch::stack(ok).all().item<bool>();
}

std::vector<at::Tensor> gradients(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> out;
  for (const auto& p : params) out.push_back(p.grad());
  return out;
}

/// The name of the first floating-point buffer (batch-norm statistics, queues) holding a NaN or
/// an infinity; empty when none. Only called after a skipped step.
std::string nonfinite_buffer(const torch::nn::Module& model) {
  for (const auto& b : model.named_buffers())
    if (b.value().is_floating_point() && !all_finite({b.value()})) return b.key();
  return "";
}

}  // namespace

TrainSummary fit(torch::nn::Module& model, const StepSource& source, Optimizer& optimizer,
                 const TrainerOptions& options, const TrainerHooks& hooks) {
  TORCH_INTERNAL_ASSERT(!hooks.loss && !hooks.loss_and_backward,
                        "fit(StepSource) computes the loss in the source; loss hooks must be unset");
  ScheduleOptions schedule = options.schedule();
  int64_t total = schedule.total_steps();
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
  int64_t skipped = options.start_skipped_steps();
  auto checkpoint = [&](int64_t done, int64_t epoch) {
    if (!hooks.on_checkpoint) return;
    hooks.on_checkpoint(done, epoch, skipped);
    last_checkpoint = done;
  };
  TORCH_CHECK(options.max_skipped_steps() >= 0, "max_skipped_steps must be >= 0");
  const std::vector<at::Tensor> params = optimizer.parameters();
  auto diverged = [&](int64_t at_step, double lr, const std::string& what,
                      const std::string& detail) {
    return Error(c10::str("training diverged: ", what, " at step ", at_step, " (lr ", lr, ")",
                          detail, "; lower optim.lr or raise loss.temperature; ",
                          last_checkpoint > 0 ? "the last checkpoint is from step " +
                                                    std::to_string(last_checkpoint)
                                              : std::string("no checkpoint was written yet")));
  };
  int64_t step = options.start_step();
  for (; step < total; ++step) {
    const double lr = lr_at(schedule, step);
    optimizer.set_lr(lr);
    optimizer.zero_grad();
    StepOutput s = source.next();
    const double loss = s.output.loss.item<double>();
    const bool loss_finite = std::isfinite(loss);
    if (!source.backward_done) s.output.loss.backward();
    if (!loss_finite) {  // the gradient average (after_backward) carries the news to every process
      torch::NoGradGuard no_grad;
      for (const auto& g : gradients(params))
        if (g.defined()) g.fill_(std::numeric_limits<double>::quiet_NaN());
    }
    if (hooks.after_backward) hooks.after_backward();
    const bool finite = loss_finite && all_finite(gradients(params));
    if (!finite) {
      std::string what = loss_finite ? c10::str("a gradient is not finite (loss ", loss, ")")
                                     : c10::str("loss is ", loss);
      if (loss_finite && options.world_size() > 1)
        what += " after averaging over the processes (a process whose loss is not finite makes it so)";
      if (options.nonfinite() == NonFinitePolicy::kStop) throw diverged(step + 1, lr, what, "");
      if (skipped >= options.max_skipped_steps())
        throw diverged(step + 1, lr, what, c10::str(", after train.max_skipped_steps (",
                                                    options.max_skipped_steps(), ") skipped steps"));
      ++skipped;
      optimizer.zero_grad();  // drop the step's gradients: no update
      const std::string buffer = nonfinite_buffer(model);
      if (!buffer.empty())
        throw diverged(step + 1, lr, what, "; the step was skipped, but its forward pass left a "
                                           "non-finite value in buffer '" + buffer + "'");
      if (!options.quiet())
        std::fprintf(stderr, "contra: step %lld skipped: %s (%lld of at most %lld)\n",
                     (long long)(step + 1), what.c_str(), (long long)skipped,
                     (long long)options.max_skipped_steps());
    } else {
      optimizer.step();
      if (hooks.after_step) hooks.after_step(step + 1, s.output);
      summary.final_loss = loss;
    }
    pairs += s.pairs * options.world_size();

    const int64_t done = step + 1;
    if (hooks.plan_total)
      if (const auto planned_total = hooks.plan_total(done)) {
        total = std::max(*planned_total, done);
        schedule.total_steps(total);
      }
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
      rec.skipped_steps = skipped;
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
  summary.skipped_steps = skipped;
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
