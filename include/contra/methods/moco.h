#pragma once
#include <torch/nn/pimpl.h>

#include "contra/methods/method.h"
#include "contra/methods/simclr.h"
#include "contra/negatives/queue.h"

namespace contra::methods {

/// MoCo: "Momentum Contrast for Unsupervised Visual Representation Learning" (He et al., 2020),
/// with v2's MLP head (Chen et al., 2020). Queries come from the encoder + head; keys from a
/// momentum (EMA) copy that no gradient reaches; each query's negatives are a FIFO queue of past
/// keys, so a small batch still sees K negatives. The objective is any InfoNCE-family loss of
/// methods/objective.h (nt_xent = plain InfoNCE, debiased, hard_negative, decoupled), with its
/// negative sampler acting on the queue.
///
/// Shuffle-BN's purpose on one device: keys are encoded with the batch randomly permuted, in
/// encode_chunk groups (ghost batch norm), so a key's batch statistics come from other samples
/// than its query's, as MoCo's cross-GPU shuffle makes them. Needs 1 <= encode_chunk < batch.
struct MoCoOptions {
  explicit MoCoOptions(SimCLROptions network) : network_(std::move(network)) {}
  /// Encoder, head, objective and embedding layout, as SimCLR's (required).
  TORCH_ARG(SimCLROptions, network);
  /// Keys in the queue, K >= keys enqueued per step (default 4096).
  TORCH_ARG(int64_t, queue_size) = 4096;
  /// Momentum m of the key encoder, in [0, 1] (default 0.99).
  TORCH_ARG(double, momentum) = 0.99;
  /// Raise m to 1 over training on a cosine schedule (BYOL) (default false).
  TORCH_ARG(bool, momentum_cosine) = false;
  /// Both views serve as queries (loss averaged over the two directions; 2B keys enqueued per
  /// step) (default true).
  TORCH_ARG(bool, symmetric) = true;
  /// Encode keys from a shuffled batch (see above) (default true).
  TORCH_ARG(bool, shuffle_bn) = true;
  /// Also use the batch's other keys as negatives (default false: the queue only, as MoCo).
  TORCH_ARG(bool, in_batch_negatives) = false;
};

class MoCoImpl : public TwoViewMethod {
 public:
  using TwoViewMethod::after_step;
  using TwoViewMethod::features;
  using TwoViewMethod::forward;
  /// Throws contra::Error for bad settings (momentum outside [0, 1], queue_size < 1, an
  /// objective outside the InfoNCE family).
  explicit MoCoImpl(MoCoOptions options);
  /// Loss of the queries against their keys and the queue; the keys wait for after_step.
  losses::ContrastiveOutput forward(const torch::Tensor& view1, const torch::Tensor& view2,
                                    const torch::Tensor& labels = {}) override;
  torch::Tensor features(const torch::Tensor& images) override;
  /// The query encoder's and head's embeddings.
  torch::Tensor head_embeddings_of(const torch::Tensor& images) override;
  /// The encoder's and head's parameters (not the momentum copy's).
  std::vector<torch::Tensor> trainable_parameters() override;
  /// Momentum update of the key networks, then the last forward's keys enter the queue.
  void after_step(int64_t step, int64_t total_steps) override;
  TwoViewLossOptions& objective() override { return options.network().loss(); }

  /// Key embeddings of a view (no gradient; shuffled if shuffle_bn): [B, C, H, W] -> [B, dim].
  torch::Tensor embed_keys(const torch::Tensor& view);

  MoCoOptions options;
  models::Encoder encoder, key_encoder;
  models::ProjectionHead head{nullptr}, key_head{nullptr};
  negatives::KeyQueue queue{nullptr};

 protected:
  /// momentum and queue_filled.
  std::vector<std::pair<std::string, double>> method_metrics() const override;

 private:
  EmbedOptions embed_options() const;
  torch::Tensor pending_keys_;  ///< keys of the last forward, enqueued by after_step
  double momentum_now_;
};
TORCH_MODULE(MoCo);

}  // namespace contra::methods
