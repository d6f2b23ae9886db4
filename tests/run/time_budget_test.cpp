// train.time_budget: the planner's arithmetic on a fake clock (deterministic given its
// measurements), the trainer's plan_total hook, the plan in checkpoints, and a real short run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "../support/process.h"
#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/run/experiment.h"
#include "contra/run/run_state.h"
#include "contra/run/time_budget.h"
#include "contra/train/trainer.h"

using namespace contra;

namespace {

/// A clock that advances only when told: each step takes `step_s`.
struct FakeRunClock {
  double now = 0;
};

/// Runs the planner over steps 1.. (each `step_s` long, starting `start_s` after the run began)
/// until it plans; the plan.
run::TimeBudgetPlan plan_with(run::TimeBudgetOptions o, double start_s, double step_s,
                              double monitor_s = 0) {
  FakeRunClock clock{start_s};
  std::function<double()> monitor;
  if (monitor_s > 0) monitor = [&clock, monitor_s] { clock.now += monitor_s; return monitor_s; };
  run::TimeBudgetPlanner planner(o, [&clock] { return clock.now; }, monitor);
  for (int64_t step = 1; step < 100000; ++step) {
    clock.now += step_s;
    if (auto p = planner.after_step(step)) return *p;
  }
  ADD_FAILURE() << "never planned";
  return {};
}

}  // namespace

TEST(TimeBudget, PlansFromTheMeasuredRateByHand) {
  run::TimeBudgetOptions o;
  o.budget_s = 100;  // skip 3 steps, then at least 10 steps and 10 s
  const auto p = plan_with(o, /*start_s=*/5, /*step_s=*/0.5);
  // Measurement starts after step 3 (t = 6.5); at step 23 (t = 16.5) it has 20 steps in 10 s.
  EXPECT_EQ(p.planned_at_step, 23);
  EXPECT_DOUBLE_EQ(p.planned_at_s, 16.5);
  EXPECT_DOUBLE_EQ(p.steps_per_s, 2.0);
  // (100 - 16.5) x 0.97 = 80.995 s left at 0.5 s a step: 161 more steps.
  EXPECT_EQ(p.total_steps, 23 + 161);
  EXPECT_EQ(p.monitor_s, 0);
}

TEST(TimeBudget, ReservesTimeForTheOnlineMonitor) {
  run::TimeBudgetOptions o;
  o.budget_s = 100;
  o.monitor_every = 50;
  const auto p = plan_with(o, 5, 0.5, /*monitor_s=*/3);
  EXPECT_EQ(p.planned_at_step, 23);
  EXPECT_DOUBLE_EQ(p.monitor_s, 3);
  EXPECT_DOUBLE_EQ(p.planned_at_s, 19.5);  // the timing call itself counts
  // (100 - 19.5) x 0.97 = 78.085 s at 0.5 + 3/50 = 0.56 s a step: 139 more steps.
  EXPECT_EQ(p.total_steps, 23 + 139);
}

TEST(TimeBudget, CapsExhaustionAndDeterminism) {
  run::TimeBudgetOptions o;
  o.budget_s = 100;
  o.max_steps = 50;
  EXPECT_EQ(plan_with(o, 5, 0.5).total_steps, 50);  // max_steps is a cap
  o.max_steps = 0;
  o.budget_s = 12;  // spent before the measurement ends: stop where it is
  EXPECT_EQ(plan_with(o, 5, 0.5).total_steps, 23);
  o.budget_s = 1000;  // the same measurements give the same plan
  const auto a = plan_with(o, 2, 0.37), b = plan_with(o, 2, 0.37);
  EXPECT_EQ(a.total_steps, b.total_steps);
  EXPECT_EQ(a.planned_at_step, b.planned_at_step);
  // A slower machine gets proportionally fewer steps.
  const auto slow = plan_with(o, 2, 0.74);
  EXPECT_NEAR(double(slow.total_steps) / double(a.total_steps), 0.5, 0.02);
}

TEST(TimeBudget, PlanIsFixedOnceAndBadOptionsAreErrors) {
  run::TimeBudgetOptions o;
  o.budget_s = 100;
  double now = 0;
  run::TimeBudgetPlanner planner(o, [&now] { return now; });
  std::optional<run::TimeBudgetPlan> first;
  for (int64_t s = 1; s <= 40 && !first; ++s) {
    now += 1;
    first = planner.after_step(s);
  }
  ASSERT_TRUE(first.has_value());
  now += 1000;  // later steps, however slow, do not change it
  EXPECT_EQ(planner.after_step(first->planned_at_step + 1)->total_steps, first->total_steps);
  run::TimeBudgetOptions bad;
  EXPECT_THROW(run::TimeBudgetPlanner(bad, [] { return 0.0; }), contra::Error);
}

TEST(TimeBudget, ShortensTheRunWhenTheMachineSlowsDownByHand) {
  run::TimeBudgetOptions o;
  o.budget_s = 100;
  // As PlansFromTheMeasuredRateByHand: planned at step 23 (t = 16.5), 184 steps, first check
  // halfway through the 161 left: step 23 + 80 = 103.
  auto run_with = [&](double slow_step_s) {
    double now = 5;
    run::TimeBudgetPlanner planner(o, [&now] { return now; });
    std::vector<run::TimeBudgetPlan> plans;
    for (int64_t step = 1; step <= (plans.empty() ? 1000 : plans.back().total_steps); ++step) {
      now += planner.plan() ? slow_step_s : 0.5;
      if (auto p = planner.after_step(step)) plans.push_back(*p);
    }
    return plans;
  };
  const auto steady = run_with(0.5);
  EXPECT_EQ(steady.front().total_steps, 184);
  EXPECT_EQ(steady.front().check_at_step, 103);
  EXPECT_EQ(steady.back().total_steps, 184);  // each check finds the rest on time (97 s): no change
  EXPECT_EQ(steady.back().replanned_at_step, 0);
  const auto slow = run_with(1.0);  // twice as slow after the plan
  // At step 103, t = 16.5 + 80 = 96.5; 1 step/s since the plan; the 81 left would end at
  // 177.5 s: (100 - 96.5) x 0.97 = 3.395 s left, 3 steps. No check after (too few left).
  EXPECT_EQ(slow.back().total_steps, 106);
  EXPECT_EQ(slow.back().replanned_at_step, 103);
  EXPECT_DOUBLE_EQ(slow.back().remeasured_steps_per_s, 1.0);
  EXPECT_EQ(slow.back().check_at_step, 0);
  const auto fast = run_with(0.25);  // faster: never lengthened
  EXPECT_EQ(fast.back().total_steps, 184);
}

TEST(TimeBudget, TrainerFollowsThePlannedLengthAndStretchesTheSchedule) {
  torch::manual_seed(0);
  auto model = torch::nn::Linear(2, 1);
  auto opt = train::make_optimizer(model->parameters(),
                                   train::OptimizerOptions(train::OptimizerKind::kSGD).lr(0.1));
  std::vector<double> lrs;
  train::StepSource source;
  source.next = [&] {
    train::StepOutput s;
    s.output.loss = model->forward(torch::ones({1, 2})).sum();
    s.pairs = 1;
    return s;
  };
  train::TrainerHooks hooks;
  hooks.plan_total = [](int64_t step) -> std::optional<int64_t> {
    if (step < 4) return std::nullopt;
    return 10;
  };
  hooks.on_log = [&](const train::StepRecord& r) { lrs.push_back(r.stats.lr); };
  auto options = train::TrainerOptions(train::ScheduleOptions(0.1, int64_t(1) << 40)).log_every(1);
  const auto summary = train::fit(*model, source, *opt, options, hooks);
  EXPECT_EQ(summary.steps, 10);
  ASSERT_EQ(lrs.size(), 10u);
  // From step 5 on, the cosine runs over 10 steps: lr(step 9, 0-based) = 0.1 (1 + cos(pi 9/9))/2.
  EXPECT_NEAR(lrs[9], train::lr_at(train::ScheduleOptions(0.1, 10), 9), 1e-12);
  EXPECT_NEAR(lrs[5], train::lr_at(train::ScheduleOptions(0.1, 10), 5), 1e-12);
}

TEST(TimeBudget, PlanSurvivesTheCheckpointState) {
  run::RunState s;
  s.time_budget = run::TimeBudgetPlan{900, 31, 12.5, 2.25, 1.75, 1984, 700, 1.5};
  const auto back = run::from_checkpoint_state(run::to_checkpoint_state(s));
  ASSERT_TRUE(back.time_budget.has_value());
  EXPECT_EQ(back.time_budget->total_steps, 1984);
  EXPECT_EQ(back.time_budget->planned_at_step, 31);
  EXPECT_DOUBLE_EQ(back.time_budget->steps_per_s, 2.25);
  EXPECT_EQ(back.time_budget->replanned_at_step, 700);
  EXPECT_DOUBLE_EQ(back.time_budget->remeasured_steps_per_s, 1.5);
  EXPECT_FALSE(run::from_checkpoint_state(run::to_checkpoint_state(run::RunState{})).time_budget);
}

TEST(Engine, TimeBudgetRunEndsWithinItsBudgetAndRecordsThePlan) {
  const auto dir = test_support::temp_dir("engine_time_budget");
  auto cfg = config::load(std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml",
                          {"data.limit=512", "train.batch_size=32", "model.widths=[4,8]",
                           "model.head_hidden=32", "model.head_dim=16", "eval.enabled=false",
                           "train.time_budget=0.2", "eval.monitor_every=0", "threads=1"});
  const auto r = run::train_and_evaluate(cfg, dir);
  ASSERT_TRUE(r.time_budget.has_value());
  EXPECT_EQ(r.train.steps, r.time_budget->total_steps);
  EXPECT_GT(r.train.steps, r.time_budget->planned_at_step);
  const auto summary = nlohmann::json::parse(test_support::slurp(dir + "/summary.json"));
  EXPECT_EQ(summary["time_budget"]["steps"], r.train.steps);
  EXPECT_DOUBLE_EQ(summary["time_budget"]["minutes"].get<double>(), 0.2);
  EXPECT_GT(summary["time_budget"]["measured_steps_per_s"].get<double>(), 0);
  EXPECT_LT(r.time_budget->planned_at_s, 12.0);
}
