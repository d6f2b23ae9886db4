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
  const int64_t n = centred.size(0), d = centred.size(1);
  // The eigenvectors of the smaller of the two Gram matrices (a matrix product and a symmetric
  // eigendecomposition: much cheaper than an SVD of the [N, d] matrix itself).
  at::Tensor components, variance;  // [k, d] and all eigenvalues, descending
  if (d <= n) {
    const auto [values, vectors] = torch::linalg_eigh(torch::mm(centred.t(), centred));  // ascending
    variance = values.flip(0).clamp_min(0.0);
    components = vectors.flip(1).slice(1, 0, k).t();
  } else {
    const auto [values, vectors] = torch::linalg_eigh(torch::mm(centred, centred.t()));
    variance = values.flip(0).clamp_min(0.0);
    const auto top = vectors.flip(1).slice(1, 0, k);            // [n, k]
    const auto sigma = variance.slice(0, 0, k).sqrt().clamp_min(1e-300);
    components = (torch::mm(centred.t(), top) / sigma).t();     // right singular vectors
  }
  // Each component's sign: its largest-magnitude loading positive (0 only for an all-zero
  // component, no variance left: kept as it is).
  const auto largest = components.abs().argmax(1, true);
  const auto sign = torch::sign(components.gather(1, largest));
  components = components * torch::where(sign == 0, torch::ones_like(sign), sign);
  const double total = variance.sum().item<double>();
  PcaResult r;
  r.scores = torch::mm(centred, components.t());
  r.explained = total > 0 ? variance.slice(0, 0, k) / total : torch::zeros({k}, torch::kDouble);
  return r;
}

}  // namespace contra::eval
