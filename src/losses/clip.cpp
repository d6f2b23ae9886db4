#include "contra/losses/clip.h"

#include <cmath>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::losses::functional {

ContrastiveOutput clip_loss(const at::Tensor& a, const at::Tensor& b, const ClipOptions& options) {
  const double t = options.temperature();
  CONTRA_CHECK(t > 0 && std::isfinite(t), "loss.temperature must be > 0, got ", t);
  CONTRA_CHECK(a.dim() == 2 && a.sizes() == b.sizes(),
               "CLIP loss needs image and text embeddings [N, d] of equal shape, got ", a.sizes(),
               " and ", b.sizes());
  const int64_t n = a.size(0);
  CONTRA_CHECK(n >= 2, "CLIP loss needs at least 2 pairs per batch (one negative), got ", n);

  auto sim = similarity_matrix(a, b, options.similarity());  // [N, N]
  auto logits = sim / t;
  auto target = torch::arange(n, torch::TensorOptions().dtype(torch::kLong).device(a.device()));
  ContrastiveOutput out;
  out.loss = (torch::nll_loss(torch::log_softmax(logits, 1), target) +
              torch::nll_loss(torch::log_softmax(logits.t(), 1), target)) /
             2;

  torch::NoGradGuard no_grad;
  auto s = sim.detach();
  auto pos = s.diagonal();
  out.positive_sim = pos.mean().item<double>();
  out.negative_sim = (s.sum().item<double>() - pos.sum().item<double>()) / double(n * (n - 1));
  // Every negative is below or equal to the positive iff the max over the row (column) is.
  auto row_top1 = (pos >= std::get<0>(s.max(1))).to(torch::kDouble).mean();
  auto col_top1 = (pos >= std::get<0>(s.max(0))).to(torch::kDouble).mean();
  out.top1 = ((row_top1 + col_top1) / 2).item<double>();
  return out;
}

}  // namespace contra::losses::functional
