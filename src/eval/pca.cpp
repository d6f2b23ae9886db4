#include "contra/eval/pca.h"

#include <torch/torch.h>

#include "eval_checks.h"

namespace contra::eval {

PcaResult pca(const at::Tensor& x, int64_t k) {
  torch::NoGradGuard no_grad;
  CONTRA_CHECK(x.defined() && x.dim() == 2 && x.size(0) >= 2 && x.size(1) >= 1,
               "PCA: needs [N, d] features with N >= 2, got shape ", detail::shape_str(x));
  CONTRA_CHECK(k >= 1 && k <= std::min(x.size(0), x.size(1)), "PCA: k must be in [1, ",
               std::min(x.size(0), x.size(1)), "], got ", k);
  const auto xd = x.to(torch::kDouble);
  CONTRA_CHECK(torch::isfinite(xd).all().item<bool>(), "PCA: features contain NaN or Inf");
  const auto centred = xd - xd.mean(0, true);
  // centred = U S V^T; the scores are U S = centred V.
  const auto [u, s, vh] = torch::linalg_svd(centred, /*full_matrices=*/false);
  auto components = vh.slice(0, 0, k);  // [k, d]
  const auto largest = components.abs().argmax(1, true);
  // sign 0 only for an all-zero component (no variance left): kept as it is.
  const auto sign = torch::sign(components.gather(1, largest));
  components = components * torch::where(sign == 0, torch::ones_like(sign), sign);
  const auto variance = s * s;
  const double total = variance.sum().item<double>();
  PcaResult r;
  r.scores = torch::mm(centred, components.t());
  r.explained = total > 0 ? variance.slice(0, 0, k) / total : torch::zeros({k}, torch::kDouble);
  return r;
}

}  // namespace contra::eval
