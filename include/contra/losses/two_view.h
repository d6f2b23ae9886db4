#pragma once
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/negatives.h"
#include "contra/losses/nt_xent.h"
#include "contra/losses/triplet.h"

namespace contra::losses {

/// The objectives a two-view method (SimCLR) can train with.
enum class TwoViewLoss {
  kNTXent,         ///< NT-Xent (Chen et al. 2020)
  kDebiased,       ///< symmetric InfoNCE with the debiased estimator (Chuang et al. 2020)
  kHardNegative,   ///< symmetric InfoNCE with hard-negative weighting (Robinson et al. 2021)
  kSupCon,         ///< supervised contrastive with partial labels (Khosla et al. 2020)
  kDecoupled,      ///< symmetric decoupled contrastive loss, DCL/DCLW (Yeh et al. 2022)
  kTriplet,        ///< triplet loss with margin over mined triplets of the 2N views
};
/// "nt_xent" | "debiased" | "hard_negative" | "supcon" | "decoupled" | "triplet".
TwoViewLoss two_view_loss_from_string(const std::string& name);

struct TwoViewLossOptions {
  /// Which objective (default NT-Xent).
  TORCH_ARG(TwoViewLoss, kind) = TwoViewLoss::kNTXent;
  /// Softmax temperature, > 0 (default 0.5).
  TORCH_ARG(double, temperature) = 0.5;
  /// Similarity between embeddings (default cosine).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
  /// Debiased: class prior tau_plus in [0, 1) (default 0.1).
  TORCH_ARG(double, tau_plus) = 0.1;
  /// Hard-negative: concentration beta >= 0 (default 1).
  TORCH_ARG(double, hard_beta) = 1.0;
  /// Decoupled: DCLW weighting width sigma >= 0 (default 0: plain DCL).
  TORCH_ARG(double, decoupled_sigma) = 0.0;
  /// Triplet: margin and mining (default 0.2, semi-hard).
  TORCH_ARG(double, margin) = 0.2;
  TORCH_ARG(TripletMining, mining) = TripletMining::kSemiHard;
  /// Which negatives each view uses, for nt_xent, debiased, hard_negative and decoupled
  /// (default all: the other 2N - 2 views).
  TORCH_ARG(NegativeSamplingOptions, negatives) = {};
};

namespace functional {
/// z1, z2: [N, d] two views of N samples; labels: [N] int64, -1 where unknown (read by
/// supcon only; may be undefined otherwise). The InfoNCE variants are symmetric over the 2N
/// views with NT-Xent's negatives (the other 2N - 2 views), so with tau_plus = 0 or beta = 0
/// they equal NT-Xent, as supcon does when no label is known. Triplet: the 2N views labelled by
/// sample, so each view's positive is its other view and every other view is a negative.
ContrastiveOutput two_view_loss(const at::Tensor& z1, const at::Tensor& z2,
                                const at::Tensor& labels, const TwoViewLossOptions& options);
}  // namespace functional

}  // namespace contra::losses
