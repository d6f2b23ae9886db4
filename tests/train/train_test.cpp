#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include <unistd.h>

#include "contra/core/error.h"
#include "contra/train/checkpoint.h"
#include "contra/train/lars.h"
#include "contra/train/optimizer.h"
#include "contra/train/progress.h"
#include "contra/train/schedule.h"
#include "contra/train/trainer.h"

#include "../support/expect_error.h"

using namespace contra::train;

TEST(Schedule, WarmupThenCosine) {
  auto o = ScheduleOptions(1.0, 10).warmup_steps(2).min_lr_ratio(0.1);
  EXPECT_DOUBLE_EQ(lr_at(o, 0), 0.5);
  EXPECT_DOUBLE_EQ(lr_at(o, 1), 1.0);
  EXPECT_DOUBLE_EQ(lr_at(o, 2), 1.0);   // first decay step is the peak
  EXPECT_NEAR(lr_at(o, 9), 0.1, 1e-12);  // last step is the floor
  // Midpoint of the 8 decay steps (t = 3.5/7 = 0.5): halfway between peak and floor.
  auto mid = ScheduleOptions(1.0, 9).min_lr_ratio(0.0);
  EXPECT_NEAR(lr_at(mid, 4), 0.5, 1e-12);
  for (int s = 3; s < 10; ++s) EXPECT_LE(lr_at(o, s), lr_at(o, s - 1));
}

TEST(Schedule, LrScaling) {
  EXPECT_DOUBLE_EQ(scale_lr(0.3, 512, LrScaling::kLinear), 0.6);
  EXPECT_DOUBLE_EQ(scale_lr(0.3, 1024, LrScaling::kSqrt), 0.6);
  EXPECT_DOUBLE_EQ(scale_lr(0.3, 1024, LrScaling::kNone), 0.3);
}

TEST(Optimizer, BiasAndNormParamsAreNotDecayed) {
  auto w = torch::ones({2, 2}, torch::requires_grad()), b = torch::ones({2}, torch::requires_grad());
  auto g = split_for_weight_decay({w, b});
  ASSERT_EQ(g.decay.size(), 1u);
  ASSERT_EQ(g.no_decay.size(), 1u);
  for (auto kind : {OptimizerKind::kSGD, OptimizerKind::kAdamW, OptimizerKind::kLARS}) {
    auto w2 = torch::ones({2, 2}, torch::requires_grad()), b2 = torch::ones({2}, torch::requires_grad());
    auto opt = make_optimizer({w2, b2}, OptimizerOptions(kind).lr(0.1).weight_decay(0.5).momentum(0));
    opt->zero_grad();
    (w2.sum() * 0 + b2.sum() * 0).backward();  // zero gradients: only decay can move a weight
    opt->step();
    EXPECT_TRUE(torch::allclose(b2, torch::ones({2}))) << int(kind);
    EXPECT_LT(w2[0][0].item<double>(), 1.0) << int(kind);
  }
}

TEST(Lars, TrustRatioStepMatchesHandComputation) {
  // w = (3, 4) |w| = 5; g = (0, 1) + wd*w with wd = 0 -> |g| = 1; trust = eta*5/1.
  auto w = torch::tensor({{3.0, 4.0}}, torch::kDouble).requires_grad_();
  auto b = torch::tensor({1.0}, torch::kDouble).requires_grad_();
  Lars opt(split_for_weight_decay({w, b}), OptimizerOptions(OptimizerKind::kLARS).lr(0.1).momentum(0.9).lars_eta(0.01));
  (w[0][1] + 2 * b[0]).backward();
  opt.step();
  // Update = lr * trust * g = 0.1 * 0.05 * (0, 1); bias: plain SGD 0.1 * 2.
  EXPECT_NEAR(w[0][0].item<double>(), 3.0, 1e-12);
  EXPECT_NEAR(w[0][1].item<double>(), 4.0 - 0.005, 1e-12);
  EXPECT_NEAR(b[0].item<double>(), 1.0 - 0.2, 1e-12);
  // Second step with the same gradient: velocity = 0.9 * v + new update (trust recomputed).
  opt.step();
  double wn = std::sqrt(9.0 + (4.0 - 0.005) * (4.0 - 0.005));
  EXPECT_NEAR(w[0][1].item<double>(), 4.0 - 0.005 - (0.9 * 0.005 + 0.1 * 0.01 * wn), 1e-12);
}

TEST(Progress, LogLinesWhenNotATerminal) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  Progress p(f, 2, /*interactive=*/false);
  StepStats s;
  s.total = 3;
  for (int i = 1; i <= 3; ++i) {
    s.step = i;
    s.loss = 1.0 / i;
    s.elapsed_s = i;
    s.pairs_per_s = 100;
    p.update(s);
  }
  p.finish();
  std::fclose(f);
  std::string out(buf, len);
  free(buf);
  // Step 2 (every 2) and step 3 (the last), each on its own line, no carriage returns.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("step 2/3 epoch 0.00 loss 0.5000"), std::string::npos) << out;
  EXPECT_NE(out.find("ETA 0m01s"), std::string::npos) << out;
}

TEST(Progress, DurationFormat) {
  EXPECT_EQ(Progress::format_duration(75), "1m15s");
  EXPECT_EQ(Progress::format_duration(3 * 3600 + 120), "3h02m");
}

TEST(Checkpoint, RoundTripAndErrors) {
  torch::manual_seed(0);
  torch::nn::Linear a(3, 2), b(3, 2);
  auto opt = make_optimizer(a->parameters(), OptimizerOptions(OptimizerKind::kSGD).lr(0.1));
  a->forward(torch::randn({4, 3})).sum().backward();
  opt->step();
  std::string path = testing::TempDir() + "/contra_ckpt_" + std::to_string(getpid()) + ".pt";
  save_checkpoint(path, *a, opt.get(), {12, 3});
  auto opt_b = make_optimizer(b->parameters(), OptimizerOptions(OptimizerKind::kSGD).lr(0.1));
  auto st = load_checkpoint(path, *b, opt_b.get());
  EXPECT_EQ(st.step, 12);
  EXPECT_EQ(st.epoch, 3);
  EXPECT_TRUE(torch::equal(a->weight, b->weight));

  torch::nn::Linear other(5, 2);
  try {
    load_checkpoint(path, *other, nullptr);
    FAIL();
  } catch (const contra::Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match this model"), std::string::npos) << e.what();
  }
  std::string junk = testing::TempDir() + "/contra_junk_" + std::to_string(getpid()) + ".pt";
  std::FILE* f = std::fopen(junk.c_str(), "wb");
  std::fputs("not a checkpoint", f);
  std::fclose(f);
  try {
    load_checkpoint(junk, *b, nullptr);
    FAIL();
  } catch (const contra::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is corrupt"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, CpuRandomStateRoundTrips) {
  torch::manual_seed(3);
  const auto state = cpu_rng_state();
  const auto first = torch::rand({4});
  EXPECT_FALSE(torch::equal(torch::rand({4}), first));
  set_cpu_rng_state(state);
  EXPECT_TRUE(torch::equal(torch::rand({4}), first));
}

// Through a checkpoint file, as a resumed CUDA run restores it ("rng_cuda").
TEST(Checkpoint, CudaRandomStateRoundTrips_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const c10::Device cuda(c10::kCUDA);
  torch::manual_seed(3);
  torch::nn::Linear model(3, 2);
  CheckpointState state{1, 0, {}};
  state.extra["rng_cuda"] = cuda_rng_state(cuda);
  const auto first = torch::rand({4}, torch::TensorOptions().device(cuda));
  std::string path = testing::TempDir() + "/contra_rng_" + std::to_string(getpid()) + ".pt";
  save_checkpoint(path, *model, nullptr, state);
  EXPECT_FALSE(torch::equal(torch::rand({4}, first.options()), first));
  set_cuda_rng_state(cuda, load_checkpoint(path, *model, nullptr).extra.at("rng_cuda"));
  EXPECT_TRUE(torch::equal(torch::rand({4}, first.options()), first));
  std::remove(path.c_str());
}

namespace {

/// What goes wrong at a step: kLoss adds NaN to the loss (its gradient stays finite);
/// kGradient adds sqrt(w - w) = 0, whose gradient at 0 is infinite (the loss stays finite).
enum class Poison { kNone, kLoss, kGradient };

/// A linear model trained on a fixed batch with loss mean((x W^T)^2), through fit(StepSource),
/// recording what the loop does.
struct ToyRun {
  torch::nn::Linear model{nullptr};
  std::unique_ptr<Optimizer> optimizer;
  std::function<Poison(int64_t)> poison = [](int64_t) { return Poison::kNone; };
  std::vector<torch::Tensor> weight_before;  ///< the weight as each step (1-based) starts
  std::vector<int64_t> stepped;              ///< steps after_step saw
  std::vector<int64_t> logged_skipped;       ///< skipped_steps of each on_log record
  std::vector<std::pair<int64_t, int64_t>> checkpoints;  ///< (step, skipped_steps)

  ToyRun() {
    torch::manual_seed(0);
    model = torch::nn::Linear(3, 2);
    optimizer = make_optimizer(model->parameters(), OptimizerOptions(OptimizerKind::kSGD).lr(0.1));
  }
  /// Six steps at a constant lr 0.1 (so messages can pin it), logged each step.
  static TrainerOptions options() {
    return TrainerOptions(ScheduleOptions(0.1, 6).min_lr_ratio(1.0)).log_every(1).quiet(true);
  }
  TrainSummary fit(const TrainerOptions& options, TrainerHooks hooks = {}) {
    const auto x = torch::randn({8, 3});
    int64_t step = 0;
    StepSource source;
    source.next = [&] {
      ++step;
      weight_before.push_back(model->weight.detach().clone());
      auto loss = model->forward(x).pow(2).mean();
      if (poison(step) == Poison::kLoss) loss = loss + std::numeric_limits<double>::quiet_NaN();
      if (poison(step) == Poison::kGradient)
        loss = loss + torch::sqrt(model->weight - model->weight.detach()).sum();
      StepOutput s;
      s.output.loss = loss;
      s.pairs = x.size(0);
      return s;
    };
    hooks.after_step = [&](int64_t done, const contra::losses::ContrastiveOutput&) {
      stepped.push_back(done);
    };
    hooks.on_log = [&](const StepRecord& r) { logged_skipped.push_back(r.skipped_steps); };
    hooks.on_checkpoint = [&](int64_t done, int64_t, int64_t skipped) {
      checkpoints.emplace_back(done, skipped);
    };
    return contra::train::fit(*model, source, *optimizer, options, hooks);
  }
};

}  // namespace

TEST(Trainer, NonFiniteLossStopsNamingTheStepAndTheLastCheckpoint) {
  ToyRun run;
  run.poison = [](int64_t s) { return s == 3 ? Poison::kLoss : Poison::kNone; };
  contra::test_support::expect_error(
      [&] { run.fit(ToyRun::options().checkpoint_every(2)); },
      "training diverged: loss is nan at step 3 (lr 0.1); lower optim.lr or raise "
      "loss.temperature; the last checkpoint is from step 2");
  EXPECT_EQ(run.stepped, (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(torch::equal(run.model->weight, run.weight_before[2]));  // step 3 made no update
}

TEST(Trainer, NonFiniteGradientStopsThoughTheLossIsFinite) {
  ToyRun run;
  run.poison = [](int64_t s) { return s == 2 ? Poison::kGradient : Poison::kNone; };
  std::string message = "(no error)";
  try {
    run.fit(ToyRun::options());
  } catch (const contra::Error& e) {
    message = e.what();
  }
  EXPECT_EQ(message.rfind("training diverged: a gradient is not finite (loss ", 0), 0u) << message;
  EXPECT_NE(message.find(") at step 2 (lr 0.1); lower optim.lr or raise loss.temperature; no "
                         "checkpoint was written yet"),
            std::string::npos)
      << message;
  EXPECT_EQ(run.stepped, (std::vector<int64_t>{1}));
  EXPECT_TRUE(torch::equal(run.model->weight, run.weight_before[1]));
}

TEST(Trainer, SkipDropsTheStepCountsItAndGoesOn) {
  ToyRun run;
  run.poison = [](int64_t s) {
    return s == 2 ? Poison::kLoss : s == 4 ? Poison::kGradient : Poison::kNone;
  };
  auto summary = run.fit(ToyRun::options().checkpoint_every(3).nonfinite(NonFinitePolicy::kSkip));
  EXPECT_EQ(summary.steps, 6);
  EXPECT_EQ(summary.skipped_steps, 2);
  EXPECT_EQ(run.stepped, (std::vector<int64_t>{1, 3, 5, 6}));  // no after_step for skipped steps
  EXPECT_EQ(run.logged_skipped, (std::vector<int64_t>{0, 1, 1, 2, 2, 2}));
  EXPECT_EQ(run.checkpoints, (std::vector<std::pair<int64_t, int64_t>>{{3, 1}, {6, 2}}));
  ASSERT_EQ(run.weight_before.size(), 6u);
  EXPECT_FALSE(torch::equal(run.weight_before[1], run.weight_before[0]));  // a normal step moves
  EXPECT_TRUE(torch::equal(run.weight_before[2], run.weight_before[1]));   // step 2: no update
  EXPECT_TRUE(torch::equal(run.weight_before[4], run.weight_before[3]));   // step 4: no update
  EXPECT_FALSE(torch::equal(run.model->weight, run.weight_before[5]));
  EXPECT_TRUE(run.model->weight.isfinite().all().item<bool>());
  EXPECT_TRUE(std::isfinite(summary.final_loss));
}

// A run whose every step was skipped has no final loss to report (not 0).
TEST(Trainer, FinalLossIsNaNWhenEveryStepWasSkipped) {
  ToyRun run;
  run.poison = [](int64_t) { return Poison::kLoss; };
  auto summary = run.fit(ToyRun::options().nonfinite(NonFinitePolicy::kSkip));
  EXPECT_EQ(summary.skipped_steps, 6);
  EXPECT_TRUE(run.stepped.empty());
  EXPECT_TRUE(std::isnan(summary.final_loss));
  EXPECT_TRUE(torch::equal(run.model->weight, run.weight_before[0]));
}

TEST(Trainer, SkipStopsPastTheLimitCountingResumedSkips) {
  ToyRun run;
  run.poison = [](int64_t s) { return s == 2 || s == 4 ? Poison::kLoss : Poison::kNone; };
  contra::test_support::expect_error(
      [&] {
        run.fit(ToyRun::options()
                    .checkpoint_every(1)
                    .nonfinite(NonFinitePolicy::kSkip)
                    .max_skipped_steps(2)
                    .start_skipped_steps(1));  // one skipped before a resume
      },
      "training diverged: loss is nan at step 4 (lr 0.1), after train.max_skipped_steps (2) "
      "skipped steps; lower optim.lr or raise loss.temperature; the last checkpoint is from step 3");
  EXPECT_EQ(run.stepped, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(run.checkpoints.back(), (std::pair<int64_t, int64_t>{3, 2}));
}

// A NaN batch poisons batch-norm's running statistics in the forward pass: skipping the update
// cannot undo that, so the run stops.
TEST(Trainer, SkipStopsWhenTheForwardPassPoisonedABuffer) {
  torch::manual_seed(0);
  torch::nn::Sequential model(torch::nn::Linear(3, 2), torch::nn::BatchNorm1d(2));
  auto optimizer = make_optimizer(model->parameters(), OptimizerOptions(OptimizerKind::kSGD));
  int64_t step = 0;
  StepSource source;
  source.next = [&] {
    auto x = torch::randn({8, 3});
    if (++step == 2) x[0][0] = std::numeric_limits<float>::quiet_NaN();
    StepOutput s;
    s.output.loss = model->forward(x).pow(2).mean();
    return s;
  };
  contra::test_support::expect_error(
      [&] { fit(*model, source, *optimizer, ToyRun::options().nonfinite(NonFinitePolicy::kSkip), {}); },
      "loss is nan at step 2 (lr 0.1); the step was skipped, but its forward pass left a "
      "non-finite value in buffer '1.running_mean'");
}

// Several processes: a process whose loss is not finite fills its gradients with NaN before
// after_backward (the gradient average), so that every process sees it and decides alike.
TEST(Trainer, NonFiniteLossReachesTheGradientAverage) {
  ToyRun run;
  run.poison = [](int64_t s) { return s == 2 ? Poison::kLoss : Poison::kNone; };
  std::vector<bool> finite_at_average;
  TrainerHooks hooks;
  hooks.after_backward = [&] {
    finite_at_average.push_back(run.model->weight.grad().isfinite().all().item<bool>() &&
                                run.model->bias.grad().isfinite().all().item<bool>());
  };
  run.fit(ToyRun::options().nonfinite(NonFinitePolicy::kSkip), hooks);
  EXPECT_EQ(finite_at_average, (std::vector<bool>{true, false, true, true, true, true}));

  // The other side: this process's loss is finite, the averaged gradient is not.
  ToyRun other;
  TrainerHooks average;
  int64_t calls = 0;
  average.after_backward = [&] {
    if (++calls == 3) other.model->weight.mutable_grad()[0][0] = std::nan("");
  };
  contra::test_support::expect_error(
      [&] { other.fit(ToyRun::options().world_size(2), average); },
      ") after averaging over the processes (a process whose loss is not finite makes it so) at "
      "step 3 (lr 0.1)");
  EXPECT_EQ(other.stepped, (std::vector<int64_t>{1, 2}));
}
