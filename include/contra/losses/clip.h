#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/nt_xent.h"
#include "contra/losses/similarity.h"

namespace contra::losses {

/// Symmetric CLIP loss: "Learning Transferable Visual Models From Natural Language Supervision"
/// (Radford et al., 2021). Over the [N, N] similarities of N (image, text) pairs, the mean of the
/// image->text cross entropy (rows) and the text->image cross entropy (columns); pair i is the
/// positive of both its image and its text, the other N - 1 of each are negatives.
struct ClipOptions {
  /// Softmax temperature, > 0 (default 0.07, CLIP's initial value; CLIP learns it). Not used
  /// when `scale` is defined.
  TORCH_ARG(double, temperature) = 0.07;
  /// Similarity between embeddings (default cosine).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
  /// The learned form: logits = scale * similarity, with `scale` a one-element floating tensor
  /// > 0 (CLIP's exp(logit_scale)) that may require gradient, which the loss then receives.
  /// Undefined: logits = similarity / temperature (default undefined).
  TORCH_ARG(at::Tensor, scale) = {};
};

namespace functional {
/// a: [N, d] (images), b: [N, d] (texts), row i of each is pair i; N >= 2. The plain form:
/// materialises the [N, N] matrix (tiled_contrastive computes the same in linear memory).
/// Diagnostics: positive_sim / negative_sim are the means of the diagonal and off-diagonal
/// similarities; top1 averages both directions (share of images whose text scores at least
/// as high as every other text, and of texts likewise).
ContrastiveOutput clip_loss(const at::Tensor& a, const at::Tensor& b,
                            const ClipOptions& options = {});

/// The CLIP loss of pairs [begin, end) only: their images against all N texts (rows) and their
/// texts against all N images (columns), the mean of both directions' mean cross entropy, and
/// the diagnostics of those rows and columns. With several processes each scoring its own pairs
/// against every rank's embeddings, the mean of their losses is clip_loss's; work and memory are
/// O((end - begin) N). clip_loss is clip_loss_rows(a, b, 0, N).
ContrastiveOutput clip_loss_rows(const at::Tensor& a, const at::Tensor& b, int64_t begin,
                                 int64_t end, const ClipOptions& options = {});
}  // namespace functional

}  // namespace contra::losses
