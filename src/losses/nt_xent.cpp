#include "contra/losses/nt_xent.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::losses::functional {

ContrastiveOutput nt_xent(const at::Tensor& z1, const at::Tensor& z2,
                          const NTXentOptions& options) {
  CONTRA_CHECK(options.temperature() > 0 && std::isfinite(options.temperature()),
               "loss.temperature must be > 0, got ", options.temperature());
  CONTRA_CHECK(z1.dim() == 2 && z1.sizes() == z2.sizes(),
               "NT-Xent needs two [N, d] views of equal shape, got ", z1.sizes(), " and ",
               z2.sizes());
  const int64_t n = z1.size(0);
  CONTRA_CHECK(n >= 2, "NT-Xent needs at least 2 samples per batch (one negative), got ", n);

  auto z = torch::cat({z1, z2}, 0);                                    // [2N, d]
  auto sim = similarity_matrix(z, z, options.similarity());            // [2N, 2N]
  auto self = torch::eye(2 * n, sim.options().dtype(torch::kBool));
  auto logits = (sim / options.temperature())
                    .masked_fill(self, -std::numeric_limits<double>::infinity());
  auto target = torch::cat({torch::arange(n, 2 * n), torch::arange(0, n)})
                    .to(torch::TensorOptions().dtype(torch::kLong).device(z.device()));
  ContrastiveOutput out;
  // log_softmax subtracts each row's max: stable for any temperature; the -inf diagonal adds 0.
  out.loss = torch::nll_loss(torch::log_softmax(logits, 1), target);

  torch::NoGradGuard no_grad;
  auto s = sim.detach();
  auto pos = s.gather(1, target.unsqueeze(1)).squeeze(1);              // [2N]
  const double neg_count = double(2 * n) * double(2 * n - 2);
  auto neg_sum = s.sum() - s.diagonal().sum() - pos.sum();
  out.positive_sim = pos.mean().item<double>();
  out.negative_sim = neg_sum.item<double>() / neg_count;
  auto argmax = logits.detach().argmax(1);
  out.top1 = argmax.eq(target).to(torch::kDouble).mean().item<double>();
  return out;
}

}  // namespace contra::losses::functional
