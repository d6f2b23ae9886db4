#include "contra/train/schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "contra/core/names.h"

namespace contra::train {

double lr_at(const ScheduleOptions& o, int64_t step) {
  const int64_t warm = std::min(o.warmup_steps(), o.total_steps());
  if (step < warm) return o.peak_lr() * double(step + 1) / double(warm);
  const int64_t decay_steps = o.total_steps() - warm;
  if (decay_steps <= 1) return o.peak_lr();
  double t = std::clamp(double(step - warm) / double(decay_steps - 1), 0.0, 1.0);
  double floor = o.min_lr_ratio() * o.peak_lr();
  return floor + (o.peak_lr() - floor) * 0.5 * (1.0 + std::cos(M_PI * t));
}

namespace {
const NameTable<LrScaling, 3> kLrScalingNames = {
      {"linear", LrScaling::kLinear}, {"sqrt", LrScaling::kSqrt}, {"none", LrScaling::kNone}};
}  // namespace

LrScaling lr_scaling_from_string(const std::string& name) {
  return from_name(kLrScalingNames, name, "lr scaling");
}

std::vector<std::string> lr_scaling_names() { return names_of(kLrScalingNames); }

double scale_lr(double lr, int64_t batch_size, LrScaling scaling) {
  double r = double(batch_size) / 256.0;
  switch (scaling) {
    case LrScaling::kLinear: return lr * r;
    case LrScaling::kSqrt: return lr * std::sqrt(r);
    case LrScaling::kNone: return lr;
  }
  return lr;
}

}  // namespace contra::train
