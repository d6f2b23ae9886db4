#pragma once
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/nt_xent.h"
#include "contra/losses/similarity.h"

namespace contra::losses {

/// Triplet loss with margin: "FaceNet: A Unified Embedding for Face Recognition and Clustering"
/// (Schroff et al., 2015); batch-hard and batch-all mining: "In Defense of the Triplet Loss for
/// Person Re-Identification" (Hermans et al., 2017). Written with similarities s (higher =
/// closer), so it holds for every Similarity; with s = -distance it is the usual
///   loss(a, p, n) = max(0, s_an - s_ap + margin) = max(0, d_ap - d_an + margin).
enum class TripletMining {
  kBatchAll,   ///< every valid (anchor, positive, negative) triplet
  kBatchHard,  ///< per anchor: its least similar positive and its most similar negative
  kSemiHard,   ///< triplets whose negative lies in the margin band: s_ap - margin < s_an < s_ap
  kHard,       ///< triplets whose negative is at least as similar as the positive: s_an >= s_ap
};
/// "batch_all" | "batch_hard" | "semi_hard" | "hard".
TripletMining triplet_mining_from_string(const std::string& name);
std::string to_string(TripletMining kind);

struct TripletOptions {
  /// Margin alpha >= 0, in the similarity's units (default 0.2).
  TORCH_ARG(double, margin) = 0.2;
  /// Similarity between embeddings (default cosine).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
  /// How mined_triplet_loss picks triplets (default semi-hard).
  TORCH_ARG(TripletMining, mining) = TripletMining::kSemiHard;
  /// Average over the triplets with a non-zero loss only, as Hermans et al. do for batch-all;
  /// otherwise over all picked triplets (default true).
  TORCH_ARG(bool, average_nonzero) = true;
};

namespace functional {
/// Explicit triplets: anchors, positives, negatives [T, d] -> mean loss over the T triplets.
/// Diagnostics: mean s_ap, mean s_an, top1 = share with s_ap > s_an, active = share with loss > 0.
ContrastiveOutput triplet_loss(const at::Tensor& anchors, const at::Tensor& positives,
                               const at::Tensor& negatives, const TripletOptions& options = {});

/// Mined triplets within a batch. embeddings: [N, d]; labels: [N] int64 >= 0; two rows are a
/// positive pair when their labels are equal (for two views of N samples: labels = sample ids).
/// Triplets are picked by options.mining on detached similarities; the loss runs through the
/// similarity matrix, so gradients reach every embedding used. No triplet picked (or all
/// zero): the loss is 0 with a graph. Diagnostics: mean similarity of positive and negative
/// pairs, top1 = share of anchors whose most similar other row is a positive, active = share of
/// anchors with at least one triplet of non-zero loss.
ContrastiveOutput mined_triplet_loss(const at::Tensor& embeddings, const at::Tensor& labels,
                                     const TripletOptions& options = {});
}  // namespace functional

}  // namespace contra::losses
