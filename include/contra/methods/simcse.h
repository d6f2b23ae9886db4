#pragma once
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "contra/methods/method.h"

#include "contra/data/tokenizer.h"
#include "contra/losses/output.h"
#include "contra/losses/similarity.h"
#include "contra/models/head.h"
#include "contra/models/text_transformer.h"

namespace contra::methods {

/// The objective over a batch's sentence embeddings.
enum class SimCSELoss {
  kInfoNCE,  ///< view1 (anchors) against view2 (positives) and any hard negatives, as the paper
  kNTXent,   ///< symmetric over the 2N embeddings; no hard negatives
};
SimCSELoss simcse_loss_from_string(const std::string& name);  ///< "info_nce" | "nt_xent"
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> simcse_loss_names();

/// SimCSE: "SimCSE: Simple Contrastive Learning of Sentence Embeddings" (Gao, Yao, Chen, 2021).
/// Unsupervised: a sentence's two views (by default the same text; the encoder's dropout makes
/// them differ) are positives, the rest of the batch negatives. Supervised: (anchor, positive)
/// pairs with in-batch negatives plus an optional hard negative per anchor.
struct SimCSEOptions {
  SimCSEOptions(models::TextTransformerOptions encoder, int64_t head_dim)
      : encoder_(encoder), head_dim_(head_dim) {}
  TORCH_ARG(models::TextTransformerOptions, encoder);
  /// Embedding size (required).
  TORCH_ARG(int64_t, head_dim);
  /// Projection head hidden size and linear layers (defaults 512, 1: a linear map).
  TORCH_ARG(int64_t, head_hidden) = 512;
  TORCH_ARG(int64_t, head_layers) = 1;
  /// Objective (default InfoNCE).
  TORCH_ARG(SimCSELoss, loss) = SimCSELoss::kInfoNCE;
  /// Softmax temperature, > 0 (default 0.05, the paper's).
  TORCH_ARG(double, temperature) = 0.05;
  /// Similarity between embeddings (default cosine).
  TORCH_ARG(losses::Similarity, similarity) = losses::Similarity::kCosine;
};

/// With several processes (set_collective), each rank embeds its rows and scores its own
/// anchors against every rank's positives (global in-batch negatives); the averaged gradients
/// equal one process's with the whole batch.
class SimCSEImpl : public Method {
 public:
  explicit SimCSEImpl(SimCSEOptions options);
  /// Any text batch: text1 and text2 (two views, or anchors and positives) and text_negative
  /// (one hard negative per row, or none).
  losses::ContrastiveOutput forward(const data::Batch& batch) override;
  /// Encoder features of inputs.text1 (see features(TokenBatch)).
  torch::Tensor features(const data::Batch& inputs) override;
  /// Projection-head embeddings of inputs.text1.
  torch::Tensor head_embeddings(const data::Batch& inputs) override { return embed(inputs.text1); }
  /// Unsupervised: two views of the same B texts -> the loss over in-batch negatives.
  losses::ContrastiveOutput forward(const data::TokenBatch& view1, const data::TokenBatch& view2);
  /// Supervised: B anchors, their positives and, when negative.size() > 0, one hard negative
  /// each (InfoNCE's per-query negatives, besides the other positives of the batch).
  losses::ContrastiveOutput forward_supervised(const data::TokenBatch& anchor,
                                               const data::TokenBatch& positive,
                                               const data::TokenBatch& negative = {});
  /// Frozen-encoder sentence vectors for evaluation: [B, width] (no head, as the paper).
  torch::Tensor features(const data::TokenBatch& batch);
  /// Projection-head embeddings: [B, head_dim].
  torch::Tensor embed(const data::TokenBatch& batch);

  SimCSEOptions options;
  models::TextTransformer encoder{nullptr};
  models::ProjectionHead head{nullptr};

 private:
  /// Embeds several batches in one encoder pass (padded to the longest), split back.
  std::vector<torch::Tensor> embed_together(const std::vector<const data::TokenBatch*>& batches);
};
TORCH_MODULE(SimCSE);

}  // namespace contra::methods
