#include "contra/losses/nt_xent.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::losses::functional {

ContrastiveOutput nt_xent(const at::Tensor& z1, const at::Tensor& z2,
                          const NTXentOptions& options) {
  CONTRA_CHECK(z1.dim() == 2, "NT-Xent needs two [N, d] views, got ", z1.sizes());
  return nt_xent_rows(z1, z2, 0, z1.size(0), options);
}

ContrastiveOutput nt_xent_rows(const at::Tensor& z1, const at::Tensor& z2, int64_t begin,
                               int64_t end, const NTXentOptions& options) {
  CONTRA_CHECK(options.temperature() > 0 && std::isfinite(options.temperature()),
               "loss.temperature must be > 0, got ", options.temperature());
  CONTRA_CHECK(z1.dim() == 2 && z1.sizes() == z2.sizes(),
               "NT-Xent needs two [N, d] views of equal shape, got ", z1.sizes(), " and ",
               z2.sizes());
  const int64_t n = z1.size(0);
  CONTRA_CHECK(n >= 2, "NT-Xent needs at least 2 samples per batch (one negative), got ", n);
  CONTRA_CHECK(0 <= begin && begin < end && end <= n, "NT-Xent anchor samples [", begin, ", ",
               end, ") must be a non-empty range within [0, ", n, ")");
  const int64_t m = end - begin;
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(z1.device());

  auto z = torch::cat({z1, z2}, 0);                                    // [2N, d]
  // The anchors' rows of z: samples [begin, end) of view 1, then of view 2.
  auto rows = torch::cat({torch::arange(begin, end, long_opts), torch::arange(n + begin, n + end, long_opts)});
  auto anchors = m == n ? z : z.index_select(0, rows);                 // [2m, d]
  auto sim = similarity_matrix(anchors, z, options.similarity());      // [2m, 2N]
  auto self = torch::zeros_like(sim, sim.options().dtype(torch::kBool)).scatter_(1, rows.unsqueeze(1), true);
  auto logits = (sim / options.temperature())
                    .masked_fill(self, -std::numeric_limits<double>::infinity());
  // Each anchor's positive is the other view of its sample.
  auto target = torch::cat({torch::arange(n + begin, n + end, long_opts), torch::arange(begin, end, long_opts)});
  ContrastiveOutput out;
  // log_softmax subtracts each row's max: stable for any temperature; the -inf self adds 0.
  out.loss = torch::nll_loss(torch::log_softmax(logits, 1), target);

  torch::NoGradGuard no_grad;
  auto s = sim.detach();
  auto pos = s.gather(1, target.unsqueeze(1)).squeeze(1);              // [2m]
  const double neg_count = double(2 * m) * double(2 * n - 2);
  auto neg_sum = s.sum() - s.gather(1, rows.unsqueeze(1)).sum() - pos.sum();
  out.positive_sim = pos.mean().item<double>();
  out.negative_sim = neg_sum.item<double>() / neg_count;
  auto argmax = logits.detach().argmax(1);
  out.top1 = argmax.eq(target).to(torch::kDouble).mean().item<double>();
  return out;
}

}  // namespace contra::losses::functional
