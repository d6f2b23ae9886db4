#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/core/rng.h"

namespace contra::augment {

/// The SimCLR view-making pipeline, fused into one pass per image:
/// random resized crop (+ horizontal flip) -> colour jitter -> random grayscale ->
/// Gaussian blur -> solarize -> normalise. Each stage has its own probability; a stage with
/// probability 0 costs nothing. Works on any channel count (1 = grayscale, 3 = RGB); on a
/// single-channel image saturation, hue and grayscale are identities, as they are in colour space.
struct PipelineOptions {
  /// Output side in pixels; 0 keeps the input size (default 0).
  TORCH_ARG(int64_t, out_size) = 0;
  /// Probability of a random resized crop; otherwise the whole image is resized (default 1).
  TORCH_ARG(double, crop_p) = 1.0;
  /// Crop area as a fraction of the image, uniform in [scale_min, scale_max] (default 0.2..1).
  TORCH_ARG(double, crop_scale_min) = 0.2;
  TORCH_ARG(double, crop_scale_max) = 1.0;
  /// Crop aspect ratio, log-uniform in [ratio_min, ratio_max] (default 3/4..4/3).
  TORCH_ARG(double, crop_ratio_min) = 3.0 / 4.0;
  TORCH_ARG(double, crop_ratio_max) = 4.0 / 3.0;
  /// Probability of a horizontal flip (default 0.5).
  TORCH_ARG(double, flip_p) = 0.5;
  /// Probability that colour jitter is applied (default 0.8).
  TORCH_ARG(double, jitter_p) = 0.8;
  /// Jitter strengths as in torchvision: factors uniform in [1-x, 1+x]; hue shift in [-h, h]
  /// turns (default 0.4, 0.4, 0.4, 0.1).
  TORCH_ARG(double, brightness) = 0.4;
  TORCH_ARG(double, contrast) = 0.4;
  TORCH_ARG(double, saturation) = 0.4;
  TORCH_ARG(double, hue) = 0.1;
  /// Probability of converting to grayscale (kept in the same channel count) (default 0.2).
  TORCH_ARG(double, grayscale_p) = 0.2;
  /// Probability of Gaussian blur, sigma uniform in [sigma_min, sigma_max] pixels (default 0).
  TORCH_ARG(double, blur_p) = 0.0;
  TORCH_ARG(double, blur_sigma_min) = 0.1;
  TORCH_ARG(double, blur_sigma_max) = 2.0;
  /// Probability of solarizing: values >= threshold (in [0,1] units) become 1 - v (default 0).
  TORCH_ARG(double, solarize_p) = 0.0;
  TORCH_ARG(double, solarize_threshold) = 0.5;
  /// Per-channel normalisation applied last; one value broadcasts to all channels
  /// (default Fashion-MNIST's 0.2860 / 0.3530).
  TORCH_ARG(std::vector<double>, mean) = std::vector<double>{0.2860};
  TORCH_ARG(std::vector<double>, std) = std::vector<double>{0.3530};
};

/// Validates options; throws contra::Error naming the field, the value and the allowed range.
void validate(const PipelineOptions& options);

class Pipeline {
 public:
  explicit Pipeline(PipelineOptions options);

  /// Augments one image. src: [C, H, W] uint8 contiguous; dst: [C, S, S] float32 where S is
  /// out_size (or H when out_size is 0, which requires H == W). Deterministic given rng's state.
  void apply(const uint8_t* src, int64_t channels, int64_t height, int64_t width, float* dst,
             Rng& rng) const;

  /// Augments a batch: images [B, C, H, W] uint8 -> [B, C, S, S] float32. Sample i uses
  /// Rng(derive_seed(seed, i)), so results do not depend on threading.
  at::Tensor operator()(const at::Tensor& images, uint64_t seed) const;

  const PipelineOptions& options() const { return options_; }

 private:
  PipelineOptions options_;
};

/// Converts uint8 [B, C, H, W] to float32 in [0, 1], normalised with mean/std (one value
/// broadcasts), without augmentation: the evaluation path.
at::Tensor normalize_images(const at::Tensor& images, const std::vector<double>& mean,
                            const std::vector<double>& std);

}  // namespace contra::augment
