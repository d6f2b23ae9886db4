#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

#include "contra/data/batch.h"
#include "contra/losses/output.h"
#include "contra/methods/collective.h"
#include "contra/methods/objective.h"
#include "contra/models/encoder.h"
#include "contra/models/head.h"
#include "contra/negatives/adaptive.h"

namespace contra::methods {

/// A method's step split in two for the gradient cache (methods/grad_cache.h): an embedding of
/// one chunk of a view, and the loss over both views' embeddings. Methods whose step has more
/// parts (MoCo's key encoder and queue) have none.
struct SplitStep {
  /// One chunk [c, ...] of a view -> its embeddings [c, d].
  std::function<torch::Tensor(const torch::Tensor&)> embed;
  /// The two views [B, ...], in the layout embed expects.
  torch::Tensor view1, view2;
  /// z1, z2: [B, d] -> the loss (global negatives included where the method has them).
  std::function<losses::ContrastiveOutput(const torch::Tensor&, const torch::Tensor&)> loss;
  /// The module whose buffers embed updates (batch-norm statistics), or null.
  torch::nn::Module* stateful = nullptr;
  /// Samples per encoder pass.
  int64_t chunk = 1;
};

/// What a method keeps besides its parameters and buffers, for checkpoints (typed: the run
/// layer stores it by field).
struct MethodState {
  /// The adaptive-hardness controller (negatives::AdaptiveHardness::state()); empty when none.
  std::vector<double> controller;
};

/// What the run engine, the trainer and the evaluator need from any method, whatever its
/// modality (images, text, image-text pairs). The method owns its networks (and momentum
/// copies, queues, controllers).
class Method : public torch::nn::Module {
 public:
  /// The loss of one training batch (this process's rows; see set_collective).
  virtual losses::ContrastiveOutput forward(const data::Batch& batch) = 0;
  /// Frozen-encoder features of the batch's first input (view1 or text1), for evaluation:
  /// [B, encoder dim].
  virtual torch::Tensor features(const data::Batch& inputs) = 0;
  /// Projection-head embeddings of the batch's first input (the space the loss compares), for
  /// users who embed with the head: [B, head dim].
  virtual torch::Tensor head_embeddings(const data::Batch& inputs) = 0;
  /// The parameters the optimizer updates (default: all of them).
  virtual std::vector<torch::Tensor> trainable_parameters() { return parameters(); }
  /// Trainable parameters that weight decay must never touch, whatever their shape (a learned
  /// temperature or bias); biases and norm scales are left out of it anyway (default: none).
  virtual std::vector<torch::Tensor> no_decay_parameters() { return {}; }
  /// Called after each optimizer step with the steps done, the run's length and that step's
  /// output (momentum updates, queues, controllers). Default: nothing.
  virtual void after_step(int64_t /*step*/, int64_t /*total_steps*/,
                          const losses::ContrastiveOutput& /*out*/) {}
  /// Values worth a column in metrics.jsonl (e.g. the current momentum). Default: none.
  virtual std::vector<std::pair<std::string, double>> step_metrics() const { return {}; }
  /// State besides parameters and buffers (checkpoints), and setting it back.
  virtual MethodState state() const { return {}; }
  virtual void load_state(const MethodState& /*state*/) {}
  /// The step split for the gradient cache; nullopt where the method's step cannot be split.
  virtual std::optional<SplitStep> split_step(const data::Batch& /*batch*/) { return std::nullopt; }
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

/// A method that learns from two augmented views of each image (SimCLR, MoCo): an objective of
/// methods/objective.h, optionally tuned by an adaptive-hardness controller.
class TwoViewMethod : public Method {
 public:
  using Method::after_step;
  using Method::features;
  using Method::forward;
  /// view1, view2: [B, C, H, W]; labels: [B] int64, -1 where unknown (read by supcon only).
  virtual losses::ContrastiveOutput forward(const torch::Tensor& view1, const torch::Tensor& view2,
                                            const torch::Tensor& labels) = 0;
  /// Frozen-encoder features for evaluation: [B, C, H, W] -> [B, encoder dim].
  virtual torch::Tensor features(const torch::Tensor& images) = 0;
  /// Projection-head embeddings of images: [B, C, H, W] -> [B, head dim].
  virtual torch::Tensor head_embeddings_of(const torch::Tensor& images) = 0;
  /// Called after each optimizer step with the steps done and the run's length (momentum
  /// updates, queues). Default: nothing.
  virtual void after_step(int64_t /*step*/, int64_t /*total_steps*/) {}
  /// The objective, mutable so that controllers (adaptive hardness) can tune it.
  virtual TwoViewLossOptions& objective() = 0;
  const TwoViewLossOptions& objective() const { return const_cast<TwoViewMethod*>(this)->objective(); }

  losses::ContrastiveOutput forward(const data::Batch& batch) final;
  torch::Tensor features(const data::Batch& inputs) final;
  torch::Tensor head_embeddings(const data::Batch& inputs) final { return head_embeddings_of(inputs.view1); }
  /// The controller's update (when enabled), then after_step(step, total_steps).
  void after_step(int64_t step, int64_t total_steps, const losses::ContrastiveOutput& out) final;
  /// method_metrics(), and hard_beta (the beta the next step uses) for hard-negative objectives.
  std::vector<std::pair<std::string, double>> step_metrics() const final;
  MethodState state() const override;
  void load_state(const MethodState& state) override;
  /// Lets an adaptive-hardness controller set the objective's beta after every step (the
  /// objective starts from its own hard_beta, normally 0).
  void enable_adaptive(const negatives::AdaptiveHardnessOptions& options);

 protected:
  /// The method's own metrics columns. Default: none.
  virtual std::vector<std::pair<std::string, double>> method_metrics() const { return {}; }

 private:
  std::optional<negatives::AdaptiveHardness> adaptive_;
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
/// Encoder features of images in the method's layout, in chunks: [B, C, H, W] -> [B, encoder dim].
torch::Tensor encode_features(const models::Encoder& encoder, const torch::Tensor& images,
                              const EmbedOptions& options);
/// Converts the encoder's 4-D weights to channels-last (call once, after construction).
void to_channels_last(const models::Encoder& encoder);

}  // namespace contra::methods
