#pragma once
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/pimpl.h>

#include "contra/methods/method.h"
#include "contra/methods/objective.h"
#include "contra/models/encoder.h"
#include "contra/models/head.h"
#include "contra/models/text_transformer.h"

namespace contra::methods {

/// The objective over a batch of (image, text) pairs' shared-space embeddings.
enum class ClipLoss {
  kClip,    ///< symmetric InfoNCE, softmax over the batch (Radford et al. 2021), losses/clip.h
  kSigLip,  ///< pairwise sigmoid with a learned bias (Zhai et al. 2023), losses/siglip.h
};
ClipLoss clip_loss_from_string(const std::string& name);  ///< "clip" | "siglip"
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> clip_loss_names();
std::string to_string(ClipLoss kind);

/// CLIP: "Learning Transferable Visual Models From Natural Language Supervision" (Radford et al.,
/// 2021). Two towers, any contra image encoder and the text Transformer, each followed by a
/// projection (a linear map by default, or the configurable MLP head) into one shared space of
/// embed_dim, where embeddings are L2-normalised; the loss compares every image of the batch with
/// every text at a learned scale.
struct CLIPOptions {
  CLIPOptions(models::EncoderSpec image_encoder, models::TextTransformerOptions text_encoder,
              int64_t embed_dim)
      : image_encoder_(std::move(image_encoder)), text_encoder_(text_encoder), embed_dim_(embed_dim) {}
  TORCH_ARG(models::EncoderSpec, image_encoder);
  TORCH_ARG(models::TextTransformerOptions, text_encoder);
  /// Size of the shared image-text space (required).
  TORCH_ARG(int64_t, embed_dim);
  /// Linear layers of each tower's projection (1: CLIP's linear map) and their hidden size
  /// (defaults 1, 512).
  TORCH_ARG(int64_t, head_layers) = 1;
  TORCH_ARG(int64_t, head_hidden) = 512;
  /// Objective (default CLIP's symmetric InfoNCE).
  TORCH_ARG(ClipLoss, loss) = ClipLoss::kClip;
  /// Initial temperature t (the scale is 1 / t, learned as logit_scale = log(1 / t)); 0 = the
  /// objective's own: 0.07 for clip (CLIP's), 0.1 for siglip (SigLIP's scale 10) (default 0).
  TORCH_ARG(double, temperature_init) = 0.0;
  /// The largest scale: after every step logit_scale is clamped to [0, log(max_scale)] (CLIP's
  /// 100: temperatures from 0.01 to 1) (default 100).
  TORCH_ARG(double, max_scale) = 100.0;
  /// SigLIP: the learned bias's initial value (default -10, the paper's).
  TORCH_ARG(double, bias_init) = -10.0;
  /// Learn the scale (and SigLIP's bias); false keeps their initial values (default true).
  TORCH_ARG(bool, learn_temperature) = true;
  /// clip: tiled (linear-memory) or plain pass (default auto: tiled from kTiledAutoMinPairs
  /// pairs in the global batch).
  TORCH_ARG(TiledMode, tiled) = TiledMode::kAuto;
  /// Tiled pass: rows per tile, >= 1 (default 1024).
  TORCH_ARG(int64_t, tile_size) = 1024;
  /// Image tower: channels-last layout and images per encoder pass (0 = one pass), as SimCLR's
  /// (defaults false, 0).
  TORCH_ARG(bool, channels_last) = false;
  TORCH_ARG(int64_t, encode_chunk) = 0;
};

/// Batches hold view1 (one augmented view per image) and text1 (one caption per image, row for
/// row). With several processes (set_collective) every rank's embeddings are gathered with
/// gradient (global negatives) and each rank scores its own pairs (the plain clip and siglip
/// passes) or, tiled, the whole global batch; either way the averaged gradients equal one
/// process's with the whole batch.
///
/// Evaluation: features() is the image tower's encoder features of view1, or, for a batch
/// without images, the text tower's of text1 (each tower's own space: kNN and the linear probe
/// read the image features). head_embeddings() is the normalised shared-space embedding, of view1
/// or else text1: image and text embeddings there are comparable (zero-shot, cross-modal
/// retrieval, contra search --query-text against an image index).
class CLIPImpl : public Method {
 public:
  explicit CLIPImpl(CLIPOptions options);
  losses::ContrastiveOutput forward(const data::Batch& batch) override;
  torch::Tensor features(const data::Batch& inputs) override;
  torch::Tensor head_embeddings(const data::Batch& inputs) override;
  /// The scale, and SigLIP's bias, when learned.
  std::vector<torch::Tensor> trainable_parameters() override;
  /// logit_scale (and logit_bias): never weight-decayed.
  std::vector<torch::Tensor> no_decay_parameters() override;
  /// Clamps logit_scale to [0, log(max_scale)].
  void after_step(int64_t step, int64_t total_steps, const losses::ContrastiveOutput& out) override;
  /// logit_scale (the scale exp(logit_scale)), temperature (its inverse) and, for siglip,
  /// logit_bias.
  std::vector<std::pair<std::string, double>> step_metrics() const override;

  /// Normalised shared-space embeddings of images [B, C, H, W] -> [B, embed_dim].
  torch::Tensor embed_images(const torch::Tensor& images);
  /// Normalised shared-space embeddings of texts -> [B, embed_dim].
  torch::Tensor embed_texts(const data::TokenBatch& texts);
  /// The loss of this rank's pairs' embeddings zi, zt [n, embed_dim] (normalised), with every
  /// rank's as negatives.
  losses::ContrastiveOutput loss(const torch::Tensor& zi, const torch::Tensor& zt);

  CLIPOptions options;
  models::Encoder encoder;                              ///< the image tower ("encoder")
  models::ProjectionHead head{nullptr};                 ///< image projection ("head")
  models::TextTransformer text_encoder{nullptr};        ///< the text tower
  models::ProjectionHead text_head{nullptr};            ///< text projection
  torch::Tensor logit_scale;  ///< 0-dim: log of the scale (log(1 / temperature))
  torch::Tensor logit_bias;   ///< 0-dim: SigLIP's bias (undefined for clip)
};
TORCH_MODULE(CLIP);

}  // namespace contra::methods
