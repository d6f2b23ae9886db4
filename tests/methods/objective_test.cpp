// The two-view objectives' wiring: negative samplers feeding InfoNCE, decoupled, triplet mining.
#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "../support/finite_difference.h"
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "contra/core/error.h"
#include "contra/losses/info_nce.h"
#include "contra/methods/objective.h"
#include "contra/negatives/sampling.h"

using namespace contra::methods;
using contra::losses::InfoNCEOptions;
using contra::losses::Similarity;
using contra::negatives::NegativeSampling;
using contra::negatives::NegativeSamplingOptions;
using contra::test_support::expect_error;
using contra::test_support::expect_grad_matches_fd;
namespace functional = contra::losses::functional;

namespace {

// -log(p / (p + sum n)) with similarities before temperature t.
double plain_loss(double s_pos, const std::vector<double>& s, double t) {
  double ng = 0;
  for (double x : s) ng += std::exp(x / t);
  return -std::log(std::exp(s_pos / t) / (std::exp(s_pos / t) + ng));
}

}  // namespace

// InfoNCE with mined negatives equals the plain formula over just the kept negatives.
TEST(SampledInfoNCE, HardestAndSemiHardMatchFormulaOverKeptNegatives) {
  torch::manual_seed(1);
  auto q = torch::randn({5, 3}, torch::kDouble), k = torch::randn({5, 3}, torch::kDouble);
  const double t = 0.5;
  auto s = functional::similarity_matrix(q, k, Similarity::kCosine);
  for (auto kind : {NegativeSampling::kHardest, NegativeSampling::kSemiHard, NegativeSampling::kThreshold}) {
    auto ns = NegativeSamplingOptions().kind(kind).num_negatives(2).margin(0.6).threshold(0.0);
    auto out = sampled_info_nce(q, k, InfoNCEOptions().temperature(t), ns);
    double total = 0;
    int active = 0;
    for (int64_t i = 0; i < 5; ++i) {
      std::vector<double> cand;
      for (int64_t j = 0; j < 5; ++j)
        if (j != i) cand.push_back(s[i][j].item<double>());
      auto mask = contra::negatives::select_negatives(torch::tensor(cand, torch::kDouble).unsqueeze(0),
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

TEST(SampledInfoNCE, QueriesWithoutNegativesLeaveTheLossWithFiniteGradients) {
  auto q = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble).requires_grad_();
  auto k = torch::tensor({{1.0, 0.0}, {0.0, -1.0}}, torch::kDouble);
  // Negatives have similarity 0: a threshold of 0.5 keeps none.
  auto out = sampled_info_nce(q, k, InfoNCEOptions().temperature(1).hard_beta(1.0),
                              NegativeSamplingOptions().kind(NegativeSampling::kThreshold).threshold(0.5));
  EXPECT_EQ(out.loss.item<double>(), 0.0);
  EXPECT_EQ(out.active, 0.0);
  out.loss.backward();
  EXPECT_TRUE(torch::isfinite(q.grad()).all().item<bool>());
}

TEST(SampledInfoNCE, KeepingAllNegativesEqualsNTXent) {
  torch::manual_seed(2);
  auto z1 = torch::randn({6, 4}, torch::kDouble), z2 = torch::randn({6, 4}, torch::kDouble);
  auto base = two_view_loss(z1, z2, {}, TwoViewLossOptions().temperature(0.3));
  for (auto kind : {NegativeSampling::kRandom, NegativeSampling::kHardest}) {
    auto o = TwoViewLossOptions().temperature(0.3).negatives(
        NegativeSamplingOptions().kind(kind).num_negatives(10));  // 2N - 2 = 10: all of them
    auto out = two_view_loss(z1, z2, {}, o);
    EXPECT_NEAR(out.loss.item<double>(), base.loss.item<double>(), 1e-12) << to_string(kind);
    EXPECT_NEAR(out.negative_sim, base.negative_sim, 1e-12);
    EXPECT_DOUBLE_EQ(out.top1, base.top1);
  }
}

TEST(SampledInfoNCE, GradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  auto q = torch::randn({4, 3}, torch::kDouble), k = torch::randn({4, 3}, torch::kDouble);
  auto o = InfoNCEOptions().temperature(0.5);
  auto ns = NegativeSamplingOptions().kind(NegativeSampling::kHardest).num_negatives(2);
  expect_grad_matches_fd([&](const std::vector<at::Tensor>& x) { return sampled_info_nce(x[0], x[1], o, ns).loss; },
                         {q, k}, "hardest-2 InfoNCE");
}

TEST(Decoupled, SymmetricTwoViewIsTheMeanOfBothDirections) {
  torch::manual_seed(5);
  auto z1 = torch::randn({5, 3}, torch::kDouble), z2 = torch::randn({5, 3}, torch::kDouble);
  auto o = InfoNCEOptions().temperature(0.5).in_batch_queries(true).decoupled(true);
  const double expect = (contra::losses::functional::info_nce(z1, z2, o).loss.item<double>() +
                         contra::losses::functional::info_nce(z2, z1, o).loss.item<double>()) / 2;
  auto out = two_view_loss(
      z1, z2, {}, TwoViewLossOptions().kind(TwoViewLoss::kDecoupled).temperature(0.5));
  EXPECT_NEAR(out.loss.item<double>(), expect, 1e-12);
  expect_error([] { contra::losses::functional::info_nce(torch::ones({2, 2}), torch::ones({2, 2}),
                                         InfoNCEOptions().decoupled(true).decoupled_sigma(-1)); },
               "loss.decoupled_sigma must be >= 0, got -1");
}
