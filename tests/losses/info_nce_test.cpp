#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "../support/finite_difference.h"
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "contra/core/error.h"
#include "contra/losses/info_nce.h"
#include "contra/losses/nt_xent.h"
#include "contra/losses/similarity.h"

using namespace contra::losses;

namespace {

using Cfgs = std::vector<std::pair<double, double>>;  // (tau_plus, beta)
const double kE = std::exp(1.0), kEi = std::exp(-1.0);

// The papers' estimator written out directly (no log space), for one query: positive similarity
// s_pos, negative similarities s (before temperature). Floor only when tau_plus > 0.
double reference_loss(double s_pos, const std::vector<double>& s, double t, double tau_plus,
                      double beta) {
  const double k = double(s.size());
  const double p = std::exp(s_pos / t);
  double mean_imp = 0;
  for (double x : s) mean_imp += std::exp(beta * x / t) / k;
  double mean_wn = 0;
  for (double x : s) mean_wn += std::exp(beta * x / t) / mean_imp * std::exp(x / t) / k;
  double ng = k * mean_wn;
  if (tau_plus > 0) ng = k * std::max((mean_wn - tau_plus * p) / (1 - tau_plus), std::exp(-1 / t));
  return -std::log(p / (p + ng));
}

// Mean of reference_loss over queries; negatives = other keys (in-batch) followed by the bank.
double reference_mean(const at::Tensor& q, const at::Tensor& k, const at::Tensor& bank,
                      Similarity sim, double t, double tau_plus, double beta) {
  auto s = functional::similarity_matrix(q, k, sim);
  auto sb = bank.defined() ? functional::similarity_matrix(q, bank, sim) : at::Tensor();
  const int64_t n = q.size(0);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> negs;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) negs.push_back(s[i][j].item<double>());
    if (sb.defined())
      for (int64_t j = 0; j < sb.size(1); ++j) negs.push_back(sb[i][j].item<double>());
    total += reference_loss(s[i][i].item<double>(), negs, t, tau_plus, beta);
  }
  return total / double(n);
}

using contra::test_support::expect_error;
using contra::test_support::expect_grad_matches_fd;

// Two queries in 2-D, cosine, t = 1: q = [(1,0), (0,1)], keys k = [(1,0), (0,-1)].
//   sim(q, k) = [[1, 0], [0, -1]]: positives 1 and -1, in-batch negatives 0 and 0.
at::Tensor hand_q() { return torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble); }
at::Tensor hand_k() { return torch::tensor({{1.0, 0.0}, {0.0, -1.0}}, torch::kDouble); }
// Bank [(-1,0)]: sim with q0 is -1, with q1 is 0.
at::Tensor hand_bank() { return torch::tensor({{-1.0, 0.0}}, torch::kDouble); }

}  // namespace

// Query 0: p = e^1, one negative e^0: loss0 = -log(e / (e + 1)).
// Query 1: p = e^-1, one negative e^0: loss1 = -log(e^-1 / (e^-1 + 1)).
TEST(InfoNCE, MatchesHandWorkedExample) {
  auto opts = InfoNCEOptions().temperature(1.0);
  auto out = functional::info_nce(hand_q(), hand_k(), opts);
  double l0 = -std::log(kE / (kE + 1)), l1 = -std::log(kEi / (kEi + 1));
  EXPECT_NEAR(out.loss.item<double>(), (l0 + l1) / 2, 1e-12);
  EXPECT_NEAR(out.positive_sim, 0.0, 1e-12);  // (1 + -1) / 2
  EXPECT_NEAR(out.negative_sim, 0.0, 1e-12);  // (0 + 0) / 2
  EXPECT_NEAR(out.top1, 0.5, 1e-12);          // query 0 ranks its positive first, query 1 not

  auto none = functional::info_nce(hand_q(), hand_k(), opts.reduction(Reduction::kNone)).loss;
  ASSERT_EQ(none.dim(), 1);
  ASSERT_EQ(none.size(0), 2);
  EXPECT_NEAR(none[0].item<double>(), l0, 1e-12);
  EXPECT_NEAR(none[1].item<double>(), l1, 1e-12);
  auto sum = functional::info_nce(hand_q(), hand_k(), opts.reduction(Reduction::kSum)).loss;
  EXPECT_NEAR(sum.item<double>(), l0 + l1, 1e-12);
}

// Adding the bank [(-1,0)]: query 0 gains a negative e^-1, query 1 a negative e^0.
//   loss0 = -log(e / (e + 1 + e^-1)), loss1 = -log(e^-1 / (e^-1 + 1 + 1)).
// Without in-batch negatives only the bank is left:
//   loss0 = -log(e / (e + e^-1)), loss1 = -log(e^-1 / (e^-1 + 1)).
TEST(InfoNCE, BankNegativesMatchHandWorkedExample) {
  auto opts = InfoNCEOptions().temperature(1.0);
  auto out = functional::info_nce(hand_q(), hand_k(), opts, hand_bank());
  double l0 = -std::log(kE / (kE + 1 + kEi)), l1 = -std::log(kEi / (kEi + 2));
  EXPECT_NEAR(out.loss.item<double>(), (l0 + l1) / 2, 1e-12);
  EXPECT_NEAR(out.negative_sim, -0.25, 1e-12);  // (0 + -1 + 0 + 0) / 4

  auto bank_only = functional::info_nce(hand_q(), hand_k(), opts.in_batch(false), hand_bank());
  double b0 = -std::log(kE / (kE + kEi)), b1 = -std::log(kEi / (kEi + 1));
  EXPECT_NEAR(bank_only.loss.item<double>(), (b0 + b1) / 2, 1e-12);
}

// Debiased, t = 1, in-batch only (Nneg = 1, the negative is e^0 = 1 for both queries):
//   Ng = max((1 - tau p) / (1 - tau), e^-1).
// tau = 0.1: q0: (1 - 0.1 e) / 0.9 = 0.809 > e^-1; q1: (1 - 0.1 e^-1) / 0.9 = 1.070 > e^-1.
// tau = 0.5: q0: (1 - 0.5 e) / 0.5 = 2 - e < 0, so the floor e^-1 holds; q1: 2 - e^-1.
TEST(InfoNCE, DebiasedMatchesHandWorkedExample) {
  auto opts = InfoNCEOptions().temperature(1.0).reduction(Reduction::kNone);
  auto l = functional::info_nce(hand_q(), hand_k(), opts.debias_tau_plus(0.1)).loss;
  double ng0 = (1 - 0.1 * kE) / 0.9, ng1 = (1 - 0.1 * kEi) / 0.9;
  EXPECT_NEAR(l[0].item<double>(), -std::log(kE / (kE + ng0)), 1e-12);
  EXPECT_NEAR(l[1].item<double>(), -std::log(kEi / (kEi + ng1)), 1e-12);

  l = functional::info_nce(hand_q(), hand_k(), opts.debias_tau_plus(0.5)).loss;
  EXPECT_NEAR(l[0].item<double>(), -std::log(kE / (kE + kEi)), 1e-12);  // floored
  EXPECT_NEAR(l[1].item<double>(), -std::log(kEi / (kEi + 2 - kEi)), 1e-12);
}

// Hard weighting, beta = 1, t = 1, in-batch + bank (Nneg = 2):
// q0: n = {e^0, e^-1}, w = n / mean(n), so mean(w n) = mean(n^2) / mean(n)
//     = (1 + e^-2) / (1 + e^-1); Ng = 2 (1 + e^-2) / (1 + e^-1).
// q1: n = {1, 1}, w = 1, Ng = 2: loss1 = -log(e^-1 / (e^-1 + 2)).
TEST(InfoNCE, HardWeightedMatchesHandWorkedExample) {
  auto opts = InfoNCEOptions().temperature(1.0).reduction(Reduction::kNone).hard_beta(1.0);
  auto l = functional::info_nce(hand_q(), hand_k(), opts, hand_bank()).loss;
  double ng0 = 2 * (1 + std::exp(-2.0)) / (1 + kEi);
  EXPECT_NEAR(l[0].item<double>(), -std::log(kE / (kE + ng0)), 1e-12);
  EXPECT_NEAR(l[1].item<double>(), -std::log(kEi / (kEi + 2)), 1e-12);
}

// Random inputs vs the estimator written out directly (reference_loss), all similarities.
TEST(InfoNCE, DebiasedAndHardMatchDirectFormula) {
  torch::manual_seed(3);
  auto q = torch::randn({5, 3}, torch::kDouble), k = torch::randn({5, 3}, torch::kDouble);
  auto bank = torch::randn({4, 3}, torch::kDouble);
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean}) {
    for (auto [tau, beta] : Cfgs{{0.0, 0.0}, {0.1, 0.0}, {0.0, 0.7}, {0.2, 1.5}}) {
      auto opts = InfoNCEOptions().temperature(0.5).similarity(sim).debias_tau_plus(tau).hard_beta(beta);
      double got = functional::info_nce(q, k, opts, bank).loss.item<double>();
      EXPECT_NEAR(got, reference_mean(q, k, bank, sim, 0.5, tau, beta), 1e-10)
          << to_string(sim) << " tau " << tau << " beta " << beta;
    }
  }
}

// tau_plus = 0 and beta = 0 are plain InfoNCE (cross-entropy over [positive, negatives]) for
// every similarity, including euclidean whose logits sit far below the floor e^-1/t; and the
// estimator is continuous there (tiny tau_plus / beta move the loss by less than 1e-10).
TEST(InfoNCE, ZeroDebiasAndZeroHardEqualPlainInfoNCE) {
  torch::manual_seed(4);
  auto q = torch::randn({6, 4}, torch::kDouble), k = torch::randn({6, 4}, torch::kDouble);
  auto bank = torch::randn({3, 4}, torch::kDouble);
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean}) {
    const double t = 0.2;
    auto logits = torch::cat({functional::similarity_matrix(q, k, sim),
                              functional::similarity_matrix(q, bank, sim)}, 1) / t;
    auto plain = torch::nll_loss(torch::log_softmax(logits, 1), torch::arange(6)).item<double>();
    auto opts = InfoNCEOptions().temperature(t).similarity(sim);
    EXPECT_NEAR(functional::info_nce(q, k, opts, bank).loss.item<double>(), plain, 1e-10)
        << to_string(sim);
    EXPECT_NEAR(functional::info_nce(q, k, InfoNCEOptions(opts).debias_tau_plus(0).hard_beta(0),
                                     bank).loss.item<double>(), plain, 1e-10);
    if (sim == Similarity::kCosine)  // floor inactive for cosine: continuity in tau_plus
      EXPECT_NEAR(functional::info_nce(q, k, InfoNCEOptions(opts).debias_tau_plus(1e-13), bank)
                      .loss.item<double>(), plain, 1e-10);
    EXPECT_NEAR(functional::info_nce(q, k, InfoNCEOptions(opts).hard_beta(1e-13), bank)
                    .loss.item<double>(), plain, 1e-10) << to_string(sim);
  }
}

// In-batch on queries = z1, keys = z2 vs a hand computation of the cosine similarities:
//   loss = mean_i [ log sum_j exp(c_ij / t) - c_ii / t ],  c_ij = <z1_i, z2_j> / |z1_i| |z2_j|.
TEST(InfoNCE, InBatchMatchesHandComputation) {
  torch::manual_seed(5);
  auto z1 = torch::randn({5, 3}, torch::kDouble), z2 = torch::randn({5, 3}, torch::kDouble);
  const double t = 0.3;
  double expected = 0;
  auto norm = [](const at::Tensor& v) { return std::sqrt(v.pow(2).sum().item<double>()); };
  for (int64_t i = 0; i < 5; ++i) {
    double denom = 0, pos = 0;
    for (int64_t j = 0; j < 5; ++j) {
      double c = (z1[i] * z2[j]).sum().item<double>() / (norm(z1[i]) * norm(z2[j]));
      denom += std::exp(c / t);
      if (i == j) pos = c;
    }
    expected += (std::log(denom) - pos / t) / 5;
  }
  auto out = functional::info_nce(z1, z2, InfoNCEOptions().temperature(t));
  EXPECT_NEAR(out.loss.item<double>(), expected, 1e-10);
}

// (InfoNCE(z1, z2) + InfoNCE(z2, z1)) / 2 with the same-side views as extra negatives is
// NT-Xent: anchor z1_i has positive z2_i and negatives z2_j, z1_j (j != i).
TEST(InfoNCE, SymmetricWithSameSideNegativesEqualsNTXent) {
  torch::manual_seed(6);
  auto z1 = torch::randn({6, 4}, torch::kDouble), z2 = torch::randn({6, 4}, torch::kDouble);
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean}) {
    auto opts = InfoNCEOptions().temperature(0.5).similarity(sim).in_batch_queries(true);
    double sym = (functional::info_nce(z1, z2, opts).loss.item<double>() +
                  functional::info_nce(z2, z1, opts).loss.item<double>()) / 2;
    double nt = functional::nt_xent(z1, z2, NTXentOptions().temperature(0.5).similarity(sim))
                    .loss.item<double>();
    EXPECT_NEAR(sym, nt, 1e-10) << to_string(sim);
  }
}

// Per-query negatives [N, K, d] where every query gets the same K rows equal a bank [K, d].
TEST(InfoNCE, PerQueryNegativesEqualBankWhenShared) {
  torch::manual_seed(7);
  auto q = torch::randn({4, 3}, torch::kDouble), k = torch::randn({4, 3}, torch::kDouble);
  auto bank = torch::randn({5, 3}, torch::kDouble);
  auto per_query = bank.unsqueeze(0).expand({4, 5, 3}).contiguous();
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean})
    for (bool in_batch : {true, false})
      for (auto [tau, beta] : Cfgs{{0.0, 0.0}, {0.1, 0.5}}) {
        auto opts = InfoNCEOptions().temperature(0.5).similarity(sim).in_batch(in_batch)
                        .debias_tau_plus(tau).hard_beta(beta).reduction(Reduction::kNone);
        auto a = functional::info_nce(q, k, opts, bank);
        auto b = functional::info_nce(q, k, opts, {}, per_query);
        EXPECT_TRUE(torch::allclose(a.loss, b.loss, 0, 1e-10))
            << to_string(sim) << " in_batch " << in_batch << " tau " << tau;
        EXPECT_NEAR(a.negative_sim, b.negative_sim, 1e-12);
        EXPECT_NEAR(a.top1, b.top1, 1e-12);
      }
}

TEST(InfoNCE, GradientMatchesFiniteDifferences) {
  torch::manual_seed(8);
  std::vector<at::Tensor> inputs = {
      torch::randn({3, 2}, torch::kDouble), torch::randn({3, 2}, torch::kDouble),
      torch::randn({2, 2}, torch::kDouble), torch::randn({3, 2, 2}, torch::kDouble)};
  for (auto sim : {Similarity::kCosine, Similarity::kDot, Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean})
    for (auto [tau, beta] : Cfgs{{0.0, 0.0}, {0.1, 0.0}, {0.0, 0.5}, {0.1, 1.0}}) {
      auto opts = InfoNCEOptions().temperature(0.5).similarity(sim).in_batch_queries(true)
                      .debias_tau_plus(tau).hard_beta(beta);
      expect_grad_matches_fd(
          [&](const std::vector<at::Tensor>& x) {
            return functional::info_nce(x[0], x[1], opts, x[2], x[3]).loss;
          },
          inputs, to_string(sim) + " tau " + std::to_string(tau) + " beta " +
                      std::to_string(beta));
    }
}

TEST(InfoNCE, StableAtLowTemperatureWithLargeLogits) {
  torch::manual_seed(9);
  auto q = (torch::randn({64, 16}) * 100).requires_grad_();
  auto k = (torch::randn({64, 16}) * 100).requires_grad_();
  auto bank = (torch::randn({32, 16}) * 100).requires_grad_();
  for (auto sim : {Similarity::kCosine, Similarity::kDot})
    for (auto [tau, beta] : Cfgs{{0.0, 0.0}, {0.1, 0.0}, {0.0, 1.0}, {0.1, 1.0}}) {
      auto opts = InfoNCEOptions().temperature(0.01).similarity(sim).debias_tau_plus(tau)
                      .hard_beta(beta);
      auto out = functional::info_nce(q, k, opts, bank);
      EXPECT_TRUE(std::isfinite(out.loss.item<double>())) << to_string(sim) << " " << tau;
      out.loss.backward();
      for (auto* x : {&q, &k, &bank}) {
        EXPECT_TRUE(torch::isfinite(x->grad()).all().item<bool>()) << to_string(sim) << " " << tau;
        x->mutable_grad() = torch::Tensor();
      }
    }
  // Cosine logits of exactly +-100 (t = 0.01): positive 1, negatives -1 or 1.
  auto a = torch::tensor({{1.0, 0.0}, {-1.0, 0.0}}, torch::kDouble).requires_grad_();
  auto b = torch::tensor({{1.0, 0.0}, {-1.0, 0.0}}, torch::kDouble);
  auto out = functional::info_nce(a, b, InfoNCEOptions().temperature(0.01).debias_tau_plus(0.1));
  EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
  out.loss.backward();
  EXPECT_TRUE(torch::isfinite(a.grad()).all().item<bool>());
}

TEST(InfoNCE, RejectsBadInput) {
  auto q = torch::randn({4, 3});
  expect_error([&] { functional::info_nce(q, q, InfoNCEOptions().temperature(0)); },
               "loss.temperature must be > 0, got 0");
  expect_error([&] { functional::info_nce(q, q, InfoNCEOptions().temperature(-1)); },
               "loss.temperature must be > 0, got -1");
  expect_error([&] { functional::info_nce(q, q, InfoNCEOptions().debias_tau_plus(1)); },
               "loss.debias_tau_plus must be in [0, 1), got 1");
  expect_error([&] { functional::info_nce(q, q, InfoNCEOptions().hard_beta(-1)); },
               "loss.hard_beta must be >= 0, got -1");
  expect_error([&] { functional::info_nce(q, torch::randn({3, 3})); },
               "InfoNCE needs queries [N, d] and positive keys [N, d] of equal shape, got [4, 3] "
               "and [3, 3]");
  expect_error([&] { functional::info_nce(q, q, {}, torch::randn({5, 2})); },
               "InfoNCE negative bank must be [M, d] matching queries [4, 3], got [5, 2]");
  expect_error([&] { functional::info_nce(q, q, {}, {}, torch::randn({3, 2, 3})); },
               "InfoNCE per-query negatives must be [N, K, d] matching queries [4, 3], got [3, 2, 3]");
  expect_error([&] { functional::info_nce(q, q, InfoNCEOptions().in_batch(false)); },
               "InfoNCE has no negatives: in_batch=false with N = 4, in_batch_queries=false, bank "
               "none, per-query negatives none");
  expect_error([&] { functional::info_nce(q.slice(0, 0, 1), q.slice(0, 0, 1)); },
               "InfoNCE has no negatives: in_batch=true with N = 1");
  auto bad = q.clone();
  bad[1][2] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { functional::info_nce(bad, q); }, "queries contain NaN or Inf");
  bad[1][2] = std::numeric_limits<float>::infinity();
  expect_error([&] { functional::info_nce(q, bad); }, "keys contain NaN or Inf");
  expect_error([&] { functional::info_nce(q, q, {}, bad); }, "negative bank contains NaN or Inf");
  expect_error([&] { functional::info_nce(q, q, {}, {}, bad.unsqueeze(1)); },
               "per-query negatives contain NaN or Inf");
}

TEST(InfoNCE, AnchorRowsOfAPartitionAverageToTheWholeLoss) {
  // Three processes' shares of the queries: the mean of their losses and the sum of their
  // gradients' means is the whole loss's, for plain, debiased, hard-negative and DCLW, with
  // in-batch keys and queries, a bank and per-query negatives all pooled.
  torch::manual_seed(5);
  auto q = torch::randn({6, 4}, torch::kDouble), k = torch::randn({6, 4}, torch::kDouble);
  auto bank = torch::randn({5, 4}, torch::kDouble), per = torch::randn({6, 2, 4}, torch::kDouble);
  const auto base = InfoNCEOptions().temperature(0.4).in_batch(true).in_batch_queries(true);
  for (auto opts : {base, InfoNCEOptions(base).debias_tau_plus(0.1), InfoNCEOptions(base).hard_beta(1.0),
                    InfoNCEOptions(base).decoupled(true).decoupled_sigma(0.5)}) {
    auto q1 = q.clone().requires_grad_(true), k1 = k.clone().requires_grad_(true);
    auto whole = functional::info_nce(q1, k1, opts, bank, per);
    whole.loss.backward();
    auto q2 = q.clone().requires_grad_(true), k2 = k.clone().requires_grad_(true);
    at::Tensor mean = torch::zeros({}, torch::kDouble);
    double top1 = 0;
    for (int64_t r = 0; r < 3; ++r) {
      auto part = functional::info_nce(q2, k2, InfoNCEOptions(opts).anchor_begin(2 * r).anchor_end(2 * r + 2),
                                       bank, per);
      mean = mean + part.loss / 3;
      top1 += part.top1 / 3;
    }
    mean.backward();
    EXPECT_NEAR(mean.item<double>(), whole.loss.item<double>(), 1e-12);
    EXPECT_NEAR(top1, whole.top1, 1e-12);
    EXPECT_TRUE(torch::allclose(q2.grad(), q1.grad(), 1e-10, 1e-12));
    EXPECT_TRUE(torch::allclose(k2.grad(), k1.grad(), 1e-10, 1e-12));
  }
  contra::test_support::expect_error(
      [&] { functional::info_nce(q, k, InfoNCEOptions(base).anchor_begin(4).anchor_end(4)); },
      "InfoNCE anchor rows [4, 4) must be a non-empty range within [0, 6)");
}
