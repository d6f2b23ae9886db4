// Every two-view objective x similarity x negatives policy x tiled pass on or off, against a
// plain reference written here from the definitions (the full [2N, 2N] similarity matrix, one
// anchor at a time): two_view_loss must equal it in float64, value and gradient, or refuse the
// combination with contra::Error. An option that one path silently ignores shows up as a
// mismatch (the tiled pass once computed l2 as the dot product; supcon and triplet ignored
// loss.negatives), and the combinations refused are exactly the documented ones.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "contra/core/error.h"
#include "contra/methods/objective.h"
#include "contra/negatives/sampling.h"

using contra::losses::Similarity;
using contra::methods::TiledMode;
using contra::methods::TwoViewLoss;
using contra::negatives::NegativeSampling;
using torch::Tensor;

namespace {

constexpr int64_t kN = 4;  // samples: 2N = 8 views, 2N - 2 = 6 candidate negatives per anchor
constexpr int64_t kD = 3;
constexpr double kT = 0.5, kTauPlus = 0.1, kBeta = 1.0, kSigma = 0.5, kMargin = 0.5;
constexpr int64_t kKeep = 3;  // random / hardest: negatives kept per anchor
constexpr uint64_t kSeed = 11;

const TwoViewLoss kLosses[] = {TwoViewLoss::kNTXent,    TwoViewLoss::kDebiased,
                               TwoViewLoss::kHardNegative, TwoViewLoss::kSupCon,
                               TwoViewLoss::kDecoupled, TwoViewLoss::kTriplet};
const Similarity kSims[] = {Similarity::kCosine, Similarity::kDot,
                            Similarity::kNegSquaredEuclidean, Similarity::kNegEuclidean};
const NegativeSampling kSamplers[] = {NegativeSampling::kAll, NegativeSampling::kRandom,
                                      NegativeSampling::kHardest, NegativeSampling::kThreshold,
                                      NegativeSampling::kSemiHard};

bool info_nce_family(TwoViewLoss k) { return k != TwoViewLoss::kSupCon && k != TwoViewLoss::kTriplet; }

/// Similarities of the rows of z, from the definitions (not losses::similarity_matrix).
Tensor reference_similarity(const Tensor& z, Similarity s) {
  auto diff2 = (z.unsqueeze(1) - z.unsqueeze(0)).pow(2).sum(2);
  switch (s) {
    case Similarity::kCosine: {
      auto norm = z.norm(2, 1, true);
      return torch::mm(z, z.t()) / (norm * norm.t());
    }
    case Similarity::kDot: return torch::mm(z, z.t());
    case Similarity::kNegSquaredEuclidean: return -diff2;
    // The floor only touches the diagonal here (a view with itself), which no loss reads.
    case Similarity::kNegEuclidean: return -diff2.clamp_min(1e-12).sqrt();
  }
  return {};
}

/// Which candidate negatives of one direction's anchors are kept, [N, 2N - 2], from the
/// definitions in negatives/sampling.h. Random draws through the library's sampler, from the
/// same generator state as two_view_loss (nothing else can reproduce its draw).
Tensor reference_mask(const Tensor& neg, const Tensor& pos,
                      const contra::negatives::NegativeSamplingOptions& o) {
  torch::NoGradGuard no_grad;
  auto s = neg.detach();
  auto p = pos.detach().unsqueeze(1);
  switch (o.kind()) {
    case NegativeSampling::kAll: return torch::ones(s.sizes(), torch::kBool);
    case NegativeSampling::kRandom: return contra::negatives::select_negatives(s, pos.detach(), o);
    case NegativeSampling::kHardest: {
      auto kth = std::get<0>(s.topk(o.num_negatives(), 1)).select(1, o.num_negatives() - 1);
      return s >= kth.unsqueeze(1);
    }
    case NegativeSampling::kThreshold: return s > o.threshold();
    case NegativeSampling::kSemiHard: return (s < p) & (s > p - o.margin());
  }
  return {};
}

/// The InfoNCE family over both directions: direction 0's anchors are view 1 (z rows 0..N-1,
/// positive N + i), direction 1's view 2. Each anchor's candidates, in the order the library
/// pools them (which a random draw depends on): the other view's other samples, then its own
/// view's other samples. Loss per direction: the mean over anchors with a negative left;
/// the result is the mean of the two directions.
Tensor reference_info_nce(const Tensor& sim, const contra::methods::TwoViewLossOptions& o) {
  std::vector<Tensor> directions;
  for (int64_t d = 0; d < 2; ++d) {
    std::vector<int64_t> anchors, partners, cands;
    for (int64_t i = 0; i < kN; ++i) {
      anchors.push_back(d * kN + i);
      partners.push_back((1 - d) * kN + i);
      for (int64_t j = 0; j < kN; ++j)
        if (j != i) cands.push_back((1 - d) * kN + j);
      for (int64_t j = 0; j < kN; ++j)
        if (j != i) cands.push_back(d * kN + j);
    }
    auto rows = sim.index_select(0, torch::tensor(anchors));
    auto pos = rows.gather(1, torch::tensor(partners).unsqueeze(1)).squeeze(1);          // [N]
    auto neg = rows.gather(1, torch::tensor(cands).view({kN, 2 * kN - 2}));             // [N, 2N-2]
    auto mask = reference_mask(neg, pos, o.negatives());
    // DCLW: w_i = 2 - N softmax_i(s+ / sigma) over the direction's positives, no gradient.
    auto dclw = (2 - double(kN) * torch::softmax(pos.detach() / o.decoupled_sigma(), 0));
    Tensor total = sim.sum() * 0.0;
    int64_t active = 0;
    for (int64_t i = 0; i < kN; ++i) {
      auto n_i = neg[i].masked_select(mask[i]);
      const int64_t k = n_i.numel();
      if (k == 0) continue;  // no negative left: the anchor is out of the loss
      ++active;
      auto p = torch::exp(pos[i] / kT);
      auto e = torch::exp(n_i / kT);
      Tensor ng;
      switch (o.kind()) {
        case TwoViewLoss::kNTXent:
        case TwoViewLoss::kDecoupled: ng = e.sum(); break;
        case TwoViewLoss::kDebiased:  // Chuang et al.: N * max((mean n - tau+ p) / (1 - tau+), e^-1/t)
          ng = double(k) * torch::clamp_min((e.mean() - kTauPlus * p) / (1 - kTauPlus),
                                            std::exp(-1 / kT));
          break;
        case TwoViewLoss::kHardNegative: {  // Robinson et al.: N * mean(w n), w = e^{b s/t} / mean
          auto w = torch::exp(kBeta * n_i / kT);
          ng = double(k) * (w / w.mean() * e).mean();
          break;
        }
        default: ADD_FAILURE() << "not an InfoNCE objective";
      }
      if (o.kind() == TwoViewLoss::kDecoupled)
        total = total + torch::log(ng) - dclw[i] * pos[i] / kT;
      else
        total = total - torch::log(p / (p + ng));
    }
    directions.push_back(total / double(std::max<int64_t>(active, 1)));
  }
  return (directions[0] + directions[1]) / 2;
}

/// SupCon (Khosla et al., L_out) over the 2N views: positives are the partner view and known
/// equal labels; the softmax runs over every other view.
Tensor reference_supcon_from_sim(const Tensor& sim, const Tensor& labels) {
  auto lab = torch::cat({labels, labels});
  Tensor total = sim.sum() * 0.0;
  for (int64_t a = 0; a < 2 * kN; ++a) {
    std::vector<Tensor> others;
    for (int64_t b = 0; b < 2 * kN; ++b)
      if (b != a) others.push_back(sim[a][b] / kT);
    auto log_denom = torch::stack(others).logsumexp(0);
    Tensor sum = sim.sum() * 0.0;
    int64_t count = 0;
    for (int64_t b = 0; b < 2 * kN; ++b) {
      const bool partner = b == (a + kN) % (2 * kN);
      const bool same = b != a && lab[a].item<int64_t>() >= 0 &&
                        lab[a].item<int64_t>() == lab[b].item<int64_t>();
      if (!partner && !same) continue;
      sum = sum + (sim[a][b] / kT - log_denom);
      ++count;
    }
    total = total - sum / double(count);
  }
  return total / double(2 * kN);
}

/// Triplet loss (FaceNet) over the 2N views labelled by sample, semi-hard mining (the
/// default): negatives n with s_ap - margin < s_an < s_ap; mean over the non-zero terms.
Tensor reference_triplet(const Tensor& sim) {
  Tensor total = sim.sum() * 0.0;
  int64_t nonzero = 0;
  for (int64_t a = 0; a < 2 * kN; ++a) {
    const int64_t p = (a + kN) % (2 * kN);
    const double s_ap = sim[a][p].item<double>();
    for (int64_t n = 0; n < 2 * kN; ++n) {
      if (n == a || n == p) continue;
      const double s_an = sim[a][n].item<double>();
      if (!(s_an < s_ap && s_an > s_ap - kMargin)) continue;
      auto term = torch::relu(sim[a][n] - sim[a][p] + kMargin);
      if (term.item<double>() > 0) ++nonzero;
      total = total + term;
    }
  }
  return total / double(std::max<int64_t>(nonzero, 1));
}

Tensor reference(const Tensor& z1, const Tensor& z2, const Tensor& labels,
                 const contra::methods::TwoViewLossOptions& o) {
  auto sim = reference_similarity(torch::cat({z1, z2}), o.similarity());
  switch (o.kind()) {
    case TwoViewLoss::kSupCon: return reference_supcon_from_sim(sim, labels);
    case TwoViewLoss::kTriplet: return reference_triplet(sim);
    default: return reference_info_nce(sim, o);
  }
}

struct Value {
  double loss;
  Tensor g1, g2;
};

template <class Fn>
Value evaluate(Fn loss, const Tensor& z1, const Tensor& z2) {
  auto a = z1.clone().requires_grad_(), b = z2.clone().requires_grad_();
  torch::manual_seed(kSeed);  // the same random draw for the library and the reference
  Tensor l = loss(a, b);
  l.backward();
  return {l.item<double>(), a.grad(), b.grad()};
}

double relative_error(const Tensor& x, const Tensor& ref) {
  return ((x - ref).norm() / ref.norm().clamp_min(1e-12)).item<double>();
}

}  // namespace

TEST(OptionTable, EveryTwoViewLossEqualsItsReferenceOrIsRefused) {
  torch::manual_seed(0);
  // Positives close to their anchors, so the samplers keep some negatives and drop others.
  auto z1 = 0.5 * torch::randn({kN, kD}, torch::kDouble);
  auto z2 = z1 + 0.3 * torch::randn({kN, kD}, torch::kDouble);
  // Samples 0 and 2 share class 0, sample 3 is class 1, sample 1 is unlabeled.
  auto labels = torch::tensor({0, -1, 0, 1}, torch::kLong);
  int compared = 0, refused = 0;
  // Per sampler: whether some anchor was left out (no negative kept) and some entered the loss.
  std::map<NegativeSampling, std::pair<bool, bool>> dropped_and_kept;
  for (auto sim : kSims) {
    // The threshold sampler's cut at the median off-diagonal similarity: in range for each.
    double threshold;
    {
      auto s = reference_similarity(torch::cat({z1, z2}), sim);
      threshold = s.masked_select(torch::eye(2 * kN, torch::kBool).logical_not()).median().item<double>();
    }
    for (auto kind : kLosses)
      for (auto sampler : kSamplers)
        for (auto tiled : {TiledMode::kOff, TiledMode::kOn}) {
          auto o = contra::methods::TwoViewLossOptions()
                       .kind(kind)
                       .temperature(kT)
                       .similarity(sim)
                       .tau_plus(kTauPlus)
                       .hard_beta(kBeta)
                       .decoupled_sigma(kSigma)
                       .margin(kMargin)
                       .negatives(contra::negatives::NegativeSamplingOptions()
                                      .kind(sampler)
                                      .num_negatives(kKeep)
                                      .threshold(threshold)
                                      .margin(kMargin))
                       .tiled(tiled)
                       .tile_size(3);
          const std::string what = contra::methods::to_string(kind) + " " +
                                   contra::losses::to_string(sim) + " negatives " +
                                   contra::negatives::to_string(sampler) + " tiled " +
                                   (tiled == TiledMode::kOn ? "on" : "off");
          // The documented refusals: only nt_xent over all negatives has a tiled pass, and
          // supcon and triplet take no negatives policy.
          const bool all = sampler == NegativeSampling::kAll;
          const bool refuse = (tiled == TiledMode::kOn && !(kind == TwoViewLoss::kNTXent && all)) ||
                              (!all && !info_nce_family(kind));
          Value got;
          double active = 0;
          try {
            got = evaluate([&](const Tensor& a, const Tensor& b) {
              auto out = contra::methods::two_view_loss(a, b, labels, o);
              active = out.active;
              return out.loss;
            }, z1, z2);
          } catch (const contra::Error& e) {
            EXPECT_TRUE(refuse) << what << " refused: " << e.what();
            ++refused;
            continue;
          }
          EXPECT_FALSE(refuse) << what << " was accepted";
          auto want = evaluate([&](const Tensor& a, const Tensor& b) {
            return reference(a, b, labels, o);
          }, z1, z2);
          EXPECT_NEAR(got.loss, want.loss, 1e-10 * (1 + std::abs(want.loss))) << what;
          EXPECT_LT(relative_error(got.g1, want.g1), 1e-9) << what;
          EXPECT_LT(relative_error(got.g2, want.g2), 1e-9) << what;
          if (info_nce_family(kind)) {
            dropped_and_kept[sampler].first |= active < 1;
            dropped_and_kept[sampler].second |= active > 0;
          }
          ++compared;
        }
  }
  // 4 similarities x (nt_xent 5 samplers + 1 tiled; debiased, hard_negative, decoupled 5 each;
  // supcon, triplet all-negatives only) = 4 x 23; the rest of the 240 refused.
  EXPECT_EQ(compared, 4 * 23);
  EXPECT_EQ(refused, 240 - 4 * 23);
  // The threshold and semi-hard cases exercise anchors left out of the loss as well as kept.
  for (auto sampler : {NegativeSampling::kThreshold, NegativeSampling::kSemiHard}) {
    EXPECT_TRUE(dropped_and_kept[sampler].first) << contra::negatives::to_string(sampler);
    EXPECT_TRUE(dropped_and_kept[sampler].second) << contra::negatives::to_string(sampler);
  }
}
