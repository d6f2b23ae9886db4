#include "contra/losses/triplet.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::losses {
namespace {
void check_triplet_options(const TripletOptions& o) {
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

namespace functional {

ContrastiveOutput triplet_loss(const at::Tensor& anchors, const at::Tensor& positives,
                               const at::Tensor& negatives, const TripletOptions& o) {
  check_triplet_options(o);
  CONTRA_CHECK(anchors.dim() == 2 && anchors.sizes() == positives.sizes() &&
                   anchors.sizes() == negatives.sizes(),
               "triplet loss needs anchors, positives and negatives of equal shape [T, d], got ",
               anchors.sizes(), ", ", positives.sizes(), " and ", negatives.sizes());
  CONTRA_CHECK(anchors.size(0) >= 1, "triplet loss needs at least 1 triplet");
  check_finite(anchors, "anchors");
  check_finite(positives, "positives");
  check_finite(negatives, "negatives");
  namespace F = torch::nn::functional;
  auto rows = [&](const at::Tensor& t) {
    return o.normalize() ? F::normalize(t, F::NormalizeFuncOptions().dim(1).eps(1e-12)) : t;
  };
  const at::Tensor a = rows(anchors);
  // Row-wise similarity: the diagonal of [T, T] would waste T^2 work, so pair rows directly
  // through a [T, 2, d] batch against the anchor.
  auto cand = torch::stack({rows(positives), rows(negatives)}, 1);           // [T, 2, d]
  at::Tensor s;                                                              // [T, 2]
  switch (o.similarity()) {
    case Similarity::kCosine: {
      auto an = F::normalize(a, F::NormalizeFuncOptions().dim(1).eps(1e-12));
      auto cn = F::normalize(cand, F::NormalizeFuncOptions().dim(2).eps(1e-12));
      s = torch::bmm(cn, an.unsqueeze(2)).squeeze(2);
      break;
    }
    case Similarity::kDot:
      s = torch::bmm(cand, a.unsqueeze(2)).squeeze(2);
      break;
    case Similarity::kNegSquaredEuclidean:
    case Similarity::kNegEuclidean: {
      auto d2 = (cand - a.unsqueeze(1)).pow(2).sum(2);
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

ContrastiveOutput triplet_loss_from_similarity(const at::Tensor& similarity,
                                               const at::Tensor& anchor,
                                               const at::Tensor& positive,
                                               const at::Tensor& negative,
                                               const TripletOptions& o) {
  check_triplet_options(o);
  CONTRA_CHECK(similarity.dim() == 2 && similarity.size(0) == similarity.size(1),
               "triplet loss needs a square similarity matrix [N, N], got ", similarity.sizes());
  CONTRA_CHECK(anchor.dim() == 1 && anchor.sizes() == positive.sizes() &&
                   anchor.sizes() == negative.sizes(),
               "triplet indices must be three [T] tensors, got ", anchor.sizes(), ", ",
               positive.sizes(), " and ", negative.sizes());
  check_finite(similarity, "similarities");
  const int64_t n = similarity.size(0);
  auto flat = similarity.reshape({-1});
  auto s_ap = flat.index_select(0, anchor * n + positive);
  auto s_an = flat.index_select(0, anchor * n + negative);
  auto per = torch::relu(s_an - s_ap + o.margin());
  ContrastiveOutput out;
  out.loss = reduce(per, similarity, o);
  torch::NoGradGuard no_grad;
  if (per.numel() > 0) {
    out.positive_sim = s_ap.mean().item<double>();
    out.negative_sim = s_an.mean().item<double>();
    out.top1 = (s_ap > s_an).to(torch::kDouble).mean().item<double>();
    out.active = (per > 0).to(torch::kDouble).mean().item<double>();
  } else {
    out.active = 0.0;
  }
  return out;
}

}  // namespace functional
}  // namespace contra::losses
