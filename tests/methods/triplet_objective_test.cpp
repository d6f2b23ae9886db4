// Triplet mining (negatives/) wired to the triplet loss (losses/): brute-force references.
#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "../support/finite_difference.h"
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "contra/core/error.h"
#include "contra/methods/objective.h"

using namespace contra::methods;
using contra::losses::Similarity;
using contra::losses::TripletOptions;
using contra::negatives::TripletMinerOptions;
using contra::negatives::TripletMining;
using contra::test_support::expect_error;
using contra::test_support::expect_grad_matches_fd;

namespace {

// Brute force over every (a, p, n): the mined loss written as loops.
double reference_mined(const at::Tensor& e, const std::vector<int64_t>& y, TripletOptions o,
                       TripletMinerOptions mo) {
  auto s = contra::losses::functional::similarity_matrix(e, e, o.similarity());
  const int64_t n = e.size(0);
  auto S = [&](int64_t i, int64_t j) { return s[i][j].item<double>(); };
  std::vector<double> losses;
  for (int64_t a = 0; a < n; ++a) {
    if (mo.kind() == TripletMining::kBatchHard) {
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
        if (mo.kind() == TripletMining::kSemiHard) take = sn < sp && sn > sp - o.margin();
        if (mo.kind() == TripletMining::kHard) take = sn >= sp;
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

TEST(MinedTriplet, MinedLossMatchesBruteForceForEveryMiningAndSimilarity) {
  torch::manual_seed(11);
  auto e = torch::randn({8, 3}, torch::kDouble);
  std::vector<int64_t> y = {0, 0, 1, 1, 2, 2, 0, 1};
  auto labels = torch::tensor(y, torch::kLong);
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean})
    for (auto mining : {TripletMining::kBatchAll, TripletMining::kBatchHard, TripletMining::kSemiHard, TripletMining::kHard})
      for (bool nonzero : {true, false}) {
        const double margin = sim == Similarity::kCosine ? 0.3 : 1.0;
        auto o = TripletOptions().similarity(sim).average_nonzero(nonzero).margin(margin);
        auto m = TripletMinerOptions().kind(mining).margin(margin);
        auto got = mined_triplet_loss(e, labels, o, m).loss.item<double>();
        EXPECT_NEAR(got, reference_mined(e, y, o, m), 1e-10)
            << to_string(sim) << " " << to_string(mining) << " nonzero " << nonzero;
      }
}

TEST(MinedTriplet, MinedGradientMatchesFiniteDifferences) {
  torch::manual_seed(12);
  auto e = torch::randn({6, 3}, torch::kDouble);
  auto labels = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kLong);
  for (auto mining : {TripletMining::kBatchAll, TripletMining::kBatchHard}) {
    auto o = TripletOptions().margin(0.5);
    auto m = TripletMinerOptions().kind(mining).margin(0.5);
    expect_grad_matches_fd([&](const std::vector<at::Tensor>& x) { return mined_triplet_loss(x[0], labels, o, m).loss; },
                           {e}, to_string(mining));
  }
}

TEST(MinedTriplet, TwoViewTripletLabelsViewsBySample) {
  torch::manual_seed(13);
  auto z1 = torch::randn({5, 3}, torch::kDouble), z2 = torch::randn({5, 3}, torch::kDouble);
  auto ids = torch::arange(5, torch::kLong);
  for (auto mining : {TripletMining::kSemiHard, TripletMining::kBatchHard}) {
    auto o = TwoViewLossOptions().kind(TwoViewLoss::kTriplet).mining(mining).margin(0.4);
    auto got = two_view_loss(z1, z2, {}, o);
    auto want = mined_triplet_loss(torch::cat({z1, z2}), torch::cat({ids, ids}), TripletOptions().margin(0.4),
                                   TripletMinerOptions().kind(mining).margin(0.4));
    EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(), 1e-12);
    EXPECT_DOUBLE_EQ(got.top1, want.top1);
  }
}

TEST(MinedTriplet, NoTripletGivesZeroWithGraphAndAllActiveDiagnostics) {
  // Well separated classes: no negative lies in the semi-hard band.
  auto e = torch::tensor({{1.0, 0.0}, {1.0, 0.01}, {-1.0, 0.0}, {-1.0, 0.01}}, torch::kDouble)
               .requires_grad_();
  auto out = mined_triplet_loss(e, torch::tensor({0, 0, 1, 1}, torch::kLong), TripletOptions(),
                                TripletMinerOptions());
  EXPECT_EQ(out.loss.item<double>(), 0.0);
  EXPECT_EQ(out.active, 0.0);
  EXPECT_DOUBLE_EQ(out.top1, 1.0);
  out.loss.backward();
  EXPECT_TRUE(e.grad().defined());
}

TEST(MinedTriplet, RejectsBadInput) {
  using contra::negatives::mine_triplets;
  auto s = torch::ones({2, 2});
  expect_error([&] { mine_triplets(s, torch::tensor({0, -1}, torch::kLong)); },
               "triplet mining labels must be >= 0, got -1");
  expect_error([&] { mine_triplets(s, torch::tensor({0, 1, 2}, torch::kLong)); },
               "triplet mining labels must be int64 [N] with N = 2, got [3]");
  expect_error([&] { mine_triplets(torch::ones({2, 3}), torch::tensor({0, 1}, torch::kLong)); },
               "triplet mining needs a square similarity matrix [N, N] with N >= 2, got [2, 3]");
  expect_error([] { contra::negatives::triplet_mining_from_string("easy"); },
               "unknown triplet mining 'easy'; valid: batch_all, batch_hard, semi_hard, hard");
}
