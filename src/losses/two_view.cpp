#include "contra/losses/two_view.h"

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/losses/info_nce.h"
#include "contra/losses/supcon.h"
#include "contra/losses/tiled.h"

namespace contra::losses {

TwoViewLoss two_view_loss_from_string(const std::string& name) {
  static const NameTable<TwoViewLoss, 4> kNames = {{"nt_xent", TwoViewLoss::kNTXent},
                                                   {"debiased", TwoViewLoss::kDebiased},
                                                   {"hard_negative", TwoViewLoss::kHardNegative},
                                                   {"supcon", TwoViewLoss::kSupCon}};
  return from_name(kNames, name, "loss");
}

TiledMode tiled_mode_from_string(const std::string& name) {
  static const NameTable<TiledMode, 3> kNames = {
      {"auto", TiledMode::kAuto}, {"on", TiledMode::kOn}, {"off", TiledMode::kOff}};
  return from_name(kNames, name, "tiled mode");
}

namespace functional {

ContrastiveOutput two_view_loss(const at::Tensor& z1, const at::Tensor& z2,
                                const at::Tensor& labels, const TwoViewLossOptions& o) {
  CONTRA_CHECK(o.tiled() != TiledMode::kOn || o.kind() == TwoViewLoss::kNTXent,
               "loss.tiled=on needs loss.name=nt_xent (the other losses have no tiled pass)");
  switch (o.kind()) {
    case TwoViewLoss::kNTXent: {
      const bool tiled = o.tiled() == TiledMode::kOn ||
                         (o.tiled() == TiledMode::kAuto && z1.size(0) >= kTiledAutoMinPairs);
      if (tiled)
        return tiled_contrastive(z1, z2,
                                 TiledContrastiveOptions()
                                     .objective(TiledObjective::kNTXent)
                                     .temperature(o.temperature())
                                     .similarity(o.similarity())
                                     .tile_size(o.tile_size()));
      return nt_xent(z1, z2, NTXentOptions().temperature(o.temperature()).similarity(o.similarity()));
    }
    case TwoViewLoss::kSupCon: {
      CONTRA_CHECK(labels.defined(), "loss supcon needs labels (-1 where unknown)");
      return supcon(z1, z2, labels,
                    SupConOptions().temperature(o.temperature()).similarity(o.similarity()));
    }
    case TwoViewLoss::kDebiased:
    case TwoViewLoss::kHardNegative: {
      auto opts = InfoNCEOptions()
                      .temperature(o.temperature())
                      .similarity(o.similarity())
                      .in_batch(true)
                      .in_batch_queries(true);
      if (o.kind() == TwoViewLoss::kDebiased) opts.debias_tau_plus(o.tau_plus());
      else opts.hard_beta(o.hard_beta());
      // Both directions: every one of the 2N views is an anchor once, as in NT-Xent.
      auto a = info_nce(z1, z2, opts), b = info_nce(z2, z1, opts);
      ContrastiveOutput out;
      out.loss = (a.loss + b.loss) / 2;
      out.positive_sim = (a.positive_sim + b.positive_sim) / 2;
      out.negative_sim = (a.negative_sim + b.negative_sim) / 2;
      out.top1 = (a.top1 + b.top1) / 2;
      return out;
    }
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled TwoViewLoss");
}

}  // namespace functional
}  // namespace contra::losses
