#pragma once
// contra::Encoder: a trained run's encoder, ready to embed, for programs that use contra as a
// library (`find_package(contra)`, see examples/embed_folder).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>
#include <torch/arg.h>

#include "contra/config/run_config.h"

namespace contra {

struct EncoderOptions {
  /// Where the network runs: "cpu" or "cuda" / "cuda:N" (default "cpu").
  TORCH_ARG(std::string, device) = "cpu";
  /// Embed with the projection head (the space the loss compared) instead of the encoder's
  /// features (what kNN, the linear probe and retrieval evaluate) (default false).
  TORCH_ARG(bool, head) = false;
  /// Items per forward pass; 0 = the run's eval.batch_size (default 0).
  TORCH_ARG(int64_t, batch_size) = 0;
  /// Intra-op threads; 0 = the run's `threads` setting (all cores when that is 0) (default 0).
  TORCH_ARG(int64_t, threads) = 0;
};

/// A run folder's trained encoder in eval mode with its evaluation-time preprocessing: images
/// normalised as the run's views were (augment.mean / augment.std), texts tokenized with the
/// run's tokenizer. One call loads it:
///
///     auto enc = contra::Encoder::load("runs/demo");
///     at::Tensor z = enc.embed_images(enc.read_images({"a.png", "b.jpg"}));  // [2, enc.dim()]
class Encoder {
 public:
  /// Reads config.yaml and the newest checkpoint of `run_dir`. Throws contra::Error for a
  /// folder that is not a run, a run without a checkpoint, or a damaged checkpoint.
  static Encoder load(const std::string& run_dir, const EncoderOptions& options = {});

  /// What the run embeds: images, text, or both (image-text runs, method clip).
  bool takes_images() const;
  bool takes_text() const;
  /// Images and texts land in one space where they compare: an image-text run embedding with
  /// its head (EncoderOptions::head). With the encoder output each tower has its own space.
  bool shared_space() const;
  /// The images the encoder takes: channels and side (0 for text runs).
  int64_t image_channels() const;
  int64_t image_size() const;
  /// Embedding size (image-text runs: the image tower's).
  int64_t dim() const;
  /// Embedding size of texts: dim(), except with an image-text run's encoder output (the text
  /// tower's features).
  int64_t text_dim() const;

  /// images: [N, C, S, S] uint8 of the run's channels and side -> [N, dim] float32 on the CPU.
  at::Tensor embed_images(const at::Tensor& images) const;
  /// Texts -> [N, dim] float32 on the CPU.
  at::Tensor embed_texts(const std::vector<std::string>& texts) const;
  /// Image files decoded, resized and centre-cropped as the run's training images were:
  /// [N, C, S, S] uint8. Throws naming an unreadable file.
  at::Tensor read_images(const std::vector<std::string>& paths) const;

  /// What produced the embeddings: run folder, method, modality (image | text | image_text),
  /// output (encoder | head), dim, checkpoint step, preprocessing.
  nlohmann::json describe() const;
  /// The run's configuration (config.yaml as read; device and threads as loaded).
  const config::RunConfig& config() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace contra
