// Geometry of an embedding, checked against numbers worked out by hand on 2-D points.
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "../support/expect_error.h"
#include "contra/core/error.h"
#include "contra/eval/geometry.h"

using namespace contra;

namespace {
torch::Tensor geometry_points(std::vector<std::vector<float>> rows) {
  auto t = torch::empty({int64_t(rows.size()), int64_t(rows[0].size())});
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) t[int64_t(i)][int64_t(j)] = rows[i][j];
  return t;
}
}  // namespace

TEST(Geometry, AlignmentByHand) {
  // Pair 1: (1,0) and (0,1): ||a - b||^2 = 1 + 1 = 2.
  // Pair 2: (2,0) and (1,0): the same point once normalised, 0.
  // Mean of ||a - b||^2 = (2 + 0) / 2 = 1. With alpha = 1: (sqrt 2 + 0) / 2 = 0.70711.
  const auto x = geometry_points({{1, 0}, {2, 0}}), y = geometry_points({{0, 1}, {1, 0}});
  EXPECT_NEAR(eval::alignment(x, y), 1.0, 1e-6);
  EXPECT_NEAR(eval::alignment(x, y, 1.0), std::sqrt(2.0) / 2, 1e-6);
  // Opposite points: ||(1,0) - (-1,0)||^2 = 4, the maximum.
  EXPECT_NEAR(eval::alignment(geometry_points({{3, 0}}), geometry_points({{-1, 0}})), 4.0, 1e-6);
  test_support::expect_error([&] { eval::alignment(x, geometry_points({{1, 0}})); }, "shapes differ");
}

TEST(Geometry, UniformityByHand) {
  // (1,0), (0,1), (-1,0): squared distances 2 (first-second), 4 (first-third), 2 (second-third).
  // Ordered pairs i != j: each distance twice; with t = 2:
  //   mean = (2 e^-4 + 2 e^-8 + 2 e^-4) / 6 = (2 e^-4 + e^-8) / 3
  //        = (0.036631278 + 0.000335463) / 3 = 0.012322247;
  //   log = ln 1.2322247 + ln 0.01 = 0.208821 - 4.605170 = -4.396349.
  const auto p = geometry_points({{1, 0}, {0, 5}, {-2, 0}});  // lengths do not matter
  const double expected = std::log((2 * std::exp(-4.0) + std::exp(-8.0)) / 3);
  EXPECT_NEAR(expected, -4.396349, 1e-5);
  EXPECT_NEAR(eval::uniformity(p), expected, 1e-5);
  // Chunked by one row at a time: the same.
  EXPECT_NEAR(eval::uniformity(p, eval::UniformityOptions().chunk(1)), expected, 1e-5);
  // Collapse: every pair at distance 0, exp(0) = 1, log 1 = 0.
  EXPECT_NEAR(eval::uniformity(geometry_points({{1, 1}, {2, 2}, {3, 3}})), 0.0, 1e-6);
  // A sample of 2 of the 3 points is one of the pairs: log e^-4 = -4 or log e^-8 = -8.
  const double two = eval::uniformity(p, eval::UniformityOptions().max_points(2).seed(3));
  EXPECT_TRUE(std::abs(two + 4) < 1e-5 || std::abs(two + 8) < 1e-5) << two;
  EXPECT_EQ(two, eval::uniformity(p, eval::UniformityOptions().max_points(2).seed(3)));
  test_support::expect_error([&] { eval::uniformity(geometry_points({{1, 0}})); }, "at least 2 rows");
}

TEST(Geometry, EffectiveRankByHand) {
  // diag(3, 1): singular values 3 and 1, p = (0.75, 0.25) (+1e-7);
  // entropy = -(0.75 ln 0.75 + 0.25 ln 0.25) = 0.215762 + 0.346574 = 0.562335;
  // erank = e^0.562335 = 1.754765.
  EXPECT_NEAR(eval::effective_rank(geometry_points({{3, 0}, {0, 1}})), 1.754765, 1e-4);
  // A flat spectrum (the identity, 3 x 3): p = 1/3 each, entropy ln 3, erank 3.
  EXPECT_NEAR(eval::effective_rank(torch::eye(3)), 3.0, 1e-4);
  // Rank one (all rows on one line): sigma = (s, 0), p = (1 + 1e-7, 1e-7), erank ~ 1.
  EXPECT_NEAR(eval::effective_rank(geometry_points({{1, 2}, {2, 4}, {-1, -2}})), 1.0, 1e-4);
}

TEST(Geometry, FeatureStdByHand) {
  // (1,0) and (0,1): per dimension the values are {1, 0}: mean 0.5, unbiased variance
  // (0.25 + 0.25) / 1 = 0.5, std 0.707107; mean over the 2 dimensions 0.707107 = 1/sqrt(2).
  EXPECT_NEAR(eval::feature_std(geometry_points({{4, 0}, {0, 2}})), std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(eval::feature_std_reference(2), std::sqrt(0.5), 1e-12);
  // Collapse: every row the same direction, std 0.
  EXPECT_NEAR(eval::feature_std(geometry_points({{1, 1}, {3, 3}})), 0.0, 1e-6);
  // Together, with positive pairs for alignment; without them alignment is NaN.
  const auto f = geometry_points({{1, 0}, {0, 1}, {-1, 0}});
  const auto g = eval::geometry(f, f, f);
  EXPECT_NEAR(g.alignment, 0.0, 1e-6);
  EXPECT_NEAR(g.feature_std_reference, std::sqrt(0.5), 1e-12);
  EXPECT_TRUE(std::isnan(eval::geometry(f, {}, {}).alignment));
}
