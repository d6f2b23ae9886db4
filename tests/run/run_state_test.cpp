// RunState: what a checkpoint carries besides parameters and optimizer state, typed, and its
// round trip through the checkpoint file's named tensors.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "contra/config/load.h"
#include "contra/run/resolve.h"
#include "contra/run/run_state.h"

using namespace contra;

namespace {
std::shared_ptr<methods::TwoViewMethod> adaptive_method() {
  auto cfg = config::load(std::string(CONTRA_SOURCE_DIR) + "/configs/fashion_mnist.yaml",
                          {"loss.name=hard_negative", "loss.adaptive=true", "model.widths=[4]"});
  return run::make_method(cfg, 1);
}
losses::ContrastiveOutput output(double loss, double pos, double neg) {
  losses::ContrastiveOutput o;
  o.loss = torch::tensor(loss);
  o.positive_sim = pos;
  o.negative_sim = neg;
  return o;
}
}  // namespace

TEST(RunState, RoundTripsThroughTheCheckpointForm) {
  auto method = adaptive_method();
  for (int i = 1; i <= 5; ++i) method->after_step(i, 100, output(2.0 - 0.1 * i, 0.9, 0.1));
  torch::manual_seed(7);
  const auto s = run::capture_run_state(5, 2, 1, *method, torch::Device(torch::kCPU));
  EXPECT_FALSE(s.method.controller.empty());
  const auto back = run::from_checkpoint_state(run::to_checkpoint_state(s));
  EXPECT_EQ(back.step, 5);
  EXPECT_EQ(back.epoch, 2);
  EXPECT_EQ(back.skipped_steps, 1);
  EXPECT_TRUE(torch::equal(back.rng_cpu, s.rng_cpu));
  EXPECT_FALSE(back.rng_cuda.defined());  // a CPU run saves no CUDA generator
  EXPECT_EQ(back.method.controller, s.method.controller);
  // The checkpoint file's names are those of earlier releases, so their runs still resume.
  const auto c = run::to_checkpoint_state(s);
  for (const char* name : {"rng_cpu", "skipped_steps", "adaptive"}) EXPECT_EQ(c.extra.count(name), 1u) << name;
}

TEST(RunState, RestoresTheGeneratorAndTheController) {
  auto trained = adaptive_method();
  for (int i = 1; i <= 8; ++i) trained->after_step(i, 100, output(1.0, 0.95, 0.05));
  const double beta = trained->objective().hard_beta();
  EXPECT_GT(beta, 0.0);  // the controller raised it
  torch::manual_seed(3);
  const auto s = run::capture_run_state(8, 0, 0, *trained, torch::Device(torch::kCPU));
  const auto expected = torch::rand({4});

  auto fresh = adaptive_method();
  EXPECT_EQ(fresh->objective().hard_beta(), 0.0);
  torch::manual_seed(99);
  run::restore_run_state(s, *fresh, torch::Device(torch::kCPU));
  EXPECT_EQ(fresh->objective().hard_beta(), beta);
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected));
  // And the controller continues as the uninterrupted one does.
  trained->after_step(9, 100, output(1.0, 0.95, 0.05));
  fresh->after_step(9, 100, output(1.0, 0.95, 0.05));
  EXPECT_EQ(fresh->objective().hard_beta(), trained->objective().hard_beta());
}

TEST(RunState, OlderCheckpointsWithoutFieldsKeepTheDefaults) {
  train::CheckpointState c{4, 1, {}};
  const auto s = run::from_checkpoint_state(c);
  EXPECT_EQ(s.step, 4);
  EXPECT_EQ(s.skipped_steps, 0);
  EXPECT_FALSE(s.rng_cpu.defined());
  EXPECT_TRUE(s.method.controller.empty());
}
