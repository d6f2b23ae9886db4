#include "contra/methods/objective.h"

#include <limits>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/losses/supcon.h"
#include "contra/losses/tiled.h"

namespace contra::methods {

using losses::ContrastiveOutput;

namespace {
const NameTable<TwoViewLoss, 7> kTwoViewLossNames = {{"nt_xent", TwoViewLoss::kNTXent},
                                                   {"debiased", TwoViewLoss::kDebiased},
                                                   {"hard_negative", TwoViewLoss::kHardNegative},
                                                   {"supcon", TwoViewLoss::kSupCon},
                                                   {"decoupled", TwoViewLoss::kDecoupled},
                                                   {"triplet", TwoViewLoss::kTriplet},
                                                   {"hcl", TwoViewLoss::kHCL}};
}  // namespace

TwoViewLoss two_view_loss_from_string(const std::string& name) {
  return from_name(kTwoViewLossNames, name, "loss");
}

std::vector<std::string> two_view_loss_names() { return names_of(kTwoViewLossNames); }

std::string to_string(TwoViewLoss kind) { return name_of(kTwoViewLossNames, kind); }

namespace {
const NameTable<TiledMode, 3> kTiledModeNames = {
      {"auto", TiledMode::kAuto}, {"on", TiledMode::kOn}, {"off", TiledMode::kOff}};
}  // namespace

TiledMode tiled_mode_from_string(const std::string& name) {
  return from_name(kTiledModeNames, name, "tiled mode");
}

std::vector<std::string> tiled_mode_names() { return names_of(kTiledModeNames); }

losses::InfoNCEOptions info_nce_options(const TwoViewLossOptions& o) {
  auto opts = losses::InfoNCEOptions().temperature(o.temperature()).similarity(o.similarity());
  switch (o.kind()) {
    case TwoViewLoss::kNTXent: return opts;
    case TwoViewLoss::kDebiased: return opts.debias_tau_plus(o.tau_plus());
    case TwoViewLoss::kHardNegative: return opts.hard_beta(o.hard_beta());
    case TwoViewLoss::kHCL: return opts.debias_tau_plus(o.tau_plus()).hard_beta(o.hard_beta());
    case TwoViewLoss::kDecoupled: return opts.decoupled(true).decoupled_sigma(o.decoupled_sigma());
    case TwoViewLoss::kSupCon:
    case TwoViewLoss::kTriplet: break;
  }
  throw Error("loss " + std::string(o.kind() == TwoViewLoss::kSupCon ? "supcon" : "triplet") +
              " is not an InfoNCE objective; use nt_xent, debiased, hard_negative, decoupled or hcl");
}

ContrastiveOutput average(const ContrastiveOutput& a, const ContrastiveOutput& b) {
  ContrastiveOutput out;
  out.loss = (a.loss + b.loss) / 2;
  out.positive_sim = (a.positive_sim + b.positive_sim) / 2;
  out.negative_sim = (a.negative_sim + b.negative_sim) / 2;
  out.top1 = (a.top1 + b.top1) / 2;
  out.active = (a.active + b.active) / 2;
  return out;
}

ContrastiveOutput sampled_info_nce(const at::Tensor& queries, const at::Tensor& keys,
                                   const losses::InfoNCEOptions& options,
                                   const negatives::NegativeSamplingOptions& sampling,
                                   const at::Tensor& bank, const at::Tensor& per_query_negatives) {
  if (sampling.kind() == negatives::NegativeSampling::kAll)
    return losses::functional::info_nce(queries, keys, options, bank, per_query_negatives);
  at::Tensor mask;
  {
    torch::NoGradGuard no_grad;
    auto sims = losses::functional::pooled_similarities(queries.detach(), keys.detach(), options,
                                                        bank, per_query_negatives);
    mask = negatives::select_negatives(sims.negative, sims.positive, sampling);
  }
  return losses::functional::info_nce(queries, keys, options, bank, per_query_negatives, mask);
}

at::Tensor triplet_view_labels(const at::Tensor& labels, int64_t n, bool use_classes,
                               const c10::Device& device) {
  auto ids = torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(device));
  if (!use_classes || !labels.defined()) return torch::cat({ids, ids});
  CONTRA_CHECK(labels.dim() == 1 && labels.size(0) == n, "triplet labels must be [N] with N = ", n,
               ", got ", labels.sizes());
  auto y = labels.to(device, torch::kLong);
  const int64_t past_classes = std::max<int64_t>(y.max().item<int64_t>(), -1) + 1;
  auto v = torch::where(y >= 0, y, ids + past_classes);
  return torch::cat({v, v});
}

ContrastiveOutput mined_triplet_loss(const at::Tensor& embeddings, const at::Tensor& labels,
                                     const losses::TripletOptions& loss,
                                     const negatives::TripletMinerOptions& miner) {
  CONTRA_CHECK(embeddings.dim() == 2 && embeddings.size(0) >= 2,
               "triplet mining needs embeddings [N, d] with N >= 2, got ", embeddings.sizes());
  CONTRA_CHECK(torch::isfinite(embeddings).all().item<bool>(),
               "triplet loss embeddings contain NaN or Inf");
  namespace F = torch::nn::functional;
  const auto rows = loss.normalize()
                        ? F::normalize(embeddings, F::NormalizeFuncOptions().dim(1).eps(1e-12))
                        : embeddings;
  auto sim = losses::functional::similarity_matrix(rows, rows, loss.similarity());
  auto t = negatives::mine_triplets(sim, labels, miner);
  auto out = losses::functional::triplet_loss_from_similarity(sim, t.anchor, t.positive,
                                                              t.negative, loss);
  // Batch-level diagnostics, comparable across miners.
  torch::NoGradGuard no_grad;
  const int64_t n = embeddings.size(0);
  auto s = sim.detach();
  auto lab = labels.to(s.device());
  auto self = torch::eye(n, s.options().dtype(torch::kBool));
  auto same = lab.unsqueeze(1).eq(lab.unsqueeze(0));
  auto pos_mask = same & self.logical_not();
  auto neg_mask = same.logical_not();
  const double pos_count = pos_mask.sum().item<double>();
  const double neg_count = neg_mask.sum().item<double>();
  out.positive_sim = pos_count > 0 ? s.masked_select(pos_mask).sum().item<double>() / pos_count : 0.0;
  out.negative_sim = neg_count > 0 ? s.masked_select(neg_mask).sum().item<double>() / neg_count : 0.0;
  auto nearest = s.masked_fill(self, -std::numeric_limits<double>::infinity()).argmax(1);
  out.top1 = pos_mask.gather(1, nearest.unsqueeze(1)).to(torch::kDouble).mean().item<double>();
  auto live = torch::zeros({n}, s.options().dtype(torch::kBool));
  if (t.anchor.numel() > 0) {
    auto per = s.reshape({-1}).index_select(0, t.anchor * n + t.negative) -
               s.reshape({-1}).index_select(0, t.anchor * n + t.positive) + loss.margin();
    live.index_put_({t.anchor.masked_select(per > 0)}, true);
  }
  out.active = live.to(torch::kDouble).mean().item<double>();
  return out;
}

namespace {

/// InfoNCE in both directions over the 2N views with NT-Xent's negatives: every view is an
/// anchor once.
ContrastiveOutput symmetric_info_nce(const at::Tensor& z1, const at::Tensor& z2,
                                     losses::InfoNCEOptions opts,
                                     const negatives::NegativeSamplingOptions& sampling,
                                     int64_t anchor_begin = 0, int64_t anchor_end = -1) {
  opts.in_batch(true).in_batch_queries(true).anchor_begin(anchor_begin).anchor_end(anchor_end);
  // Named in order: argument evaluation order is unspecified, and a random sampler must draw
  // for view 1's anchors first on every compiler.
  auto view1_anchors = sampled_info_nce(z1, z2, opts, sampling);
  auto view2_anchors = sampled_info_nce(z2, z1, opts, sampling);
  return average(view1_anchors, view2_anchors);
}

}  // namespace

ContrastiveOutput two_view_loss(const at::Tensor& z1, const at::Tensor& z2,
                                const at::Tensor& labels, const TwoViewLossOptions& o) {
  namespace F = losses::functional;
  const bool all_negatives = o.negatives().kind() == negatives::NegativeSampling::kAll;
  CONTRA_CHECK(o.tiled() != TiledMode::kOn || (o.kind() == TwoViewLoss::kNTXent && all_negatives),
               "loss.tiled=on needs loss.name=nt_xent with loss.negatives=all (the other "
               "objectives have no tiled pass)");
  // supcon and triplet have no place for a negatives policy (triplet mines its own triplets):
  // refused rather than ignored.
  CONTRA_CHECK(all_negatives || (o.kind() != TwoViewLoss::kSupCon && o.kind() != TwoViewLoss::kTriplet),
               "loss.negatives ", negatives::to_string(o.negatives().kind()),
               " applies to nt_xent, debiased, hard_negative, decoupled and hcl, not to ",
               to_string(o.kind()));
  switch (o.kind()) {
    case TwoViewLoss::kSupCon: {
      CONTRA_CHECK(labels.defined(), "loss supcon needs labels (-1 where unknown)");
      return F::supcon(z1, z2, labels,
                       losses::SupConOptions().temperature(o.temperature()).similarity(o.similarity()));
    }
    case TwoViewLoss::kTriplet: {
      CONTRA_CHECK(z1.dim() == 2 && z1.sizes() == z2.sizes(),
                   "triplet loss needs two [N, d] views of equal shape, got ", z1.sizes(),
                   " and ", z2.sizes());
      CONTRA_CHECK(!o.triplet_labels() || labels.defined(),
                   "triplet with class labels needs labels (-1 where unknown)");
      return mined_triplet_loss(
          torch::cat({z1, z2}), triplet_view_labels(labels, z1.size(0), o.triplet_labels(), z1.device()),
          losses::TripletOptions()
              .margin(o.margin())
              .similarity(o.similarity())
              .normalize(o.triplet_normalize())
              .average_nonzero(o.triplet_average_nonzero()),
          negatives::TripletMinerOptions()
              .kind(o.mining())
              .margin(o.margin())
              .inclusive_band(o.semi_hard_inclusive()));
    }
    case TwoViewLoss::kNTXent: {
      if (!all_negatives) break;
      const bool tiled = o.tiled() == TiledMode::kOn ||
                         (o.tiled() == TiledMode::kAuto && z1.size(0) >= kTiledAutoMinPairs);
      if (tiled)
        return F::tiled_contrastive(z1, z2,
                                    losses::TiledContrastiveOptions()
                                        .objective(losses::TiledObjective::kNTXent)
                                        .temperature(o.temperature())
                                        .similarity(o.similarity())
                                        .tile_size(o.tile_size()));
      return F::nt_xent(z1, z2, losses::NTXentOptions().temperature(o.temperature()).similarity(o.similarity()));
    }
    case TwoViewLoss::kDebiased:
    case TwoViewLoss::kHardNegative:
    case TwoViewLoss::kDecoupled:
    case TwoViewLoss::kHCL: break;
  }
  return symmetric_info_nce(z1, z2, info_nce_options(o), o.negatives());
}

ContrastiveOutput mean_over_ranks(const ContrastiveOutput& local, Collective& c) {
  if (c.size() == 1) return local;
  auto mine = torch::tensor({local.loss.detach().item<double>(), local.positive_sim,
                             local.negative_sim, local.top1, local.active},
                            torch::TensorOptions().dtype(torch::kDouble));
  auto mean = c.all_gather(mine.unsqueeze(0)).mean(0);
  const double* m = mean.data_ptr<double>();
  ContrastiveOutput out = local;
  // The value of the global mean, the gradient of this rank's loss.
  out.loss = local.loss + (m[0] - local.loss.detach());
  out.positive_sim = m[1];
  out.negative_sim = m[2];
  out.top1 = m[3];
  out.active = m[4];
  return out;
}

ContrastiveOutput global_two_view_loss(const at::Tensor& z1, const at::Tensor& z2,
                                       const at::Tensor& labels, const TwoViewLossOptions& o,
                                       Collective& c) {
  if (c.size() == 1) return two_view_loss(z1, z2, labels, o);
  CONTRA_CHECK(z1.dim() == 2 && z1.sizes() == z2.sizes(),
               "two-view loss needs two [n, d] views of equal shape, got ", z1.sizes(), " and ",
               z2.sizes());
  auto all1 = c.all_gather_with_grad(z1), all2 = c.all_gather_with_grad(z2);
  const int64_t n = z1.size(0), begin = c.rank() * n, end = begin + n;
  using negatives::NegativeSampling;
  const auto sampling = o.negatives().kind();
  if (o.tiled() != TiledMode::kOn) {
    if (o.kind() == TwoViewLoss::kNTXent && sampling == NegativeSampling::kAll)
      return mean_over_ranks(
          losses::functional::nt_xent_rows(
              all1, all2, begin, end,
              losses::NTXentOptions().temperature(o.temperature()).similarity(o.similarity())),
          c);
    // The InfoNCE family scores this rank's anchors too, when every anchor enters the loss (a
    // threshold or semi-hard sampler can leave anchors out, and the ranks' means would then
    // weigh unequal counts equally).
    const bool info_nce_family = o.kind() != TwoViewLoss::kSupCon && o.kind() != TwoViewLoss::kTriplet;
    const bool every_anchor = sampling == NegativeSampling::kAll ||
                              sampling == NegativeSampling::kRandom ||
                              sampling == NegativeSampling::kHardest;
    if (info_nce_family && every_anchor)
      return mean_over_ranks(
          symmetric_info_nce(all1, all2, info_nce_options(o), o.negatives(), begin, end), c);
  }
  // The whole batch's loss, the same on every rank: the gather's backward sums W copies of each
  // slice's gradient and the all-reduce divides by W again.
  return two_view_loss(all1, all2, labels.defined() ? c.all_gather(labels) : labels, o);
}

}  // namespace contra::methods
