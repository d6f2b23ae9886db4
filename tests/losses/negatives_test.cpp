// Negative sampling (random, hardest, threshold, semi-hard) and the decoupled contrastive loss,
// both as InfoNCE options and through the two-view objectives.
#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "../support/finite_difference.h"
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "contra/core/error.h"
#include "contra/losses/info_nce.h"
#include "contra/losses/negatives.h"
#include "contra/losses/two_view.h"

using namespace contra::losses;
using contra::test_support::expect_error;
using contra::test_support::expect_grad_matches_fd;

namespace {

std::vector<bool> row(const at::Tensor& mask, int64_t i) {
  std::vector<bool> r;
  for (int64_t j = 0; j < mask.size(1); ++j) r.push_back(mask[i][j].item<bool>());
  return r;
}

// One query: positive similarity 0.7, candidates 0.9, 0.1, 0.5, -0.2.
at::Tensor hand_neg() { return torch::tensor({{0.9, 0.1, 0.5, -0.2}}, torch::kDouble); }
at::Tensor hand_pos() { return torch::tensor({0.7}, torch::kDouble); }

// -log(p / (p + sum n)) with similarities before temperature t.
double plain_loss(double s_pos, const std::vector<double>& s, double t) {
  double ng = 0;
  for (double x : s) ng += std::exp(x / t);
  return -std::log(std::exp(s_pos / t) / (std::exp(s_pos / t) + ng));
}

}  // namespace

TEST(NegativeSampling, HandWorkedSelections) {
  using K = NegativeSampling;
  auto sel = [](NegativeSamplingOptions o) {
    return row(functional::select_negatives(hand_neg(), hand_pos(), o), 0);
  };
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kAll)), (std::vector<bool>{1, 1, 1, 1}));
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kHardest).num_negatives(1)),
            (std::vector<bool>{1, 0, 0, 0}));
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kHardest).num_negatives(2)),
            (std::vector<bool>{1, 0, 1, 0}));
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kHardest).num_negatives(99)),
            (std::vector<bool>{1, 1, 1, 1}));
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kThreshold).threshold(0.3)),
            (std::vector<bool>{1, 0, 1, 0}));
  // Semi-hard band (0.7 - 0.3, 0.7) = (0.4, 0.7): only 0.5.
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kSemiHard).margin(0.3)),
            (std::vector<bool>{0, 0, 1, 0}));
}

TEST(NegativeSampling, RandomKeepsExactlyKUniformlyAndReproducibly) {
  auto neg = torch::zeros({4000, 5}, torch::kDouble);
  auto pos = torch::zeros({4000}, torch::kDouble);
  auto o = NegativeSamplingOptions().kind(NegativeSampling::kRandom).num_negatives(2);
  torch::manual_seed(7);
  auto m = functional::select_negatives(neg, pos, o);
  EXPECT_TRUE(m.sum(1).eq(2).all().item<bool>());
  auto freq = m.to(torch::kDouble).mean(0);  // each column kept with probability 2/5
  for (int64_t j = 0; j < 5; ++j) EXPECT_NEAR(freq[j].item<double>(), 0.4, 0.03) << j;
  torch::manual_seed(7);
  EXPECT_TRUE(functional::select_negatives(neg, pos, o).equal(m));
}

TEST(NegativeSampling, NamesRoundTripAndBadOptionsAreRejected) {
  for (auto k : {NegativeSampling::kAll, NegativeSampling::kRandom, NegativeSampling::kHardest,
                 NegativeSampling::kThreshold, NegativeSampling::kSemiHard})
    EXPECT_EQ(negative_sampling_from_string(to_string(k)), k);
  expect_error([] { negative_sampling_from_string("easy"); },
               "unknown negative sampling 'easy'; valid: all, random, hardest, threshold, semi_hard");
  expect_error([] { functional::validate(NegativeSamplingOptions().num_negatives(0)); },
               "loss.num_negatives must be >= 1, got 0");
  expect_error([] { functional::validate(NegativeSamplingOptions().margin(0)); },
               "loss.margin must be > 0, got 0");
  expect_error(
      [] {
        functional::select_negatives(torch::zeros({2, 3}), torch::zeros({3}), NegativeSamplingOptions());
      },
      "negative sampling needs similarities [N, K] and positives [N], got [2, 3] and [3]");
}

// InfoNCE with mined negatives equals the plain formula over just the kept negatives.
TEST(InfoNCESampling, HardestAndSemiHardMatchFormulaOverKeptNegatives) {
  torch::manual_seed(1);
  auto q = torch::randn({5, 3}, torch::kDouble), k = torch::randn({5, 3}, torch::kDouble);
  const double t = 0.5;
  auto s = functional::similarity_matrix(q, k, Similarity::kCosine);
  for (auto kind : {NegativeSampling::kHardest, NegativeSampling::kSemiHard, NegativeSampling::kThreshold}) {
    auto ns = NegativeSamplingOptions().kind(kind).num_negatives(2).margin(0.6).threshold(0.0);
    auto out = functional::info_nce(q, k, InfoNCEOptions().temperature(t).negatives(ns));
    double total = 0;
    int active = 0;
    for (int64_t i = 0; i < 5; ++i) {
      std::vector<double> cand;
      for (int64_t j = 0; j < 5; ++j)
        if (j != i) cand.push_back(s[i][j].item<double>());
      auto mask = functional::select_negatives(torch::tensor(cand, torch::kDouble).unsqueeze(0),
                                               s[i][i].unsqueeze(0), ns);
      std::vector<double> kept;
      for (size_t j = 0; j < cand.size(); ++j)
        if (mask[0][j].item<bool>()) kept.push_back(cand[j]);
      if (kept.empty()) continue;
      total += plain_loss(s[i][i].item<double>(), kept, t);
      ++active;
    }
    ASSERT_GT(active, 0) << to_string(kind);
    EXPECT_NEAR(out.loss.item<double>(), total / active, 1e-12) << to_string(kind);
    EXPECT_DOUBLE_EQ(out.active, active / 5.0) << to_string(kind);
  }
}

TEST(InfoNCESampling, QueriesWithoutNegativesLeaveTheLossWithFiniteGradients) {
  auto q = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble).requires_grad_();
  auto k = torch::tensor({{1.0, 0.0}, {0.0, -1.0}}, torch::kDouble);
  // Negatives have similarity 0: a threshold of 0.5 keeps none.
  auto o = InfoNCEOptions().temperature(1).negatives(
      NegativeSamplingOptions().kind(NegativeSampling::kThreshold).threshold(0.5));
  auto out = functional::info_nce(q, k, o.hard_beta(1.0));
  EXPECT_EQ(out.loss.item<double>(), 0.0);
  EXPECT_EQ(out.active, 0.0);
  out.loss.backward();
  EXPECT_TRUE(torch::isfinite(q.grad()).all().item<bool>());
}

TEST(InfoNCESampling, KeepingAllNegativesEqualsNTXent) {
  torch::manual_seed(2);
  auto z1 = torch::randn({6, 4}, torch::kDouble), z2 = torch::randn({6, 4}, torch::kDouble);
  auto base = functional::two_view_loss(z1, z2, {}, TwoViewLossOptions().temperature(0.3));
  for (auto kind : {NegativeSampling::kRandom, NegativeSampling::kHardest}) {
    auto o = TwoViewLossOptions().temperature(0.3).negatives(
        NegativeSamplingOptions().kind(kind).num_negatives(10));  // 2N - 2 = 10: all of them
    auto out = functional::two_view_loss(z1, z2, {}, o);
    EXPECT_NEAR(out.loss.item<double>(), base.loss.item<double>(), 1e-12) << to_string(kind);
    EXPECT_NEAR(out.negative_sim, base.negative_sim, 1e-12);
    EXPECT_DOUBLE_EQ(out.top1, base.top1);
  }
}

TEST(InfoNCESampling, GradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  auto q = torch::randn({4, 3}, torch::kDouble), k = torch::randn({4, 3}, torch::kDouble);
  auto o = InfoNCEOptions().temperature(0.5).negatives(
      NegativeSamplingOptions().kind(NegativeSampling::kHardest).num_negatives(2));
  expect_grad_matches_fd([&](const std::vector<at::Tensor>& x) { return functional::info_nce(x[0], x[1], o).loss; },
                         {q, k}, "hardest-2 InfoNCE");
}

// Decoupled: one query, positive similarity 1, negatives 0 and 0, t = 1:
//   DCL = -1 + log(e^0 + e^0) = log 2 - 1 (the positive is not in the denominator).
TEST(Decoupled, MatchesHandWorkedExample) {
  auto q = torch::tensor({{1.0, 0.0}}, torch::kDouble);
  auto k = torch::tensor({{1.0, 0.0}}, torch::kDouble);
  auto bank = torch::tensor({{0.0, 1.0}, {0.0, -1.0}}, torch::kDouble);
  auto o = InfoNCEOptions().temperature(1).in_batch(false).decoupled(true);
  EXPECT_NEAR(functional::info_nce(q, k, o, bank).loss.item<double>(), std::log(2.0) - 1, 1e-12);
}

// DCLW: w_i = 2 - N softmax(s+/sigma)_i multiplies the positive term.
TEST(Decoupled, WeightedMatchesDirectFormula) {
  torch::manual_seed(4);
  auto q = torch::randn({4, 3}, torch::kDouble), k = torch::randn({4, 3}, torch::kDouble);
  const double t = 0.2, sigma = 0.5;
  auto o = InfoNCEOptions().temperature(t).decoupled(true).decoupled_sigma(sigma);
  auto s = functional::similarity_matrix(q, k, Similarity::kCosine);
  double z = 0;
  for (int64_t i = 0; i < 4; ++i) z += std::exp(s[i][i].item<double>() / sigma);
  double total = 0;
  for (int64_t i = 0; i < 4; ++i) {
    const double w = 2 - std::exp(s[i][i].item<double>() / sigma) / (z / 4);
    double ng = 0;
    for (int64_t j = 0; j < 4; ++j)
      if (j != i) ng += std::exp(s[i][j].item<double>() / t);
    total += -w * s[i][i].item<double>() / t + std::log(ng);
  }
  EXPECT_NEAR(functional::info_nce(q, k, o).loss.item<double>(), total / 4, 1e-12);
  auto plain = InfoNCEOptions().temperature(t).decoupled(true);
  expect_grad_matches_fd([&](const std::vector<at::Tensor>& x) { return functional::info_nce(x[0], x[1], plain).loss; },
                         {q, k}, "DCL");
}

TEST(Decoupled, SymmetricTwoViewIsTheMeanOfBothDirections) {
  torch::manual_seed(5);
  auto z1 = torch::randn({5, 3}, torch::kDouble), z2 = torch::randn({5, 3}, torch::kDouble);
  auto o = InfoNCEOptions().temperature(0.5).in_batch_queries(true).decoupled(true);
  const double expect = (functional::info_nce(z1, z2, o).loss.item<double>() +
                         functional::info_nce(z2, z1, o).loss.item<double>()) / 2;
  auto out = functional::two_view_loss(
      z1, z2, {}, TwoViewLossOptions().kind(TwoViewLoss::kDecoupled).temperature(0.5));
  EXPECT_NEAR(out.loss.item<double>(), expect, 1e-12);
  expect_error([] { functional::info_nce(torch::ones({2, 2}), torch::ones({2, 2}),
                                         InfoNCEOptions().decoupled(true).decoupled_sigma(-1)); },
               "loss.decoupled_sigma must be >= 0, got -1");
}
