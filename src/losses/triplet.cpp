#include "contra/losses/triplet.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"

namespace contra::losses {
namespace {
const NameTable<TripletMining, 4> kNames = {{"batch_all", TripletMining::kBatchAll},
                                            {"batch_hard", TripletMining::kBatchHard},
                                            {"semi_hard", TripletMining::kSemiHard},
                                            {"hard", TripletMining::kHard}};

void check_options(const TripletOptions& o) {
  CONTRA_CHECK(o.margin() >= 0 && std::isfinite(o.margin()), "loss.margin must be >= 0, got ",
               o.margin());
}

void check_finite(const at::Tensor& t, const char* what) {
  CONTRA_CHECK(torch::isfinite(t).all().item<bool>(), "triplet loss ", what,
               " contain NaN or Inf");
}

/// Reduces per-triplet losses [T] to a scalar, per the options; 0 (with a graph) when empty.
at::Tensor reduce(const at::Tensor& per_triplet, const at::Tensor& graph_source,
                  const TripletOptions& o) {
  if (per_triplet.numel() == 0) return graph_source.sum() * 0.0;
  if (!o.average_nonzero()) return per_triplet.mean();
  const double nonzero = (per_triplet.detach() > 0).sum().item<double>();
  return per_triplet.sum() / std::max(nonzero, 1.0);
}
}  // namespace

TripletMining triplet_mining_from_string(const std::string& name) {
  return from_name(kNames, name, "triplet mining");
}
std::string to_string(TripletMining kind) { return name_of(kNames, kind); }

namespace functional {

ContrastiveOutput triplet_loss(const at::Tensor& anchors, const at::Tensor& positives,
                               const at::Tensor& negatives, const TripletOptions& o) {
  check_options(o);
  CONTRA_CHECK(anchors.dim() == 2 && anchors.sizes() == positives.sizes() &&
                   anchors.sizes() == negatives.sizes(),
               "triplet loss needs anchors, positives and negatives of equal shape [T, d], got ",
               anchors.sizes(), ", ", positives.sizes(), " and ", negatives.sizes());
  CONTRA_CHECK(anchors.size(0) >= 1, "triplet loss needs at least 1 triplet");
  check_finite(anchors, "anchors");
  check_finite(positives, "positives");
  check_finite(negatives, "negatives");
  // Row-wise similarity: the diagonal of [T, T] would waste T^2 work, so pair rows directly
  // through a [T, 2, d] batch against the anchor.
  auto cand = torch::stack({positives, negatives}, 1);                      // [T, 2, d]
  at::Tensor s;                                                              // [T, 2]
  switch (o.similarity()) {
    case Similarity::kCosine: {
      namespace F = torch::nn::functional;
      auto an = F::normalize(anchors, F::NormalizeFuncOptions().dim(1).eps(1e-12));
      auto cn = F::normalize(cand, F::NormalizeFuncOptions().dim(2).eps(1e-12));
      s = torch::bmm(cn, an.unsqueeze(2)).squeeze(2);
      break;
    }
    case Similarity::kDot:
      s = torch::bmm(cand, anchors.unsqueeze(2)).squeeze(2);
      break;
    case Similarity::kNegSquaredEuclidean:
    case Similarity::kNegEuclidean: {
      auto d2 = (cand - anchors.unsqueeze(1)).pow(2).sum(2);
      s = o.similarity() == Similarity::kNegEuclidean ? -d2.clamp_min(1e-12).sqrt() : -d2;
      break;
    }
  }
  auto s_ap = s.select(1, 0), s_an = s.select(1, 1);
  auto per = torch::relu(s_an - s_ap + o.margin());
  ContrastiveOutput out;
  out.loss = reduce(per, s, o);
  torch::NoGradGuard no_grad;
  out.positive_sim = s_ap.mean().item<double>();
  out.negative_sim = s_an.mean().item<double>();
  out.top1 = (s_ap > s_an).to(torch::kDouble).mean().item<double>();
  out.active = (per > 0).to(torch::kDouble).mean().item<double>();
  return out;
}

ContrastiveOutput mined_triplet_loss(const at::Tensor& embeddings, const at::Tensor& labels,
                                     const TripletOptions& o) {
  check_options(o);
  CONTRA_CHECK(embeddings.dim() == 2 && embeddings.size(0) >= 2,
               "triplet mining needs embeddings [N, d] with N >= 2, got ", embeddings.sizes());
  const int64_t n = embeddings.size(0);
  CONTRA_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == n &&
                   labels.scalar_type() == torch::kLong,
               "triplet mining labels must be int64 [N] with N = ", n, ", got ",
               labels.defined() ? labels.sizes() : at::IntArrayRef{});
  CONTRA_CHECK(n == 0 || labels.min().item<int64_t>() >= 0,
               "triplet mining labels must be >= 0, got ", labels.min().item<int64_t>());
  check_finite(embeddings, "embeddings");

  auto sim = similarity_matrix(embeddings, embeddings, o.similarity());    // [N, N]
  auto s = sim.detach();
  auto lab = labels.to(sim.device());
  auto self = torch::eye(n, s.options().dtype(torch::kBool));
  auto same = lab.unsqueeze(1).eq(lab.unsqueeze(0));
  auto pos_mask = same & self.logical_not();                               // [N, N]
  auto neg_mask = same.logical_not();
  const auto kLong = torch::TensorOptions().dtype(torch::kLong).device(s.device());

  // Flat indices a*N + p and a*N + n of the picked triplets.
  at::Tensor ap, an;
  if (o.mining() == TripletMining::kBatchHard) {
    const double inf = std::numeric_limits<double>::infinity();
    auto valid = pos_mask.any(1) & neg_mask.any(1);
    auto hardest_p = s.masked_fill(pos_mask.logical_not(), inf).argmin(1);
    auto hardest_n = s.masked_fill(neg_mask.logical_not(), -inf).argmax(1);
    auto anchors = torch::arange(n, kLong).masked_select(valid);
    ap = anchors * n + hardest_p.masked_select(valid);
    an = anchors * n + hardest_n.masked_select(valid);
  } else {
    // Enumerate by anchor chunks so the [chunk, N, N] candidate mask stays small.
    std::vector<at::Tensor> aps, ans;
    const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 24) / std::max<int64_t>(n * n, 1));
    for (int64_t a0 = 0; a0 < n; a0 += chunk) {
      const int64_t a1 = std::min(n, a0 + chunk);
      auto sa = s.slice(0, a0, a1);                                         // [c, N]
      auto s_ap = sa.unsqueeze(2), s_an = sa.unsqueeze(1);                  // [c, N, 1], [c, 1, N]
      auto valid = pos_mask.slice(0, a0, a1).unsqueeze(2) & neg_mask.slice(0, a0, a1).unsqueeze(1);
      switch (o.mining()) {
        case TripletMining::kBatchAll: break;
        case TripletMining::kSemiHard: valid = valid & (s_an < s_ap) & (s_an > s_ap - o.margin()); break;
        case TripletMining::kHard: valid = valid & (s_an >= s_ap); break;
        case TripletMining::kBatchHard: TORCH_INTERNAL_ASSERT(false);
      }
      auto idx = valid.nonzero();                                            // [T, 3]: a, p, n
      auto a = idx.select(1, 0) + a0;
      aps.push_back(a * n + idx.select(1, 1));
      ans.push_back(a * n + idx.select(1, 2));
    }
    ap = torch::cat(aps);
    an = torch::cat(ans);
  }
  auto flat = sim.reshape({-1});
  auto per = torch::relu(flat.index_select(0, an) - flat.index_select(0, ap) + o.margin());

  ContrastiveOutput out;
  out.loss = reduce(per, sim, o);
  torch::NoGradGuard no_grad;
  const double pos_count = pos_mask.sum().item<double>();
  const double neg_count = neg_mask.sum().item<double>();
  out.positive_sim = pos_count > 0 ? s.masked_select(pos_mask).sum().item<double>() / pos_count : 0.0;
  out.negative_sim = neg_count > 0 ? s.masked_select(neg_mask).sum().item<double>() / neg_count : 0.0;
  auto nearest = s.masked_fill(self, -std::numeric_limits<double>::infinity()).argmax(1);
  out.top1 = pos_mask.gather(1, nearest.unsqueeze(1)).to(torch::kDouble).mean().item<double>();
  auto live = per > 0;
  auto anchors_live = torch::zeros({n}, kLong).index_put_({at::div(ap.masked_select(live), n, "floor")},
                                                            torch::ones({1}, kLong));
  out.active = (anchors_live > 0).to(torch::kDouble).mean().item<double>();
  return out;
}

}  // namespace functional
}  // namespace contra::losses
