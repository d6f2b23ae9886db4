#pragma once
#include <cstdint>

#include <torch/arg.h>

namespace contra::train {

struct ScheduleOptions {
  ScheduleOptions(double peak_lr, int64_t total_steps)
      : peak_lr_(peak_lr), total_steps_(total_steps) {}
  TORCH_ARG(double, peak_lr);
  TORCH_ARG(int64_t, total_steps);
  /// Steps of linear warm-up from peak/warmup to peak (default 0).
  TORCH_ARG(int64_t, warmup_steps) = 0;
  /// Learning rate at the last step as a fraction of the peak (default 0).
  TORCH_ARG(double, min_lr_ratio) = 0.0;
};

/// Learning rate for step s (0-based): linear warm-up over warmup_steps, then half-cosine from
/// the peak down to min_lr_ratio * peak at the last step.
double lr_at(const ScheduleOptions& options, int64_t step);

/// Peak lr from the lr given at batch 256: linear (x B/256), sqrt (x sqrt(B/256)) or none.
enum class LrScaling { kLinear, kSqrt, kNone };
LrScaling lr_scaling_from_string(const std::string& name);
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> lr_scaling_names();
double scale_lr(double lr_at_256, int64_t batch_size, LrScaling scaling);

}  // namespace contra::train
