#include "contra/losses/siglip.h"

#include <cmath>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::losses::functional {

namespace {

/// The paper's initial scale and bias.
constexpr double kSigLipScale = 10.0, kSigLipBias = -10.0;

/// `value` as a scalar for the logits: the tensor (with its gradient) or the constant.
at::Tensor siglip_term(const at::Tensor& value, double fallback, const at::Tensor& like, const char* name) {
  if (!value.defined()) return torch::full({}, fallback, like.options());
  CONTRA_CHECK(value.numel() == 1 && value.is_floating_point(), "the SigLIP ", name,
               " must be one floating-point value, got shape ", value.sizes());
  CONTRA_CHECK(std::isfinite(value.detach().item<double>()), "the SigLIP ", name, " is not finite");
  return value.reshape({});
}

}  // namespace

ContrastiveOutput siglip_loss(const at::Tensor& a, const at::Tensor& b, const SigLipOptions& options) {
  CONTRA_CHECK(a.dim() == 2 && a.sizes() == b.sizes(),
               "SigLIP loss needs image and text embeddings [N, d] of equal shape, got ", a.sizes(),
               " and ", b.sizes());
  return siglip_loss_rows(a, b, 0, a.size(0), options);
}

ContrastiveOutput siglip_loss_rows(const at::Tensor& a, const at::Tensor& b, int64_t begin,
                                   int64_t end, const SigLipOptions& options) {
  CONTRA_CHECK(a.dim() == 2 && a.sizes() == b.sizes(),
               "SigLIP loss needs image and text embeddings [N, d] of equal shape, got ", a.sizes(),
               " and ", b.sizes());
  const int64_t n = a.size(0);
  CONTRA_CHECK(n >= 2, "SigLIP loss needs at least 2 pairs per batch (one negative), got ", n);
  CONTRA_CHECK(0 <= begin && begin < end && end <= n, "SigLIP loss rows [", begin, ", ", end,
               ") outside the batch of ", n);
  const auto scale = siglip_term(options.scale(), kSigLipScale, a, "scale");
  const auto bias = siglip_term(options.bias(), kSigLipBias, a, "bias");
  CONTRA_CHECK(scale.detach().item<double>() > 0, "the SigLIP scale must be > 0, got ",
               scale.detach().item<double>());
  const int64_t m = end - begin;
  auto sim = similarity_matrix(a.slice(0, begin, end), b, options.similarity());  // [m, N]
  // z_ij = +1 on pair i's own text (column begin + i), -1 elsewhere.
  auto z = -torch::ones_like(sim);
  z.narrow(1, begin, m).diagonal().fill_(1.0);
  ContrastiveOutput out;
  out.loss = -torch::log_sigmoid(z * (sim * scale + bias)).sum() / double(m);

  torch::NoGradGuard no_grad;
  auto s = sim.detach();
  auto pos = s.narrow(1, begin, m).diagonal();
  out.positive_sim = pos.mean().item<double>();
  out.negative_sim = (s.sum().item<double>() - pos.sum().item<double>()) / double(m * (n - 1));
  auto cols = similarity_matrix(b.slice(0, begin, end).detach(), a.detach(), options.similarity());
  auto row_top1 = (pos >= std::get<0>(s.max(1))).to(torch::kDouble).mean();
  auto col_top1 = (cols.narrow(1, begin, m).diagonal() >= std::get<0>(cols.max(1))).to(torch::kDouble).mean();
  out.top1 = ((row_top1 + col_top1) / 2).item<double>();
  return out;
}

}  // namespace contra::losses::functional
