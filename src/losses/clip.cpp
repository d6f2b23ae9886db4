#include "contra/losses/clip.h"

#include <cmath>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::losses::functional {

namespace {

/// Checks the scale of ClipOptions / SigLIP: one finite element > 0.
void check_clip_scale(const at::Tensor& scale) {
  CONTRA_CHECK(scale.numel() == 1 && scale.is_floating_point(),
               "the CLIP loss's scale must be one floating-point value, got shape ", scale.sizes());
  const double s = scale.detach().item<double>();
  CONTRA_CHECK(s > 0 && std::isfinite(s), "the CLIP loss's scale must be > 0 and finite, got ", s);
}

}  // namespace

ContrastiveOutput clip_loss(const at::Tensor& a, const at::Tensor& b, const ClipOptions& options) {
  CONTRA_CHECK(a.dim() == 2 && a.sizes() == b.sizes(),
               "CLIP loss needs image and text embeddings [N, d] of equal shape, got ", a.sizes(),
               " and ", b.sizes());
  return clip_loss_rows(a, b, 0, a.size(0), options);
}

ContrastiveOutput clip_loss_rows(const at::Tensor& a, const at::Tensor& b, int64_t begin,
                                 int64_t end, const ClipOptions& options) {
  const bool learned = options.scale().defined();
  const double t = options.temperature();
  if (learned)
    check_clip_scale(options.scale());
  else
    CONTRA_CHECK(t > 0 && std::isfinite(t), "loss.temperature must be > 0, got ", t);
  CONTRA_CHECK(a.dim() == 2 && a.sizes() == b.sizes(),
               "CLIP loss needs image and text embeddings [N, d] of equal shape, got ", a.sizes(),
               " and ", b.sizes());
  const int64_t n = a.size(0);
  CONTRA_CHECK(n >= 2, "CLIP loss needs at least 2 pairs per batch (one negative), got ", n);
  CONTRA_CHECK(0 <= begin && begin < end && end <= n, "CLIP loss rows [", begin, ", ", end,
               ") outside the batch of ", n);

  // rows: pairs [begin, end)'s images against every text; cols: their texts against every image
  // (the similarities are symmetric, so cols is the transpose of the full matrix's columns).
  auto rows = similarity_matrix(a.slice(0, begin, end), b, options.similarity());  // [m, N]
  auto cols = similarity_matrix(b.slice(0, begin, end), a, options.similarity());  // [m, N]
  auto scale = [&](const at::Tensor& s) { return learned ? s * options.scale().reshape({}) : s / t; };
  auto target = torch::arange(begin, end, torch::TensorOptions().dtype(torch::kLong).device(a.device()));
  ContrastiveOutput out;
  out.loss = (torch::nll_loss(torch::log_softmax(scale(rows), 1), target) +
              torch::nll_loss(torch::log_softmax(scale(cols), 1), target)) /
             2;

  torch::NoGradGuard no_grad;
  const int64_t m = end - begin;
  auto r = rows.detach(), c = cols.detach();
  auto pos = r.narrow(1, begin, m).diagonal();
  out.positive_sim = pos.mean().item<double>();
  out.negative_sim = (r.sum().item<double>() - pos.sum().item<double>()) / double(m * (n - 1));
  // Every negative is below or equal to the positive iff the max over the row (column) is.
  auto row_top1 = (pos >= std::get<0>(r.max(1))).to(torch::kDouble).mean();
  auto col_top1 = (c.narrow(1, begin, m).diagonal() >= std::get<0>(c.max(1))).to(torch::kDouble).mean();
  out.top1 = ((row_top1 + col_top1) / 2).item<double>();
  return out;
}

}  // namespace contra::losses::functional
