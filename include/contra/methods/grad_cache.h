#pragma once
#include <cstdint>
#include <functional>

#include <torch/arg.h>
#include <torch/nn/module.h>

#include "contra/losses/nt_xent.h"
#include "contra/methods/simclr.h"

namespace contra::methods {

/// Gradient cache: "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup"
/// (Gao et al., 2021). A contrastive batch larger than activation memory allows:
///  1. embed every chunk of both views without an autograd graph;
///  2. compute the loss on the (small) embeddings and its gradient with respect to them;
///  3. embed each chunk again, with a graph, and back-propagate that chunk's cached embedding
///     gradient; parameter gradients accumulate over the chunks.
/// Activation memory is one chunk's; the result is the gradient of the whole-batch loss.
///
/// Randomness: the default CPU generator (and, for CUDA views, that device's default
/// generator) is saved before each chunk's first pass and restored before its second, so
/// dropout draws the same masks in both passes and the same ones a direct chunked forward
/// would draw. Augmentation happens in the loader, before, so it already matches.
///
/// Batch norm: each chunk is normalised with its own batch statistics in both passes (ghost
/// batch norm over chunk_size samples, as SimCLR's encode_chunk). Running statistics would be
/// updated twice per chunk; when `stateful` is given, its buffers (running mean / var,
/// num_batches_tracked) are saved before the first pass and restored after it, so they are
/// updated once, exactly as by a direct chunked forward. With these, the gradients equal those
/// of the direct computation that embeds the views in the same chunks.
struct GradCacheOptions {
  explicit GradCacheOptions(int64_t chunk_size) : chunk_size_(chunk_size) {}
  /// Samples per encoder pass, >= 1 (required); the last chunk of a view may be smaller.
  TORCH_ARG(int64_t, chunk_size);
};

/// One chunk [c, ...] -> its embeddings [c, d].
using EmbedFn = std::function<torch::Tensor(const torch::Tensor& chunk)>;
/// Loss of the two views' embeddings z1, z2: [B, d].
using PairLossFn =
    std::function<losses::ContrastiveOutput(const torch::Tensor& z1, const torch::Tensor& z2)>;

/// view1, view2: [B, ...] the two views (same B). Accumulates the parameter gradients of
/// loss(embed(view1), embed(view2)) (into .grad, as backward() does) and returns the loss's
/// output with the loss detached. `stateful`: the module whose buffers `embed` updates (may
/// be null).
losses::ContrastiveOutput grad_cache_backward(const EmbedFn& embed, const torch::Tensor& view1,
                                              const torch::Tensor& view2, const PairLossFn& loss,
                                              const GradCacheOptions& options,
                                              torch::nn::Module* stateful = nullptr);

/// A method's split step (Method::split_step) through the gradient cache: accumulates the
/// parameter gradients of the whole batch's loss; returns the output with the loss detached.
losses::ContrastiveOutput grad_cache_step(const SplitStep& split);

/// SimCLR's step through the gradient cache, in chunks of options.encode_chunk (the whole view
/// when 0): the same gradients, loss and running statistics as model->forward(...).backward().
losses::ContrastiveOutput simclr_grad_cache(SimCLRImpl& model, const torch::Tensor& view1,
                                            const torch::Tensor& view2,
                                            const torch::Tensor& labels = {});

}  // namespace contra::methods
