#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/output.h"
#include "contra/losses/similarity.h"

namespace contra::losses {

/// SigLIP's pairwise sigmoid loss: "Sigmoid Loss for Language Image Pre-Training" (Zhai et al.,
/// 2023). Every (image i, text j) pair of a batch of N pairs is a binary problem on its own,
/// z_ij = +1 for i == j and -1 otherwise, logit l_ij = scale * sim(x_i, y_j) + bias:
///
///     loss = -(1 / N) sum_i sum_j log sigmoid(z_ij l_ij)
///
/// (the paper's normalisation: by N, not N^2). No softmax, so no batch-wide normaliser.
struct SigLipOptions {
  /// Similarity between embeddings (default cosine, as the paper).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
  /// The scale t and bias b: one-element floating tensors that may require gradient (the paper
  /// learns both, t = exp(t') from t' = log 10, b from -10). Undefined: the paper's initial
  /// values, 10 and -10, as constants (default undefined).
  TORCH_ARG(at::Tensor, scale) = {};
  TORCH_ARG(at::Tensor, bias) = {};
};

namespace functional {
/// a: [N, d] (images), b: [N, d] (texts), row i of each is pair i; N >= 2. Diagnostics as
/// clip_loss's: positive_sim / negative_sim are the means of the diagonal and off-diagonal
/// similarities; top1 averages image->text and text->image (the positive at least as high as
/// every other).
ContrastiveOutput siglip_loss(const at::Tensor& a, const at::Tensor& b, const SigLipOptions& options = {});

/// The terms of images [begin, end) only, against all N texts, divided by end - begin: with
/// several processes each scoring its own images, the mean of their losses is siglip_loss's.
/// siglip_loss is siglip_loss_rows(a, b, 0, N).
ContrastiveOutput siglip_loss_rows(const at::Tensor& a, const at::Tensor& b, int64_t begin,
                                   int64_t end, const SigLipOptions& options = {});
}  // namespace functional

}  // namespace contra::losses
