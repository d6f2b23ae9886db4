#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include <torch/torch.h>

#include <cmath>

#include "contra/core/error.h"
#include "contra/losses/nt_xent.h"
#include "contra/losses/similarity.h"

using namespace contra::losses;

TEST(Similarity, MatchesHandComputedValues) {
  auto a = torch::tensor({{3.0, 4.0}, {1.0, 0.0}}, torch::kDouble);
  auto b = torch::tensor({{0.0, 2.0}}, torch::kDouble);
  auto cos = functional::similarity_matrix(a, b, Similarity::kCosine);
  EXPECT_NEAR(cos[0][0].item<double>(), 0.8, 1e-12);
  EXPECT_NEAR(cos[1][0].item<double>(), 0.0, 1e-12);
  auto dot = functional::similarity_matrix(a, b, Similarity::kDot);
  EXPECT_NEAR(dot[0][0].item<double>(), 8.0, 1e-12);
  auto euc = functional::similarity_matrix(a, b, Similarity::kNegSquaredEuclidean);
  EXPECT_NEAR(euc[0][0].item<double>(), -(9.0 + 4.0), 1e-12);
  EXPECT_NEAR(euc[1][0].item<double>(), -(1.0 + 4.0), 1e-12);
  auto l2 = functional::similarity_matrix(a, b, Similarity::kNegEuclidean);
  EXPECT_NEAR(l2[0][0].item<double>(), -std::sqrt(13.0), 1e-12);
  EXPECT_NEAR(l2[1][0].item<double>(), -std::sqrt(5.0), 1e-12);
}

TEST(Similarity, NamesRoundTripAndUnknownIsRejected) {
  for (auto k : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean})
    EXPECT_EQ(similarity_from_string(to_string(k)), k);
  try {
    similarity_from_string("manhattan");
    FAIL();
  } catch (const contra::Error& e) {
    EXPECT_STREQ(e.what(), "unknown similarity 'manhattan'; valid: cosine, dot, euclidean, l2");
  }
}

// Two samples in 2-D, hand-worked: z1 = [(1,0), (0,1)], z2 = [(1,0), (0,-1)], cosine, t = 1.
// Anchor 0 (1,0): positive z2[0] sim 1; negatives z1[1] sim 0, z2[1] sim 0.
//   loss0 = -log(e^1 / (e^1 + 1 + 1)).
// Anchor 1 (0,1): positive z2[1] sim -1; negatives z1[0] 0, z2[0] 0: loss1 = -log(e^-1/(e^-1+2)).
// Anchor 2 (z2[0]) mirrors anchor 0; anchor 3 (z2[1]) mirrors anchor 1.
TEST(NTXent, MatchesHandWorkedExample) {
  auto z1 = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  auto z2 = torch::tensor({{1.0, 0.0}, {0.0, -1.0}}, torch::kDouble);
  auto out = functional::nt_xent(z1, z2, NTXentOptions().temperature(1.0));
  double e = std::exp(1.0), ei = std::exp(-1.0);
  double l0 = -std::log(e / (e + 2)), l1 = -std::log(ei / (ei + 2));
  EXPECT_NEAR(out.loss.item<double>(), (l0 + l1) / 2, 1e-12);
  EXPECT_NEAR(out.positive_sim, 0.0, 1e-12);  // (1 + -1 + 1 + -1) / 4
  EXPECT_NEAR(out.negative_sim, 0.0, 1e-12);
  EXPECT_NEAR(out.top1, 0.5, 1e-12);  // anchors 0 and 2 rank their positive first
}

TEST(NTXent, TemperatureScalesLogits) {
  torch::manual_seed(0);
  auto z1 = torch::randn({5, 3}, torch::kDouble), z2 = torch::randn({5, 3}, torch::kDouble);
  // Dot similarity with temperature t equals dot on z/sqrt(t) at temperature 1.
  auto a = functional::nt_xent(z1, z2, NTXentOptions().temperature(0.25).similarity(Similarity::kDot));
  auto b = functional::nt_xent(z1 * 2, z2 * 2, NTXentOptions().temperature(1).similarity(Similarity::kDot));
  EXPECT_NEAR(a.loss.item<double>(), b.loss.item<double>(), 1e-10);
}

TEST(NTXent, GradientMatchesFiniteDifferences) {
  torch::manual_seed(1);
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean}) {
    auto z1 = torch::randn({4, 3}, torch::kDouble).requires_grad_();
    auto z2 = torch::randn({4, 3}, torch::kDouble).requires_grad_();
    auto opts = NTXentOptions().temperature(0.5).similarity(sim);
    functional::nt_xent(z1, z2, opts).loss.backward();
    auto g = z1.grad().clone();
    const double h = 1e-6;
    torch::NoGradGuard ng;
    for (int64_t i = 0; i < z1.numel(); ++i) {
      auto zp = z1.detach().clone(), zm = z1.detach().clone();
      zp.view(-1)[i] += h;
      zm.view(-1)[i] -= h;
      double fd = (functional::nt_xent(zp, z2.detach(), opts).loss.item<double>() -
                   functional::nt_xent(zm, z2.detach(), opts).loss.item<double>()) / (2 * h);
      EXPECT_NEAR(g.view(-1)[i].item<double>(), fd, 1e-6) << to_string(sim) << " element " << i;
    }
  }
}

TEST(NTXent, StableAtLowTemperatureWithLargeLogits) {
  torch::manual_seed(2);
  auto z1 = (torch::randn({64, 16}) * 100).requires_grad_();
  auto z2 = (torch::randn({64, 16}) * 100).requires_grad_();
  for (auto sim : {Similarity::kCosine, Similarity::kDot}) {
    auto out = functional::nt_xent(z1, z2, NTXentOptions().temperature(0.01).similarity(sim));
    EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
    out.loss.backward();
    EXPECT_TRUE(torch::isfinite(z1.grad()).all().item<bool>());
    z1.mutable_grad() = torch::Tensor();
  }
}

TEST(NTXent, RejectsBadInput) {
  auto z = torch::randn({4, 3});
  using contra::test_support::expect_error;
  expect_error([&] { functional::nt_xent(z, z, NTXentOptions().temperature(0)); },
               "loss.temperature must be > 0, got 0");
  expect_error([&] { functional::nt_xent(z, torch::randn({3, 3})); }, "equal shape");
  expect_error([&] { functional::nt_xent(z.slice(0, 0, 1), z.slice(0, 0, 1)); },
               "at least 2 samples");
}

TEST(NTXent, RowsOfAPartitionAverageToTheWholeLoss) {
  // Three "processes" scoring samples [0, 2), [2, 4), [4, 6): the mean of their losses and of
  // their gradients is the whole batch's, for every similarity; each part's diagnostics are its
  // anchors' alone.
  torch::manual_seed(3);
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean}) {
    auto z1 = torch::randn({6, 5}, torch::kDouble), z2 = torch::randn({6, 5}, torch::kDouble);
    auto opts = NTXentOptions().temperature(0.3).similarity(sim);
    auto a1 = z1.clone().requires_grad_(true), a2 = z2.clone().requires_grad_(true);
    auto whole = functional::nt_xent(a1, a2, opts);
    whole.loss.backward();
    auto b1 = z1.clone().requires_grad_(true), b2 = z2.clone().requires_grad_(true);
    at::Tensor sum = torch::zeros({}, torch::kDouble);
    double top1 = 0;
    for (int64_t r = 0; r < 3; ++r) {
      auto part = functional::nt_xent_rows(b1, b2, 2 * r, 2 * r + 2, opts);
      sum = sum + part.loss;
      top1 += part.top1 / 3;
    }
    (sum / 3).backward();
    EXPECT_NEAR((sum / 3).item<double>(), whole.loss.item<double>(), 1e-12);
    EXPECT_NEAR(top1, whole.top1, 1e-12);
    EXPECT_TRUE(torch::allclose(b1.grad(), a1.grad(), 1e-10, 1e-12));
    EXPECT_TRUE(torch::allclose(b2.grad(), a2.grad(), 1e-10, 1e-12));
  }
  auto z = torch::randn({4, 3});
  contra::test_support::expect_error([&] { functional::nt_xent_rows(z, z, 2, 2); },
                                     "anchor samples [2, 2) must be a non-empty range");
  contra::test_support::expect_error([&] { functional::nt_xent_rows(z, z, 3, 5); },
                                     "within [0, 4)");
}
