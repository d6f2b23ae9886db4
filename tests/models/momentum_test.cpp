#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "../support/expect_error.h"
#include "contra/models/momentum.h"

using namespace contra::models;
using contra::test_support::expect_error;

TEST(Momentum, UpdateIsTheExponentialMovingAverageOfParametersOnly) {
  torch::nn::Linear online(2, 1), target(2, 1);
  torch::nn::BatchNorm1d bn_online(2), bn_target(2);
  copy_into(*target, *online);
  EXPECT_FALSE(target->weight.requires_grad());
  EXPECT_TRUE(torch::equal(target->weight, online->weight));
  auto before = target->weight.clone();
  {
    torch::NoGradGuard ng;
    online->weight.add_(1.0);
  }
  momentum_update(*target, *online, 0.9);
  // 0.9 * before + 0.1 * (before + 1) = before + 0.1
  EXPECT_TRUE(torch::allclose(target->weight, before + 0.1, 1e-6, 1e-7));
  // Buffers: copied by copy_into, left alone by momentum_update.
  {
    torch::NoGradGuard ng;
    bn_online->running_mean.fill_(3.0);
  }
  copy_into(*bn_target, *bn_online);
  EXPECT_EQ(bn_target->running_mean[0].item<float>(), 3.0f);
  {
    torch::NoGradGuard ng;
    bn_online->running_mean.fill_(5.0);
  }
  momentum_update(*bn_target, *bn_online, 0.5);
  EXPECT_EQ(bn_target->running_mean[0].item<float>(), 3.0f);
}

TEST(Momentum, NoGradientReachesTheTarget) {
  torch::nn::Linear online(3, 2), target(3, 2);
  copy_into(*target, *online);
  auto y = target->forward(torch::randn({4, 3})).sum() + online->forward(torch::randn({4, 3})).sum();
  y.backward();
  EXPECT_FALSE(target->weight.grad().defined());
  EXPECT_TRUE(online->weight.grad().defined());
}

TEST(Momentum, CosineScheduleRisesFromBaseToOne) {
  EXPECT_DOUBLE_EQ(momentum_at(0.99, 50, 100, false), 0.99);
  EXPECT_NEAR(momentum_at(0.99, 0, 100, true), 0.99, 1e-12);
  EXPECT_NEAR(momentum_at(0.99, 50, 100, true), 0.995, 1e-12);
  EXPECT_NEAR(momentum_at(0.99, 100, 100, true), 1.0, 1e-12);
}

TEST(Momentum, RejectsBadMomentumAndMismatchedNetworks) {
  torch::nn::Linear a(2, 1), b(3, 1);
  expect_error([&] { momentum_update(*a, *a, 1.5); }, "momentum must be in [0, 1], got 1.5");
  expect_error([&] { copy_into(*a, *b); }, "momentum copy: parameter 0 has shape [1, 2] vs [1, 3]");
}
