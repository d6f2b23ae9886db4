#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/output.h"
#include "contra/losses/similarity.h"

namespace contra::losses {

/// NT-Xent: "A Simple Framework for Contrastive Learning of Visual Representations" (Chen et al.,
/// 2020). Over the 2N views, each view's positive is the other view of its sample and its
/// negatives are the other 2N - 2 views; self-similarity is masked out.
struct NTXentOptions {
  /// Softmax temperature, > 0 (default 0.5).
  TORCH_ARG(double, temperature) = 0.5;
  /// Similarity between embeddings (default cosine).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
};

namespace functional {
/// z1, z2: [N, d], row i of each is a view of sample i; N >= 2 (one negative at least).
/// Numerically stable (log-sum-exp over finite logits; the masked diagonal never enters it).
ContrastiveOutput nt_xent(const at::Tensor& z1, const at::Tensor& z2,
                          const NTXentOptions& options = {});

/// NT-Xent over the anchors of samples [begin, end) only (both views of each), against all 2N
/// views: the mean over those 2(end - begin) anchors and their diagnostics. With several
/// processes each scoring its own samples' anchors, the mean of their losses is nt_xent's; the
/// work and memory are O((end - begin) N). nt_xent is nt_xent_rows(z1, z2, 0, N).
ContrastiveOutput nt_xent_rows(const at::Tensor& z1, const at::Tensor& z2, int64_t begin,
                               int64_t end, const NTXentOptions& options = {});
}  // namespace functional

}  // namespace contra::losses
