#include "contra/losses/two_view.h"

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/losses/info_nce.h"
#include "contra/losses/supcon.h"

namespace contra::losses {

TwoViewLoss two_view_loss_from_string(const std::string& name) {
  static const NameTable<TwoViewLoss, 6> kNames = {{"nt_xent", TwoViewLoss::kNTXent},
                                                   {"debiased", TwoViewLoss::kDebiased},
                                                   {"hard_negative", TwoViewLoss::kHardNegative},
                                                   {"supcon", TwoViewLoss::kSupCon},
                                                   {"decoupled", TwoViewLoss::kDecoupled},
                                                   {"triplet", TwoViewLoss::kTriplet}};
  return from_name(kNames, name, "loss");
}

namespace functional {
namespace {

/// InfoNCE in both directions over the 2N views with NT-Xent's negatives: every view is an
/// anchor once.
ContrastiveOutput symmetric_info_nce(const at::Tensor& z1, const at::Tensor& z2,
                                     InfoNCEOptions opts) {
  opts.in_batch(true).in_batch_queries(true);
  auto a = info_nce(z1, z2, opts), b = info_nce(z2, z1, opts);
  ContrastiveOutput out;
  out.loss = (a.loss + b.loss) / 2;
  out.positive_sim = (a.positive_sim + b.positive_sim) / 2;
  out.negative_sim = (a.negative_sim + b.negative_sim) / 2;
  out.top1 = (a.top1 + b.top1) / 2;
  out.active = (a.active + b.active) / 2;
  return out;
}

}  // namespace

ContrastiveOutput two_view_loss(const at::Tensor& z1, const at::Tensor& z2,
                                const at::Tensor& labels, const TwoViewLossOptions& o) {
  auto opts = InfoNCEOptions()
                  .temperature(o.temperature())
                  .similarity(o.similarity())
                  .negatives(o.negatives());
  switch (o.kind()) {
    case TwoViewLoss::kNTXent:
      if (o.negatives().kind() == NegativeSampling::kAll)
        return nt_xent(z1, z2, NTXentOptions().temperature(o.temperature()).similarity(o.similarity()));
      return symmetric_info_nce(z1, z2, opts);
    case TwoViewLoss::kSupCon: {
      CONTRA_CHECK(labels.defined(), "loss supcon needs labels (-1 where unknown)");
      return supcon(z1, z2, labels,
                    SupConOptions().temperature(o.temperature()).similarity(o.similarity()));
    }
    case TwoViewLoss::kDebiased: return symmetric_info_nce(z1, z2, opts.debias_tau_plus(o.tau_plus()));
    case TwoViewLoss::kHardNegative: return symmetric_info_nce(z1, z2, opts.hard_beta(o.hard_beta()));
    case TwoViewLoss::kDecoupled:
      return symmetric_info_nce(z1, z2, opts.decoupled(true).decoupled_sigma(o.decoupled_sigma()));
    case TwoViewLoss::kTriplet: {
      CONTRA_CHECK(z1.dim() == 2 && z1.sizes() == z2.sizes(),
                   "triplet loss needs two [N, d] views of equal shape, got ", z1.sizes(),
                   " and ", z2.sizes());
      auto ids = torch::arange(z1.size(0), torch::TensorOptions().dtype(torch::kLong).device(z1.device()));
      return mined_triplet_loss(torch::cat({z1, z2}), torch::cat({ids, ids}),
                                TripletOptions()
                                    .margin(o.margin())
                                    .similarity(o.similarity())
                                    .mining(o.mining()));
    }
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled TwoViewLoss");
}

}  // namespace functional
}  // namespace contra::losses
