#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include <unistd.h>

#include "contra/core/error.h"
#include "contra/train/checkpoint.h"
#include "contra/train/lars.h"
#include "contra/train/optimizer.h"
#include "contra/train/progress.h"
#include "contra/train/schedule.h"

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
