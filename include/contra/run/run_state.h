#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <optional>

#include "contra/methods/method.h"
#include "contra/run/autotune.h"
#include "contra/run/time_budget.h"
#include "contra/train/checkpoint.h"

namespace contra::run {

/// Everything a run needs, besides the model's parameters and buffers and the optimizer's
/// state, to continue exactly where it stopped. Saved in every checkpoint.
struct RunState {
  int64_t step = 0;           ///< optimizer steps done
  int64_t epoch = 0;          ///< the epoch of the last batch
  int64_t skipped_steps = 0;  ///< steps skipped for a non-finite value (train.nonfinite=skip)
  at::Tensor rng_cpu;         ///< the default CPU generator (dropout, MoCo's shuffle)
  at::Tensor rng_cuda;        ///< the default CUDA generator (CUDA runs; undefined otherwise)
  methods::MethodState method;  ///< the method's controllers
  /// train.time_budget: the length planned from the measured speed (a resumed run keeps it).
  std::optional<TimeBudgetPlan> time_budget;
  /// The auto-tuner's record of the first start (a resumed run reports it, never re-tunes).
  std::optional<TuneResult> autotune;
};

/// The state of this process after `step` (generators read now).
RunState capture_run_state(int64_t step, int64_t epoch, int64_t skipped_steps,
                           const methods::Method& method, const c10::Device& device);
/// Sets the generators and the method's state back. A CUDA generator is restored only on a
/// CUDA run that saved one (a CPU run's checkpoint leaves the seeded generator as it is).
void restore_run_state(const RunState& state, methods::Method& method, const c10::Device& device);

/// The checkpoint file's form of a RunState (named tensors: rng_cpu, rng_cuda, skipped_steps,
/// adaptive, time_budget, autotune: its JSON text as bytes), and back; a field a checkpoint lacks keeps its default.
train::CheckpointState to_checkpoint_state(const RunState& state);
RunState from_checkpoint_state(const train::CheckpointState& state);

}  // namespace contra::run
