#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

#include "contra/losses/nt_xent.h"
#include "contra/methods/collective.h"
#include "contra/methods/objective.h"
#include "contra/models/encoder.h"
#include "contra/models/head.h"

namespace contra::methods {

/// What the trainer and the evaluator need from a method that learns from two augmented views
/// of each image (SimCLR, MoCo). The method owns its networks (and momentum copies, queues).
class TwoViewMethod : public torch::nn::Module {
 public:
  /// view1, view2: [B, C, H, W]; labels: [B] int64, -1 where unknown (read by supcon only).
  virtual losses::ContrastiveOutput forward(const torch::Tensor& view1, const torch::Tensor& view2,
                                            const torch::Tensor& labels) = 0;
  /// Frozen-encoder features for evaluation: [B, C, H, W] -> [B, encoder dim].
  virtual torch::Tensor features(const torch::Tensor& images) = 0;
  /// The parameters the optimizer updates (default: all of them).
  virtual std::vector<torch::Tensor> trainable_parameters() { return parameters(); }
  /// Called after each optimizer step with the steps done and the run's length (momentum
  /// updates, queues). Default: nothing.
  virtual void after_step(int64_t /*step*/, int64_t /*total_steps*/) {}
  /// The objective, mutable so that controllers (adaptive hardness) can tune it.
  virtual TwoViewLossOptions& objective() = 0;
  /// Values worth a column in metrics.jsonl (e.g. the current momentum). Default: none.
  virtual std::vector<std::pair<std::string, double>> step_metrics() const { return {}; }
  /// The processes this method runs across (default, or null: this one alone). With several,
  /// forward() contrasts against every rank's embeddings (global negatives) and returns the
  /// loss of the global batch, the same on every rank.
  void set_collective(std::shared_ptr<Collective> c) {
    collective_ = c ? std::move(c) : std::make_shared<Collective>();
  }
  Collective& collective() const { return *collective_; }

 private:
  std::shared_ptr<Collective> collective_ = std::make_shared<Collective>();
};

/// How a method's networks see a view. Shared by the methods so their encoders behave alike.
struct EmbedOptions {
  /// Channels-last memory layout for the views (oneDNN's preferred format on CPU).
  bool channels_last = false;
  /// Images per encoder pass (ghost batch norm: statistics from `chunk` samples); 0 = one pass.
  int64_t chunk = 0;
};

/// Projection-head embeddings of a view, encoded in chunks: [B, C, H, W] -> [B, head dim].
torch::Tensor embed_view(const models::Encoder& encoder, models::ProjectionHead& head,
                         const torch::Tensor& view, const EmbedOptions& options);
/// Encoder features of images in the method's layout: [B, C, H, W] -> [B, encoder dim].
torch::Tensor encode_features(const models::Encoder& encoder, const torch::Tensor& images,
                              const EmbedOptions& options);
/// Converts the encoder's 4-D weights to channels-last (call once, after construction).
void to_channels_last(const models::Encoder& encoder);

}  // namespace contra::methods
