#include <gtest/gtest.h>

#include "../support/expect_error.h"

#include <cmath>
#include <limits>

#include "contra/negatives/adaptive.h"

using namespace contra::negatives;
using contra::test_support::expect_error;

TEST(AdaptiveHardness, RisesAsTheGapWidensAtTheRateLimit) {
  AdaptiveHardness c(AdaptiveHardnessOptions().beta_max(1).gap_low(0.2).gap_high(0.6).rate(0.1).smoothing(0));
  EXPECT_EQ(c.beta(), 0.0);
  EXPECT_NEAR(c.update(2.0, 0.1), 0.0, 1e-12);   // gap below gap_low: target 0
  EXPECT_NEAR(c.update(2.0, 0.4), 0.1, 1e-12);   // target 0.5, one rate step
  EXPECT_NEAR(c.update(2.0, 0.4), 0.2, 1e-12);
  for (int i = 0; i < 10; ++i) c.update(2.0, 0.4);
  EXPECT_NEAR(c.beta(), 0.5, 1e-12);             // settles on the target
  for (int i = 0; i < 10; ++i) c.update(2.0, 0.9);
  EXPECT_NEAR(c.beta(), 1.0, 1e-12);             // capped at beta_max
  for (int i = 0; i < 3; ++i) c.update(2.0, 0.3);
  EXPECT_NEAR(c.beta(), 0.7, 1e-12);             // target 0.25: falls at the rate limit
}

TEST(AdaptiveHardness, BacksOffOnALossSpikeAndHoldsDuringCooldown) {
  AdaptiveHardness c(AdaptiveHardnessOptions().beta_max(1).gap_low(0).gap_high(1).rate(1).smoothing(0)
                         .spike(0.5).backoff(0.5).cooldown(2));
  c.update(1.0, 1.0);
  EXPECT_NEAR(c.beta(), 1.0, 1e-12);
  EXPECT_NEAR(c.update(1.6, 1.0), 0.5, 1e-12);   // 1.6 > 1.5 x 1.0: unstable, halved
  EXPECT_EQ(c.instabilities(), 1);
  EXPECT_NEAR(c.update(1.6, 1.0), 0.5, 1e-12);   // cooldown: may not rise
  EXPECT_NEAR(c.update(1.6, 1.0), 0.5, 1e-12);
  EXPECT_NEAR(c.update(1.6, 1.0), 1.0, 1e-12);   // cooldown over
  EXPECT_NEAR(c.update(std::numeric_limits<double>::quiet_NaN(), 1.0), 0.5, 1e-12);
  EXPECT_EQ(c.instabilities(), 2);
}

TEST(AdaptiveHardness, RejectsBadOptions) {
  expect_error([] { AdaptiveHardness(AdaptiveHardnessOptions().gap_low(0.5).gap_high(0.5)); },
               "loss.adaptive_gap_low (0.5) must be < loss.adaptive_gap_high (0.5)");
  expect_error([] { AdaptiveHardness(AdaptiveHardnessOptions().beta_max(-1)); },
               "loss.adaptive_beta_max must be >= 0, got -1");
  expect_error([] { AdaptiveHardness(AdaptiveHardnessOptions().rate(0)); },
               "loss.adaptive_rate must be > 0, got 0");
}
