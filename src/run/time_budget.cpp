#include "contra/run/time_budget.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <nlohmann/json.hpp>

#include "contra/core/error.h"

namespace contra::run {

nlohmann::json to_json(const TimeBudgetPlan& plan) {
  return {{"minutes", plan.budget_s / 60.0},
          {"planned_at_step", plan.planned_at_step},
          {"planned_at_s", plan.planned_at_s},
          {"measured_steps_per_s", plan.steps_per_s},
          {"monitor_s", plan.monitor_s},
          {"steps", plan.total_steps},
          {"replanned_at_step", plan.replanned_at_step},
          {"remeasured_steps_per_s", plan.remeasured_steps_per_s}};
}

TimeBudgetPlanner::TimeBudgetPlanner(TimeBudgetOptions options, std::function<double()> now,
                                     std::function<double()> time_monitor)
    : options_(options), now_(std::move(now)), time_monitor_(std::move(time_monitor)) {
  CONTRA_CHECK(options_.budget_s > 0, "train.time_budget must be > 0 minutes");
  CONTRA_CHECK(options_.skip_steps >= 1 && options_.min_measure_steps >= 1,
               "time budget: skip_steps >= 1 and min_measure_steps >= 1");
  CONTRA_CHECK(options_.margin >= 0 && options_.margin < 1, "time budget: margin in [0, 1)");
}

int64_t TimeBudgetPlanner::next_check(int64_t done) const {
  const int64_t half = (plan_->total_steps - done) / 2;
  return half >= options_.min_measure_steps ? done + half : 0;
}

void TimeBudgetPlanner::check(int64_t done) {
  auto& p = *plan_;
  const double t = now_();
  // Since the plan, monitor calls included: their share of the time is already in the rate.
  const double rate = t > p.planned_at_s ? double(done - p.planned_at_step) / (t - p.planned_at_s) : 1e9;
  const double per_step = 1.0 / rate;
  if (t + double(p.total_steps - done) * per_step > options_.budget_s) {
    const double remaining = std::max(0.0, options_.budget_s - t) * (1 - options_.margin);
    p.total_steps = std::min(p.total_steps, done + int64_t(std::floor(remaining / per_step)));
    p.replanned_at_step = done;
    p.remeasured_steps_per_s = rate;
  }
  p.check_at_step = next_check(done);
}

std::optional<TimeBudgetPlan> TimeBudgetPlanner::after_step(int64_t done) {
  if (plan_) {
    if (done == plan_->check_at_step) check(done);
    return plan_;
  }
  const double t = now_();
  ++seen_;
  if (seen_ <= options_.skip_steps) {
    measure_start_s_ = t;  // the measurement starts after the last skipped step
    measure_start_step_ = done;
    return std::nullopt;
  }
  const int64_t measured = done - measure_start_step_;
  const double seconds = t - measure_start_s_;
  if (measured < options_.min_measure_steps || seconds < options_.min_measure_s) return std::nullopt;

  TimeBudgetPlan p;
  p.budget_s = options_.budget_s;
  p.planned_at_step = done;
  p.steps_per_s = seconds > 0 ? double(measured) / seconds : 1e9;
  if (time_monitor_ && options_.monitor_every > 0) p.monitor_s = time_monitor_();
  p.planned_at_s = now_();  // after the monitor's timing call
  const double remaining = std::max(0.0, options_.budget_s - p.planned_at_s) * (1 - options_.margin);
  double per_step = 1.0 / p.steps_per_s;
  if (options_.monitor_every > 0) per_step += p.monitor_s / double(options_.monitor_every);
  int64_t total = done + int64_t(std::floor(remaining / per_step));
  if (options_.max_steps > 0) total = std::min(total, options_.max_steps);
  p.total_steps = std::max(total, done);
  plan_ = p;
  plan_->check_at_step = next_check(done);
  return plan_;
}

}  // namespace contra::run
