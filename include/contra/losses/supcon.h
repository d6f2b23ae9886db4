#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/nt_xent.h"
#include "contra/losses/similarity.h"

namespace contra::losses {

/// Supervised contrastive loss, the L_out variant: "Supervised Contrastive Learning" (Khosla et
/// al., 2020), with mixed supervision. Over the 2N views, anchor a's positives P(a) are the
/// other view of its own sample plus every other view whose known label equals a's known label;
/// unlabeled samples (label -1) have only their own other view as positive. Everything else is
/// a negative: known same-label views never are. As in the paper the softmax runs over all
/// 2N - 1 other views A(a) (positives and negatives; self is masked out):
///   loss(a) = -1/|P(a)| sum_{p in P(a)} log(exp(s_ap/t) / sum_{b in A(a)} exp(s_ab/t)),
/// averaged over the 2N anchors. With every label -1 this is exactly NT-Xent.
struct SupConOptions {
  /// Softmax temperature, > 0 (default 0.1, the paper's).
  TORCH_ARG(double, temperature) = 0.1;
  /// Similarity between embeddings (default cosine).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
};

namespace functional {
/// z1, z2: [N, d], row i of each is a view of sample i; N >= 2. labels: [N] int64, a class id
/// >= 0 or -1 for unlabeled. The loss is a scalar (mean over the 2N anchors); positive_sim and
/// negative_sim are the mean similarity over positive and negative (anchor, view) pairs (0 when
/// there are none); top1 is the share of anchors whose most similar other view is a positive.
/// Numerically stable (log_softmax over finite logits; the masked diagonal never enters it).
ContrastiveOutput supcon(const at::Tensor& z1, const at::Tensor& z2, const at::Tensor& labels,
                         const SupConOptions& options = {});
}  // namespace functional

}  // namespace contra::losses
