#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "contra/core/error.h"
#include "contra/losses/nt_xent.h"
#include "contra/losses/similarity.h"
#include "contra/losses/supcon.h"

using namespace contra::losses;

namespace {

at::Tensor labels_of(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }

// L_out written out with loops: positives of anchor a are its partner and, if a's label is
// known, every other view with that label; the softmax runs over all other views.
double reference_supcon(const at::Tensor& z1, const at::Tensor& z2, const std::vector<int64_t>& y,
                        Similarity sim, double t) {
  auto z = torch::cat({z1, z2}, 0);
  auto s = functional::similarity_matrix(z, z, sim);
  const int64_t n = z1.size(0), m = 2 * n;
  double total = 0;
  for (int64_t a = 0; a < m; ++a) {
    double denom = 0;
    for (int64_t b = 0; b < m; ++b)
      if (b != a) denom += std::exp(s[a][b].item<double>() / t);
    double sum = 0;
    int count = 0;
    for (int64_t b = 0; b < m; ++b) {
      if (b == a) continue;
      const int64_t ya = y[a % n], yb = y[b % n];
      bool partner = b % n == a % n;
      bool same = ya != -1 && ya == yb;
      if (partner || same) {
        sum += std::log(std::exp(s[a][b].item<double>() / t) / denom);
        ++count;
      }
    }
    total += -sum / count;
  }
  return total / double(m);
}

using contra::test_support::expect_error;

}  // namespace

// Two samples of one class, cosine, t = 1: z1 = [(1,0), (0,1)], z2 = [(1,0), (0,-1)].
// Views v0 = (1,0), v1 = (0,1), v2 = (1,0), v3 = (0,-1); every other view is a positive.
// Anchor v0: sims to v1, v2, v3 = 0, 1, 0; denominator e + 2; mean positive logit 1/3:
//   loss0 = log(e + 2) - 1/3.  Anchor v2 mirrors it.
// Anchor v1: sims to v0, v2, v3 = 0, 0, -1; denominator 2 + e^-1; mean logit -1/3:
//   loss1 = log(2 + e^-1) + 1/3.  Anchor v3 mirrors it.
// Mean = (log(e + 2) + log(2 + e^-1)) / 2.
TEST(SupCon, MatchesHandWorkedExampleOneClass) {
  auto z1 = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  auto z2 = torch::tensor({{1.0, 0.0}, {0.0, -1.0}}, torch::kDouble);
  auto out = functional::supcon(z1, z2, labels_of({7, 7}), SupConOptions().temperature(1.0));
  double e = std::exp(1.0);
  EXPECT_NEAR(out.loss.item<double>(), (std::log(e + 2) + std::log(2 + 1 / e)) / 2, 1e-12);
  EXPECT_NEAR(out.positive_sim, 0.0, 1e-12);  // all 12 pairs: row sums 1, -1, 1, -1
  EXPECT_NEAR(out.negative_sim, 0.0, 1e-12);  // no negatives
}

// Mixed supervision, cosine, t = 1, labels {0, -1, 0}:
// z1 = [(1,0), (0,1), (1,0)], z2 = [(0,1), (1,0), (0,1)]: views v0..v5 alternate (1,0), (0,1).
// Every anchor has two other views equal to itself (sim 1) and three orthogonal (sim 0):
// denominator 2e + 3 for all six anchors.
// Labeled anchors (samples 0 and 2: v0, v2, v3, v5) have 3 positives (partner + both views of
// the other class-0 sample), exactly one of them with sim 1: loss = log(2e + 3) - 1/3.
// Unlabeled anchors (v1, v4) have only the partner, sim 0: loss = log(2e + 3).
// Mean = log(2e + 3) - (4/3) / 6 = log(2e + 3) - 2/9.
// Positive pairs: 4 * 3 + 2 = 14 with sim sum 4; negative pairs 30 - 14 = 16 with sim sum
// 12 - 4 = 8 (each anchor's sims to others sum to 2).
TEST(SupCon, MatchesHandWorkedExampleMixedLabels) {
  auto z1 = torch::tensor({{1.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}}, torch::kDouble);
  auto z2 = torch::tensor({{0.0, 1.0}, {1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  auto out = functional::supcon(z1, z2, labels_of({0, -1, 0}), SupConOptions().temperature(1.0));
  EXPECT_NEAR(out.loss.item<double>(), std::log(2 * std::exp(1.0) + 3) - 2.0 / 9, 1e-12);
  EXPECT_NEAR(out.positive_sim, 4.0 / 14, 1e-12);
  EXPECT_NEAR(out.negative_sim, 8.0 / 16, 1e-12);
}

TEST(SupCon, MatchesLoopReferenceWithMixedLabels) {
  torch::manual_seed(10);
  auto z1 = torch::randn({6, 3}, torch::kDouble), z2 = torch::randn({6, 3}, torch::kDouble);
  std::vector<int64_t> y = {2, -1, 2, 0, -1, 0};
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean}) {
    auto out = functional::supcon(z1, z2, labels_of(y), SupConOptions().temperature(0.5).similarity(sim));
    EXPECT_NEAR(out.loss.item<double>(), reference_supcon(z1, z2, y, sim, 0.5), 1e-10)
        << to_string(sim);
  }
}

// No labels (all -1), or all labels distinct: only the partner is a positive, which is NT-Xent.
TEST(SupCon, WithoutSharedLabelsEqualsNTXent) {
  torch::manual_seed(11);
  auto z1 = torch::randn({5, 4}, torch::kDouble), z2 = torch::randn({5, 4}, torch::kDouble);
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean}) {
    auto nt = functional::nt_xent(z1, z2, NTXentOptions().temperature(0.3).similarity(sim));
    auto opts = SupConOptions().temperature(0.3).similarity(sim);
    auto unlabeled = functional::supcon(z1, z2, labels_of({-1, -1, -1, -1, -1}), opts);
    EXPECT_NEAR(unlabeled.loss.item<double>(), nt.loss.item<double>(), 1e-10) << to_string(sim);
    EXPECT_NEAR(unlabeled.positive_sim, nt.positive_sim, 1e-10);
    EXPECT_NEAR(unlabeled.negative_sim, nt.negative_sim, 1e-10);
    EXPECT_NEAR(unlabeled.top1, nt.top1, 1e-6);  // NT-Xent averages top1 in float32
    auto distinct = functional::supcon(z1, z2, labels_of({0, 1, 2, -1, 3}), opts);
    EXPECT_NEAR(distinct.loss.item<double>(), nt.loss.item<double>(), 1e-10) << to_string(sim);
  }
}

// A known shared label changes the loss (those views move from negatives to positives), but an
// unlabeled sample's label -1 is never matched with another -1.
TEST(SupCon, SharedLabelsBecomePositives) {
  torch::manual_seed(12);
  auto z1 = torch::randn({4, 3}, torch::kDouble), z2 = torch::randn({4, 3}, torch::kDouble);
  auto opts = SupConOptions().temperature(0.5);
  double none = functional::supcon(z1, z2, labels_of({-1, -1, -1, -1}), opts).loss.item<double>();
  double shared = functional::supcon(z1, z2, labels_of({1, 1, -1, -1}), opts).loss.item<double>();
  EXPECT_GT(std::abs(none - shared), 1e-6);
  EXPECT_NEAR(shared, reference_supcon(z1, z2, {1, 1, -1, -1}, Similarity::kCosine, 0.5), 1e-10);
}

TEST(SupCon, GradientMatchesFiniteDifferences) {
  torch::manual_seed(13);
  auto y = labels_of({0, -1, 0, 1});
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean}) {
    auto z1 = torch::randn({4, 3}, torch::kDouble).requires_grad_();
    auto z2 = torch::randn({4, 3}, torch::kDouble).requires_grad_();
    auto opts = SupConOptions().temperature(0.5).similarity(sim);
    functional::supcon(z1, z2, y, opts).loss.backward();
    const double h = 1e-6;
    torch::NoGradGuard ng;
    for (int side = 0; side < 2; ++side) {
      auto g = (side == 0 ? z1 : z2).grad().clone();
      for (int64_t i = 0; i < 12; ++i) {
        auto p1 = z1.detach().clone(), p2 = z2.detach().clone();
        auto m1 = z1.detach().clone(), m2 = z2.detach().clone();
        (side == 0 ? p1 : p2).view(-1)[i] += h;
        (side == 0 ? m1 : m2).view(-1)[i] -= h;
        double fd = (functional::supcon(p1, p2, y, opts).loss.item<double>() -
                     functional::supcon(m1, m2, y, opts).loss.item<double>()) / (2 * h);
        EXPECT_NEAR(g.view(-1)[i].item<double>(), fd, 1e-6)
            << to_string(sim) << " side " << side << " element " << i;
      }
    }
  }
}

TEST(SupCon, StableAtLowTemperatureWithLargeLogits) {
  torch::manual_seed(14);
  auto z1 = (torch::randn({64, 16}) * 100).requires_grad_();
  auto z2 = (torch::randn({64, 16}) * 100).requires_grad_();
  auto y = torch::randint(-1, 4, {64}, torch::kLong);
  for (auto sim : {Similarity::kCosine, Similarity::kDot}) {
    auto out = functional::supcon(z1, z2, y, SupConOptions().temperature(0.01).similarity(sim));
    EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
    out.loss.backward();
    EXPECT_TRUE(torch::isfinite(z1.grad()).all().item<bool>());
    EXPECT_TRUE(torch::isfinite(z2.grad()).all().item<bool>());
    z1.mutable_grad() = torch::Tensor();
    z2.mutable_grad() = torch::Tensor();
  }
}

TEST(SupCon, RejectsBadInput) {
  auto z = torch::randn({4, 3});
  auto y = labels_of({0, 1, -1, 0});
  expect_error([&] { functional::supcon(z, z, y, SupConOptions().temperature(0)); },
               "loss.temperature must be > 0, got 0");
  expect_error([&] { functional::supcon(z, torch::randn({3, 3}), y); },
               "SupCon needs two [N, d] views of equal shape, got [4, 3] and [3, 3]");
  expect_error([&] { functional::supcon(z.slice(0, 0, 1), z.slice(0, 0, 1), labels_of({0})); },
               "SupCon needs at least 2 samples per batch, got 1");
  expect_error([&] { functional::supcon(z, z, labels_of({0, 1, 2})); },
               "SupCon labels must be [N] with N = 4 as the views [4, 3], got [3]");
  expect_error([&] { functional::supcon(z, z, y.to(torch::kInt)); },
               "SupCon labels must be int64, got Int");
  expect_error([&] { functional::supcon(z, z, labels_of({0, -2, 1, 1})); },
               "SupCon labels must be >= 0, or -1 for unlabeled, got -2");
  auto bad = z.clone();
  bad[0][0] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { functional::supcon(bad, z, y); }, "SupCon z1 contains NaN or Inf");
}
