#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "contra/core/error.h"
#include "contra/losses/triplet.h"

using namespace contra::losses;
using contra::test_support::expect_error;

// Triplet 1: a = (1,0), p = (0,1) (cos 0), n = (1,0) (cos 1): max(0, 1 - 0 + 0.2) = 1.2.
// Triplet 2: a = (1,0), p = (1,0) (cos 1), n = (0,1) (cos 0): max(0, 0 - 1 + 0.2) = 0.
TEST(Triplet, MatchesHandWorkedExample) {
  auto a = torch::tensor({{1.0, 0.0}, {1.0, 0.0}}, torch::kDouble);
  auto p = torch::tensor({{0.0, 1.0}, {1.0, 0.0}}, torch::kDouble);
  auto n = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  auto nz = functional::triplet_loss(a, p, n);
  EXPECT_NEAR(nz.loss.item<double>(), 1.2, 1e-12);  // averaged over the one non-zero triplet
  auto all = functional::triplet_loss(a, p, n, TripletOptions().average_nonzero(false));
  EXPECT_NEAR(all.loss.item<double>(), 0.6, 1e-12);
  EXPECT_DOUBLE_EQ(all.top1, 0.5);
  EXPECT_DOUBLE_EQ(all.active, 0.5);
  EXPECT_NEAR(all.positive_sim, 0.5, 1e-12);
}

// Distances: a = (0,0), p = (3,4) (d 5), n = (1,0) (d 1). l2: max(0, 5 - 1 + 1) = 5;
// squared: max(0, 25 - 1 + 1) = 25.
TEST(Triplet, DistancesMatchHandWorkedExample) {
  auto a = torch::tensor({{0.0, 0.0}}, torch::kDouble);
  auto p = torch::tensor({{3.0, 4.0}}, torch::kDouble);
  auto n = torch::tensor({{1.0, 0.0}}, torch::kDouble);
  auto o = TripletOptions().margin(1);
  EXPECT_NEAR(functional::triplet_loss(a, p, n, o.similarity(Similarity::kNegEuclidean)).loss.item<double>(), 5, 1e-12);
  EXPECT_NEAR(functional::triplet_loss(a, p, n, o.similarity(Similarity::kNegSquaredEuclidean)).loss.item<double>(), 25, 1e-12);
}

TEST(Triplet, FromSimilarityIndexesTheMatrix) {
  // s = [[1, 0.5, 0.9], ...]: triplet (0, 1, 2): max(0, 0.9 - 0.5 + 0.2) = 0.6.
  auto s = torch::tensor({{1.0, 0.5, 0.9}, {0.5, 1.0, 0.1}, {0.9, 0.1, 1.0}}, torch::kDouble);
  auto i = [](int64_t v) { return torch::tensor({v}, torch::kLong); };
  auto out = functional::triplet_loss_from_similarity(s, i(0), i(1), i(2));
  EXPECT_NEAR(out.loss.item<double>(), 0.6, 1e-12);
  EXPECT_EQ(out.top1, 0.0);
  auto none = torch::zeros({0}, torch::kLong);
  auto empty = functional::triplet_loss_from_similarity(s.requires_grad_(), none, none, none);
  EXPECT_EQ(empty.loss.item<double>(), 0.0);
  EXPECT_EQ(empty.active, 0.0);
}

TEST(Triplet, RejectsBadInput) {
  auto x = torch::ones({2, 3});
  expect_error([&] { functional::triplet_loss(x, x, torch::ones({3, 3})); },
               "triplet loss needs anchors, positives and negatives of equal shape [T, d], got [2, 3], [2, 3] and [3, 3]");
  expect_error([&] { functional::triplet_loss(x, x, x, TripletOptions().margin(-1)); },
               "loss.margin must be >= 0, got -1");
  auto nan = torch::full({2, 3}, std::numeric_limits<float>::quiet_NaN());
  expect_error([&] { functional::triplet_loss(nan, x, x); }, "triplet loss anchors contain NaN or Inf");
  expect_error([&] { functional::triplet_loss_from_similarity(x, torch::zeros({1}, torch::kLong), torch::zeros({1}, torch::kLong), torch::zeros({1}, torch::kLong)); },
               "triplet loss needs a square similarity matrix [N, N], got [2, 3]");
}
