#include "contra/losses/supcon.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::losses::functional {

ContrastiveOutput supcon(const at::Tensor& z1, const at::Tensor& z2, const at::Tensor& labels,
                         const SupConOptions& options) {
  CONTRA_CHECK(options.temperature() > 0 && std::isfinite(options.temperature()),
               "loss.temperature must be > 0, got ", options.temperature());
  CONTRA_CHECK(z1.dim() == 2 && z1.sizes() == z2.sizes(),
               "SupCon needs two [N, d] views of equal shape, got ", z1.sizes(), " and ",
               z2.sizes());
  const int64_t n = z1.size(0);
  CONTRA_CHECK(n >= 2, "SupCon needs at least 2 samples per batch, got ", n);
  CONTRA_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == n,
               "SupCon labels must be [N] with N = ", n, " as the views ", z1.sizes(), ", got ",
               labels.defined() ? labels.sizes() : at::IntArrayRef{});
  CONTRA_CHECK(labels.scalar_type() == torch::kLong, "SupCon labels must be int64, got ",
               labels.scalar_type());
  const int64_t min_label = labels.min().item<int64_t>();
  CONTRA_CHECK(min_label >= -1, "SupCon labels must be >= 0, or -1 for unlabeled, got ",
               min_label);
  CONTRA_CHECK(torch::isfinite(z1).all().item<bool>(), "SupCon z1 contains NaN or Inf");
  CONTRA_CHECK(torch::isfinite(z2).all().item<bool>(), "SupCon z2 contains NaN or Inf");

  auto z = torch::cat({z1, z2}, 0);                                    // [2N, d]
  auto sim = similarity_matrix(z, z, options.similarity());            // [2N, 2N]
  auto self = torch::eye(2 * n, sim.options().dtype(torch::kBool));
  auto logits = (sim / options.temperature())
                    .masked_fill(self, -std::numeric_limits<double>::infinity());

  // Positive mask [2N, 2N]: the other view of the same sample, or a known equal label.
  auto lab = torch::cat({labels, labels}).to(z.device());              // [2N]
  auto partner = torch::cat({torch::arange(n, 2 * n), torch::arange(0, n)})
                     .to(torch::TensorOptions().dtype(torch::kLong).device(z.device()));
  auto is_partner = torch::zeros({2 * n, 2 * n}, self.options())
                        .scatter_(1, partner.unsqueeze(1), true);
  auto known = lab.ne(-1);
  auto same_label = lab.unsqueeze(1).eq(lab.unsqueeze(0)) & known.unsqueeze(1) &
                    known.unsqueeze(0);
  auto positive = (is_partner | same_label) & self.logical_not();     // [2N, 2N]
  auto num_pos = positive.sum(1).to(sim.scalar_type());                // [2N], >= 1

  // log_softmax subtracts each row's max: stable for any temperature. Entries outside the
  // positive mask (including the -inf diagonal) are zeroed before the sum, so no -inf * 0.
  auto log_prob = torch::log_softmax(logits, 1);
  auto per_anchor = -log_prob.masked_fill(positive.logical_not(), 0).sum(1) / num_pos;
  ContrastiveOutput out;
  out.loss = per_anchor.mean();

  torch::NoGradGuard no_grad;
  auto s = sim.detach();
  auto negative = positive.logical_not() & self.logical_not();
  const double pos_count = positive.sum().item<double>();
  const double neg_count = negative.sum().item<double>();
  out.positive_sim = pos_count > 0 ? s.masked_select(positive).sum().item<double>() / pos_count
                                   : 0.0;
  out.negative_sim = neg_count > 0 ? s.masked_select(negative).sum().item<double>() / neg_count
                                   : 0.0;
  auto argmax = logits.detach().argmax(1);
  out.top1 = positive.gather(1, argmax.unsqueeze(1)).to(torch::kDouble).mean().item<double>();
  return out;
}

}  // namespace contra::losses::functional
