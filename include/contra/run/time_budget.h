#pragma once
#include <cstdint>
#include <functional>
#include <optional>

#include <nlohmann/json_fwd.hpp>

namespace contra::run {

/// train.time_budget: the run's length chosen from its own measured speed, so that the whole
/// schedule (warm-up, cosine) ends within a wall-clock budget on any machine.
///
/// The planner watches the first steps (the provisional schedule is the configured one), skips
/// `skip_steps` of start-up, measures the step rate over at least `min_measure_steps` steps and
/// `min_measure_s` seconds, and then fixes the total once:
///   total = done + n,  n = floor(remaining x (1 - margin) / (1/rate + monitor_s / monitor_every))
/// where remaining = budget - seconds since the run started (data loading counts). The online
/// monitor's cost (timed once when planning) is reserved for the monitor calls still to come.
/// A machine can slow down after the measurement (another tenant, a hotter core): halfway through
/// the steps left (and again halfway through the rest, while at least min_measure_steps remain)
/// the planner checks the speed measured since the plan (monitor calls included), and if the rest at that speed would end
/// past the budget it shortens the run to fit, with the margin (never lengthens it; the cosine
/// shrinks to the new length, a small step in the learning rate).
/// Given the same measurements the plan is the same (tested with a fake clock).
struct TimeBudgetOptions {
  double budget_s = 0;             ///< seconds from the run's start to the last step
  int64_t skip_steps = 3;          ///< first steps seen, not measured (allocation, caches); >= 1
  int64_t min_measure_steps = 10;  ///< measured steps before planning
  double min_measure_s = 10;       ///< measured seconds before planning
  double margin = 0.03;            ///< share of the remaining time kept free (logs, checkpoint)
  int64_t monitor_every = 0;       ///< eval.monitor_every (0: no monitor)
  int64_t max_steps = 0;           ///< an upper bound on the total (train.max_steps); 0 = none
};

/// The plan, as summary.json and the checkpoint record it.
struct TimeBudgetPlan {
  double budget_s = 0;
  int64_t planned_at_step = 0;   ///< the step after which the total was fixed
  double planned_at_s = 0;       ///< seconds since the run's start at that step
  double steps_per_s = 0;        ///< measured over the steps after skip_steps
  double monitor_s = 0;          ///< one online-monitor call, timed when planning (0: none)
  int64_t total_steps = 0;       ///< the run's length
  int64_t replanned_at_step = 0;  ///< the last step at which a check shortened the run (0: none)
  double remeasured_steps_per_s = 0;  ///< the speed since the plan (monitor included), at that check
  /// The step of the next check (0: none). Every process knows it from the plan.
  int64_t check_at_step = 0;
};
nlohmann::json to_json(const TimeBudgetPlan& plan);

class TimeBudgetPlanner {
 public:
  /// `now`: seconds since the run started; `time_monitor`: runs one monitor call and returns
  /// its seconds (null: no monitor).
  TimeBudgetPlanner(TimeBudgetOptions options, std::function<double()> now,
                    std::function<double()> time_monitor = nullptr);
  /// Called after each step with the steps done (a resumed run starts past 0); the plan once it is fixed (and from then on),
  /// nullopt while still measuring. At plan().check_at_step the plan may shorten (see above).
  std::optional<TimeBudgetPlan> after_step(int64_t done);
  const std::optional<TimeBudgetPlan>& plan() const { return plan_; }

 private:
  TimeBudgetOptions options_;
  std::function<double()> now_, time_monitor_;
  int64_t seen_ = 0;  ///< after_step calls so far
  double measure_start_s_ = 0;
  int64_t measure_start_step_ = 0;
  std::optional<TimeBudgetPlan> plan_;

  /// The next check: halfway through the steps left after `done`, 0 when fewer than
  /// min_measure_steps would be left to measure.
  int64_t next_check(int64_t done) const;
  void check(int64_t done);
};

}  // namespace contra::run
