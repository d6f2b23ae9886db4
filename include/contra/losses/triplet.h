#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/nt_xent.h"
#include "contra/losses/similarity.h"

namespace contra::losses {

/// Triplet loss with margin: "FaceNet: A Unified Embedding for Face Recognition and Clustering"
/// (Schroff et al., 2015). Written with similarities s (higher = closer), so it holds for every
/// Similarity; with s = -distance it is the usual
///   loss(a, p, n) = max(0, s_an - s_ap + margin) = max(0, d_ap - d_an + margin).
/// Which triplets to use is a miner's choice (negatives/triplets.h).
struct TripletOptions {
  /// Margin alpha >= 0, in the similarity's units (default 0.2).
  TORCH_ARG(double, margin) = 0.2;
  /// Similarity between embeddings (default cosine).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
  /// Average over the triplets with a non-zero loss only, as Hermans et al. do for batch-all;
  /// otherwise over all triplets (default true).
  TORCH_ARG(bool, average_nonzero) = true;
  /// L2-normalise the embeddings before the similarity, as pytorch-metric-learning's default
  /// distance (LpDistance(normalize_embeddings=True)) does; with Similarity::kL2 the loss is then
  /// PML's TripletMarginLoss. Read by the mined objective (methods/objective.h), which builds the
  /// similarity matrix (default false: the raw embeddings).
  TORCH_ARG(bool, normalize) = false;
};

namespace functional {
/// Explicit triplets: anchors, positives, negatives [T, d] -> mean loss over the T triplets.
/// Diagnostics: mean s_ap, mean s_an, top1 = share with s_ap > s_an, active = share with loss > 0.
ContrastiveOutput triplet_loss(const at::Tensor& anchors, const at::Tensor& positives,
                               const at::Tensor& negatives, const TripletOptions& options = {});

/// Triplets given as indices into a similarity matrix (what a miner picked): similarity [N, N]
/// (with gradient), anchor / positive / negative int64 [T]. The loss flows through the matrix
/// to every embedding used; no triplet gives 0 with a graph. Diagnostics over the triplets.
ContrastiveOutput triplet_loss_from_similarity(const at::Tensor& similarity,
                                               const at::Tensor& anchor,
                                               const at::Tensor& positive,
                                               const at::Tensor& negative,
                                               const TripletOptions& options = {});
}  // namespace functional

}  // namespace contra::losses
