// The conventions of the published reference implementations, offered as options, each checked
// against a value worked out by hand from the reference's formula:
//   - pytorch-metric-learning (PML): TripletMarginMiner "all" (= mining violating) and
//     "semihard" (= semi_hard with an inclusive band), LpDistance(normalize_embeddings=True)
//     (= triplet_normalize), MeanReducer vs AvgNonZeroReducer (= average_nonzero);
//   - triplet loss on class labels (supervised metric learning, PML's main use);
//   - HCL's full estimator, tau_plus and beta together (the authors' code, Robinson et al. 2021).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <torch/torch.h>

#include "contra/losses/triplet.h"
#include "contra/methods/objective.h"
#include "contra/negatives/triplets.h"

namespace {

using contra::losses::Similarity;
using contra::losses::TripletOptions;
using contra::methods::TwoViewLoss;
using contra::methods::TwoViewLossOptions;
using contra::negatives::TripletMinerOptions;
using contra::negatives::TripletMining;

torch::Tensor line_points(const std::vector<double>& x) {
  return torch::tensor(x, torch::kDouble).unsqueeze(1);
}

torch::Tensor class_ids(const std::vector<int64_t>& y) { return torch::tensor(y, torch::kLong); }

int64_t mined_count(const torch::Tensor& x, const torch::Tensor& y, const TripletMinerOptions& o) {
  auto s = contra::losses::functional::similarity_matrix(x, x, Similarity::kNegEuclidean);
  return contra::negatives::mine_triplets(s, y, o).anchor.numel();
}

// Points 0, 1 (class 0) and 1.1, 5 (class 1) on a line, margin 0.5, distance |a - b|.
// The 8 valid triplets' losses max(0, d_ap - d_an + 0.5), by anchor:
//   0: p=1 d_ap 1;   n=1.1 d 1.1 -> 0.4;  n=5 d 5 -> 0
//   1: p=0 d_ap 1;   n=1.1 d 0.1 -> 1.4;  n=5 d 4 -> 0
//   1.1: p=5 d_ap 3.9; n=0 d 1.1 -> 3.3;  n=1 d 0.1 -> 4.3
//   5: p=1.1 d_ap 3.9; n=0 d 5 -> 0;      n=1 d 4 -> 0.4
// PML's "all" keeps d_an - d_ap <= 0.5: the 5 triplets with non-zero loss (sum 9.8).
TEST(ReferenceConventions, ViolatingMiningIsPmlAll) {
  const auto x = line_points({0, 1, 1.1, 5});
  const auto y = class_ids({0, 0, 1, 1});
  const auto miner = TripletMinerOptions().margin(0.5);
  EXPECT_EQ(mined_count(x, y, TripletMinerOptions(miner).kind(TripletMining::kBatchAll)), 8);
  EXPECT_EQ(mined_count(x, y, TripletMinerOptions(miner).kind(TripletMining::kViolating)), 5);
  auto loss = [&](TripletMining kind, bool nonzero) {
    return contra::methods::mined_triplet_loss(
               x, y, TripletOptions().margin(0.5).similarity(Similarity::kNegEuclidean).average_nonzero(nonzero),
               TripletMinerOptions(miner).kind(kind))
        .loss.item<double>();
  };
  // PML: TripletMarginLoss(margin=0.5, reducer=MeanReducer()) with the "all" miner.
  EXPECT_NEAR(loss(TripletMining::kViolating, false), 9.8 / 5, 1e-12);
  EXPECT_NEAR(loss(TripletMining::kBatchAll, false), 9.8 / 8, 1e-12);  // contra's batch_all
  // PML's default AvgNonZeroReducer: the same for both.
  EXPECT_NEAR(loss(TripletMining::kViolating, true), 9.8 / 5, 1e-12);
  EXPECT_NEAR(loss(TripletMining::kBatchAll, true), 9.8 / 5, 1e-12);
}

// Points 0, 1 (class 0) and 3, 10 (class 1), margin 2 (every distance exact in binary):
//   anchor 0: p=1 d_ap 1, n=3 d_an 3: d_an - d_ap = 2 = margin (on the band's edge), loss 0
//   anchor 1: p=0 d_ap 1, n=3 d_an 2: 1, inside, loss 1
//   anchor 10: p=3 d_ap 7, n=1 d_an 9: 2 = margin, loss 0
// (the other triplets are hard or easy). FaceNet's strict band: 1 triplet; PML's semihard
// (0 < d_an - d_ap <= margin): 3.
TEST(ReferenceConventions, InclusiveSemiHardBandIsPmlSemihard) {
  const auto x = line_points({0, 1, 3, 10});
  const auto y = class_ids({0, 0, 1, 1});
  const auto miner = TripletMinerOptions().kind(TripletMining::kSemiHard).margin(2.0);
  EXPECT_EQ(mined_count(x, y, miner), 1);
  EXPECT_EQ(mined_count(x, y, TripletMinerOptions(miner).inclusive_band(true)), 3);
  const auto loss = TripletOptions().margin(2.0).similarity(Similarity::kNegEuclidean).average_nonzero(false);
  EXPECT_NEAR(contra::methods::mined_triplet_loss(x, y, loss, TripletMinerOptions(miner).inclusive_band(true))
                  .loss.item<double>(),
              1.0 / 3, 1e-12);
}

// a = (3, 4), p = (0, 2), n = (5, 0); normalised: (0.6, 0.8), (0, 1), (1, 0), so
// d_ap = sqrt(0.36 + 0.04) = sqrt(0.4), d_an = sqrt(0.16 + 0.64) = sqrt(0.8), and PML's
// TripletMarginLoss(margin=0.5) = sqrt(0.4) - sqrt(0.8) + 0.5. Raw: sqrt(13) - sqrt(20) + 0.5 < 0.
TEST(ReferenceConventions, NormalisedEmbeddingsArePmlDistance) {
  auto a = torch::tensor({{3.0, 4.0}}, torch::kDouble);
  auto p = torch::tensor({{0.0, 2.0}}, torch::kDouble);
  auto n = torch::tensor({{5.0, 0.0}}, torch::kDouble);
  const auto o = TripletOptions().margin(0.5).similarity(Similarity::kNegEuclidean);
  EXPECT_NEAR(contra::losses::functional::triplet_loss(a, p, n, TripletOptions(o).normalize(true)).loss.item<double>(),
              std::sqrt(0.4) - std::sqrt(0.8) + 0.5, 1e-12);
  EXPECT_EQ(contra::losses::functional::triplet_loss(a, p, n, o).loss.item<double>(), 0.0);
  // The mined objective normalises the same way.
  auto x = torch::cat({a, p, n});
  EXPECT_NEAR(contra::methods::mined_triplet_loss(x, class_ids({0, 0, 1}), TripletOptions(o).normalize(true),
                                                  TripletMinerOptions().kind(TripletMining::kBatchAll).margin(0.5))
                  .loss.item<double>(),
              // anchors a and p (each other's positive) against n: a as above; p: d_pa = sqrt(0.4),
              // d_pn = sqrt(2): sqrt(0.4) - sqrt(2) + 0.5 < 0. Average over the non-zero one.
              std::sqrt(0.4) - std::sqrt(0.8) + 0.5, 1e-12);
}

TEST(ReferenceConventions, TripletViewLabelsUseClassesWhereKnown) {
  const auto y = class_ids({2, -1, 0});
  const auto cpu = torch::Device(torch::kCPU);
  EXPECT_TRUE(torch::equal(contra::methods::triplet_view_labels(y, 3, true, cpu), class_ids({2, 4, 0, 2, 4, 0})));
  EXPECT_TRUE(torch::equal(contra::methods::triplet_view_labels(y, 3, false, cpu), class_ids({0, 1, 2, 0, 1, 2})));
}

// Two samples of one class: by sample each view has a negative (the other sample's views); by
// class all four views are positives of each other, so no triplet exists and the loss is 0.
TEST(ReferenceConventions, TripletWithClassLabelsTreatsTheClassAsPositives) {
  torch::manual_seed(0);
  auto z1 = torch::randn({2, 3}, torch::kDouble), z2 = torch::randn({2, 3}, torch::kDouble);
  const auto same_class = class_ids({5, 5});
  auto o = TwoViewLossOptions().kind(TwoViewLoss::kTriplet).mining(TripletMining::kBatchAll).margin(10.0);
  auto by_sample = contra::methods::two_view_loss(z1, z2, same_class, o);
  auto by_class = contra::methods::two_view_loss(z1, z2, same_class, TwoViewLossOptions(o).triplet_labels(true));
  EXPECT_GT(by_sample.loss.item<double>(), 0.0);
  EXPECT_EQ(by_class.loss.item<double>(), 0.0);
  EXPECT_EQ(by_class.active, 0.0);
}

// HCL's estimator as the authors' code writes it, for every one of the 2N views as anchor
// (cosine similarity, positive = the other view of its sample, negatives = the 2N - 2 others):
//   imp = exp(beta s_k / t); reweight = sum_k imp_k exp(s_k / t) / mean_k imp_k
//   Ng = max((-tau_plus Nneg pos + reweight) / (1 - tau_plus), Nneg e^{-1/t})
//   loss = mean(-log(pos / (pos + Ng))).
double hcl_reference(const torch::Tensor& z1, const torch::Tensor& z2, double t, double tau_plus,
                     double beta) {
  auto z = torch::nn::functional::normalize(torch::cat({z1, z2}),
                                            torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto s = torch::mm(z, z.t());
  const int64_t m = z.size(0), n = m / 2, nneg = m - 2;
  double total = 0;
  for (int64_t i = 0; i < m; ++i) {
    const int64_t j = (i + n) % m;
    const double pos = std::exp(s[i][j].item<double>() / t);
    double weighted = 0, imp_sum = 0;
    for (int64_t k = 0; k < m; ++k) {
      if (k == i || k == j) continue;
      const double sk = s[i][k].item<double>();
      const double imp = std::exp(beta * sk / t);
      weighted += imp * std::exp(sk / t);
      imp_sum += imp;
    }
    const double reweight = weighted / (imp_sum / double(nneg));
    const double ng = std::max((-tau_plus * double(nneg) * pos + reweight) / (1 - tau_plus),
                               double(nneg) * std::exp(-1 / t));
    total += -std::log(pos / (pos + ng));
  }
  return total / double(m);
}

TEST(ReferenceConventions, HclUsesTauPlusAndBetaTogether) {
  torch::manual_seed(3);
  auto z1 = torch::randn({4, 5}, torch::kDouble), z2 = torch::randn({4, 5}, torch::kDouble);
  const auto o = TwoViewLossOptions().kind(TwoViewLoss::kHCL).temperature(0.5).tau_plus(0.1).hard_beta(1.0);
  const double hcl = contra::methods::two_view_loss(z1, z2, {}, o).loss.item<double>();
  EXPECT_NEAR(hcl, hcl_reference(z1, z2, 0.5, 0.1, 1.0), 1e-12);
  // Not either estimator alone.
  const double debiased = contra::methods::two_view_loss(z1, z2, {}, TwoViewLossOptions(o).kind(TwoViewLoss::kDebiased))
                              .loss.item<double>();
  const double hard = contra::methods::two_view_loss(z1, z2, {}, TwoViewLossOptions(o).kind(TwoViewLoss::kHardNegative))
                          .loss.item<double>();
  EXPECT_NEAR(debiased, hcl_reference(z1, z2, 0.5, 0.1, 0.0), 1e-12);
  EXPECT_NEAR(hard, hcl_reference(z1, z2, 0.5, 0.0, 1.0), 1e-12);
  EXPECT_GT(std::abs(hcl - debiased), 1e-3);
  EXPECT_GT(std::abs(hcl - hard), 1e-3);
}

}  // namespace
