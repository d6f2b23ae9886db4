#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "contra/data/loader.h"
#include "contra/losses/nt_xent.h"
#include "contra/train/optimizer.h"
#include "contra/train/progress.h"
#include "contra/train/schedule.h"

namespace contra::train {

/// A flag the loop polls after each step (not owned).
using StopFlag = const std::atomic<bool>*;

/// What a step whose loss or gradient is NaN or infinite does.
enum class NonFinitePolicy {
  kStop,  ///< stop the run with a message naming the step and the last checkpoint
  kSkip,  ///< drop the step's gradients (no update) and go on, up to a limit
};
NonFinitePolicy nonfinite_policy_from_string(const std::string& name);  ///< stop | skip
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> nonfinite_policy_names();

struct TrainerOptions {
  explicit TrainerOptions(ScheduleOptions schedule) : schedule_(schedule) {}
  /// Learning-rate schedule; its total_steps is the run's length (required).
  TORCH_ARG(ScheduleOptions, schedule);
  /// Steps between metrics records and log lines (default 20).
  TORCH_ARG(int64_t, log_every) = 20;
  /// Steps between checkpoints; 0 = only at the end (default 0).
  TORCH_ARG(int64_t, checkpoint_every) = 0;
  /// Draw a progress bar (default: when stdout is a terminal).
  TORCH_ARG(bool, interactive) = false;
  /// Steps already done (a resumed run continues from here; the loader must start here too).
  TORCH_ARG(int64_t, start_step) = 0;
  /// When set (e.g. by SIGINT/SIGTERM), the loop finishes its step, checkpoints and returns.
  TORCH_ARG(StopFlag, stop) = nullptr;
  /// Processes training together; each step's pairs count this many times (pairs/s of the job).
  TORCH_ARG(int64_t, world_size) = 1;
  /// Print no progress (the other processes of a multi-process job).
  TORCH_ARG(bool, quiet) = false;
  /// A non-finite loss or gradient stops the run or skips the step (default kStop).
  TORCH_ARG(NonFinitePolicy, nonfinite) = NonFinitePolicy::kStop;
  /// kSkip: skipped steps allowed over the whole run, resumed parts included; the next one
  /// stops it (default 10).
  TORCH_ARG(int64_t, max_skipped_steps) = 10;
  /// Steps skipped before start_step (a resumed run's count, from its checkpoint).
  TORCH_ARG(int64_t, start_skipped_steps) = 0;
};

/// What a logged step contributes to metrics.jsonl.
struct StepRecord {
  StepStats stats;
  losses::ContrastiveOutput diagnostics;
  int64_t skipped_steps = 0;  ///< steps skipped so far (NonFinitePolicy::kSkip), this one included
};

struct TrainSummary {
  int64_t steps = 0;
  double wall_s = 0;       ///< training loop time
  double pairs_per_s = 0;  ///< over the whole loop
  /// Loss of the last step that updated the model; NaN (null in summary.json) when none did.
  double final_loss = std::numeric_limits<double>::quiet_NaN();
  double data_wait_fraction = 0;  ///< share of the loop spent waiting for augmented batches
  bool interrupted = false;       ///< stopped early by options.stop (after a checkpoint)
  int64_t skipped_steps = 0;      ///< steps skipped for a non-finite value, resumed parts included
};

struct TrainerHooks {
  /// Computes the loss of one batch (forward only; the trainer does backward and the step).
  /// Exactly one of loss and loss_and_backward is set.
  std::function<losses::ContrastiveOutput(const data::TwoViewBatch&)> loss;
  /// Computes the loss of one batch and accumulates its gradients itself (for methods that
  /// back-propagate in pieces, such as a gradient cache); returns the loss detached. The trainer
  /// zeroes the gradients before and steps the optimizer after.
  std::function<losses::ContrastiveOutput(const data::TwoViewBatch&)> loss_and_backward;
  /// Called after the backward pass, before the optimizer step (gradient all-reduce).
  std::function<void()> after_backward;
  /// Turns this process's wish to stop into the job's decision (several processes must stop at
  /// the same step); default: the local flag.
  std::function<bool(bool)> agree_stop;
  /// Called after each optimizer step with the steps done and that step's output (momentum
  /// encoders, queues, adaptive samplers); not after a skipped step.
  std::function<void(int64_t step, const losses::ContrastiveOutput&)> after_step;
  /// Called after each step; a value is the run's length from then on (at least the steps done;
  /// the schedule's cosine stretches or shrinks to it), nullopt leaves it as it is. A time
  /// budget decides the length this way once it has measured the speed, and may shorten it later.
  std::function<std::optional<int64_t>(int64_t step)> plan_total;
  /// Called every log_every steps and at the end.
  std::function<void(const StepRecord&)> on_log;
  /// Called every checkpoint_every steps and at the end, with steps done, the epoch and the
  /// steps skipped so far (a resumed run passes them back as start_skipped_steps).
  std::function<void(int64_t step, int64_t epoch, int64_t skipped_steps)> on_checkpoint;
};

/// One step's batch as the loop sees it, whatever the data (images, text).
struct StepOutput {
  losses::ContrastiveOutput output;
  int64_t pairs = 0;  ///< samples in the batch (for pairs/s)
  int64_t epoch = 0;  ///< the batch's epoch
};

/// A source of training steps: draws the next batch and computes its loss.
struct StepSource {
  /// Draws a batch and computes its loss (forward only, unless backward_done).
  std::function<StepOutput()> next;
  /// next() has already accumulated the gradients (the loop only steps the optimizer).
  bool backward_done = false;
  int64_t batches_per_epoch = 1;
  /// Seconds spent waiting for data so far (for the data-wait share).
  std::function<double()> wait_seconds;
};

/// The training loop for any data: steps from `source`, backward, optimizer step, schedule,
/// progress, metrics and checkpoints. Uses hooks.after_backward, after_step, on_log and
/// on_checkpoint; the source computes the loss, so hooks.loss and hooks.loss_and_backward must be
/// unset.
///
/// Non-finite values: after the backward pass and hooks.after_backward (which, across processes,
/// averages the gradients, so every process decides alike) the loop checks the loss and the
/// optimizer's gradients. A process whose loss is not finite fills its gradients with NaN before
/// after_backward, so that the average tells the others. With kStop the run stops with a
/// contra::Error naming the step, what was not finite and the last checkpoint. With kSkip the
/// step makes no update: no optimizer step and no after_step hook, but it counts as done (the
/// schedule and the data move on, it is logged, with skipped_steps). The step's forward pass may
/// still have changed buffers (batch-norm running statistics); if one became non-finite, the run
/// stops, as it does when more than max_skipped_steps steps have been skipped.
TrainSummary fit(torch::nn::Module& model, const StepSource& source, Optimizer& optimizer,
                 const TrainerOptions& options, const TrainerHooks& hooks);

/// The loop over a two-view image loader: hooks.loss (or loss_and_backward) computes each batch's
/// loss; otherwise as the StepSource overload.
TrainSummary fit(torch::nn::Module& model, data::TwoViewLoader& loader, Optimizer& optimizer,
                 const TrainerOptions& options, const TrainerHooks& hooks);

}  // namespace contra::train
