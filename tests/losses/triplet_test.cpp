#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "../support/finite_difference.h"
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "contra/core/error.h"
#include "contra/losses/triplet.h"
#include "contra/losses/two_view.h"

using namespace contra::losses;
using contra::test_support::expect_error;
using contra::test_support::expect_grad_matches_fd;

namespace {

// Brute force over every (a, p, n): the mined loss written as loops.
double reference_mined(const at::Tensor& e, const std::vector<int64_t>& y, TripletOptions o) {
  auto s = functional::similarity_matrix(e, e, o.similarity());
  const int64_t n = e.size(0);
  auto S = [&](int64_t i, int64_t j) { return s[i][j].item<double>(); };
  std::vector<double> losses;
  for (int64_t a = 0; a < n; ++a) {
    if (o.mining() == TripletMining::kBatchHard) {
      int64_t hp = -1, hn = -1;
      for (int64_t j = 0; j < n; ++j) {
        if (j != a && y[j] == y[a] && (hp < 0 || S(a, j) < S(a, hp))) hp = j;
        if (y[j] != y[a] && (hn < 0 || S(a, j) > S(a, hn))) hn = j;
      }
      if (hp >= 0 && hn >= 0) losses.push_back(std::max(0.0, S(a, hn) - S(a, hp) + o.margin()));
      continue;
    }
    for (int64_t p = 0; p < n; ++p) {
      if (p == a || y[p] != y[a]) continue;
      for (int64_t m = 0; m < n; ++m) {
        if (y[m] == y[a]) continue;
        const double sp = S(a, p), sn = S(a, m);
        bool take = true;
        if (o.mining() == TripletMining::kSemiHard) take = sn < sp && sn > sp - o.margin();
        if (o.mining() == TripletMining::kHard) take = sn >= sp;
        if (take) losses.push_back(std::max(0.0, sn - sp + o.margin()));
      }
    }
  }
  double sum = 0, nonzero = 0;
  for (double l : losses) {
    sum += l;
    nonzero += l > 0;
  }
  if (losses.empty()) return 0;
  return o.average_nonzero() ? sum / std::max(nonzero, 1.0) : sum / double(losses.size());
}

}  // namespace

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

TEST(Triplet, MinedLossMatchesBruteForceForEveryMiningAndSimilarity) {
  torch::manual_seed(11);
  auto e = torch::randn({8, 3}, torch::kDouble);
  std::vector<int64_t> y = {0, 0, 1, 1, 2, 2, 0, 1};
  auto labels = torch::tensor(y, torch::kLong);
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean})
    for (auto mining : {TripletMining::kBatchAll, TripletMining::kBatchHard, TripletMining::kSemiHard, TripletMining::kHard})
      for (bool nonzero : {true, false}) {
        auto o = TripletOptions().similarity(sim).mining(mining).average_nonzero(nonzero).margin(
            sim == Similarity::kCosine ? 0.3 : 1.0);
        auto got = functional::mined_triplet_loss(e, labels, o).loss.item<double>();
        EXPECT_NEAR(got, reference_mined(e, y, o), 1e-10)
            << to_string(sim) << " " << to_string(mining) << " nonzero " << nonzero;
      }
}

TEST(Triplet, MinedGradientMatchesFiniteDifferences) {
  torch::manual_seed(12);
  auto e = torch::randn({6, 3}, torch::kDouble);
  auto labels = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kLong);
  for (auto mining : {TripletMining::kBatchAll, TripletMining::kBatchHard}) {
    auto o = TripletOptions().mining(mining).margin(0.5);
    expect_grad_matches_fd([&](const std::vector<at::Tensor>& x) { return functional::mined_triplet_loss(x[0], labels, o).loss; },
                           {e}, to_string(mining));
  }
}

TEST(Triplet, TwoViewTripletLabelsViewsBySample) {
  torch::manual_seed(13);
  auto z1 = torch::randn({5, 3}, torch::kDouble), z2 = torch::randn({5, 3}, torch::kDouble);
  auto ids = torch::arange(5, torch::kLong);
  for (auto mining : {TripletMining::kSemiHard, TripletMining::kBatchHard}) {
    auto o = TwoViewLossOptions().kind(TwoViewLoss::kTriplet).mining(mining).margin(0.4);
    auto got = functional::two_view_loss(z1, z2, {}, o);
    auto want = functional::mined_triplet_loss(torch::cat({z1, z2}), torch::cat({ids, ids}),
                                               TripletOptions().mining(mining).margin(0.4));
    EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(), 1e-12);
    EXPECT_DOUBLE_EQ(got.top1, want.top1);
  }
}

TEST(Triplet, NoTripletGivesZeroWithGraphAndAllActiveDiagnostics) {
  // Well separated classes: no negative lies in the semi-hard band.
  auto e = torch::tensor({{1.0, 0.0}, {1.0, 0.01}, {-1.0, 0.0}, {-1.0, 0.01}}, torch::kDouble)
               .requires_grad_();
  auto out = functional::mined_triplet_loss(e, torch::tensor({0, 0, 1, 1}, torch::kLong));
  EXPECT_EQ(out.loss.item<double>(), 0.0);
  EXPECT_EQ(out.active, 0.0);
  EXPECT_DOUBLE_EQ(out.top1, 1.0);
  out.loss.backward();
  EXPECT_TRUE(e.grad().defined());
}

TEST(Triplet, RejectsBadInput) {
  auto x = torch::ones({2, 3});
  expect_error([&] { functional::triplet_loss(x, x, torch::ones({3, 3})); },
               "triplet loss needs anchors, positives and negatives of equal shape [T, d], got [2, 3], [2, 3] and [3, 3]");
  expect_error([&] { functional::triplet_loss(x, x, x, TripletOptions().margin(-1)); },
               "loss.margin must be >= 0, got -1");
  auto nan = torch::full({2, 3}, std::numeric_limits<float>::quiet_NaN());
  expect_error([&] { functional::triplet_loss(nan, x, x); }, "triplet loss anchors contain NaN or Inf");
  expect_error([&] { functional::mined_triplet_loss(x, torch::tensor({0, -1}, torch::kLong)); },
               "triplet mining labels must be >= 0, got -1");
  expect_error([&] { functional::mined_triplet_loss(x, torch::tensor({0, 1, 2}, torch::kLong)); },
               "triplet mining labels must be int64 [N] with N = 2, got [3]");
  expect_error([] { triplet_mining_from_string("easy"); },
               "unknown triplet mining 'easy'; valid: batch_all, batch_hard, semi_hard, hard");
}
