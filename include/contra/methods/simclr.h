#pragma once
#include <torch/nn/pimpl.h>

#include "contra/methods/method.h"
#include "contra/methods/objective.h"
#include "contra/models/encoder.h"
#include "contra/models/head.h"

namespace contra::methods {

/// SimCLR: "A Simple Framework for Contrastive Learning of Visual Representations" (Chen et al.,
/// 2020). Encoder + projection head; NT-Xent over the two views' embeddings.
struct SimCLROptions {
  SimCLROptions(models::EncoderSpec encoder, int64_t head_dim) : encoder_(encoder), head_dim_(head_dim) {}
  TORCH_ARG(models::EncoderSpec, encoder);
  /// Embedding size (required).
  TORCH_ARG(int64_t, head_dim);
  /// Head hidden size and linear layers (defaults 512, 2).
  TORCH_ARG(int64_t, head_hidden) = 512;
  TORCH_ARG(int64_t, head_layers) = 2;
  TORCH_ARG(bool, head_batch_norm) = false;
  /// The objective over the two views' embeddings (default NT-Xent, temperature 0.5).
  TORCH_ARG(TwoViewLossOptions, loss) = {};
  /// Channels-last memory layout for the views (oneDNN's preferred format on CPU) (default false).
  TORCH_ARG(bool, channels_last) = false;
  /// Images per encoder pass; each view is encoded in chunks of this size, so batch-norm
  /// statistics come from `encode_chunk` samples of one view (ghost batch norm) and the working
  /// set stays in cache. 0 = each view in one pass (default 0).
  TORCH_ARG(int64_t, encode_chunk) = 0;
};

class SimCLRImpl : public TwoViewMethod {
 public:
  using TwoViewMethod::features;
  using TwoViewMethod::forward;
  explicit SimCLRImpl(SimCLROptions options);
  /// view1, view2: [B, C, H, W]. Each view is encoded separately (in encode_chunk pieces).
  /// labels: [B] int64, -1 where unknown; read only by the supcon objective.
  losses::ContrastiveOutput forward(const torch::Tensor& view1, const torch::Tensor& view2,
                                    const torch::Tensor& labels = {}) override;
  /// Frozen-encoder features for evaluation: [B, C, H, W] -> [B, encoder dim].
  torch::Tensor features(const torch::Tensor& images) override;
  torch::Tensor head_embeddings_of(const torch::Tensor& images) override { return embed_view(images); }
  /// Projection-head embeddings of one view, chunked as in training: [B, C, H, W] -> [B, dim].
  torch::Tensor embed_view(const torch::Tensor& view);
  TwoViewLossOptions& objective() override { return options.loss(); }
  /// The gradient cache's split: chunks of encode_chunk (the whole view when 0) through the
  /// encoder and head, then the two-view loss with global negatives, as in forward().
  std::optional<SplitStep> split_step(const data::Batch& batch) override;
  /// Projection-head embeddings of one chunk, in its given memory layout: [c, C, H, W] -> [c, dim].
  torch::Tensor embed_chunk(const torch::Tensor& chunk);

  SimCLROptions options;
  models::Encoder encoder;
  models::ProjectionHead head{nullptr};
};
TORCH_MODULE(SimCLR);

}  // namespace contra::methods
