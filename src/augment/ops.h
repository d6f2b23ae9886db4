// Internal to src/augment: the per-image kernels the fused Pipeline::apply is made of.
// All work on planar float images in [0, 1] ([C, S, S]) in place, allocate nothing per pixel
// (small thread_local scratch only grows) and use no torch ops.
#pragma once
#include <cstdint>

#include "contra/core/rng.h"

namespace contra::augment::detail {

/// A crop rectangle in source pixels.
struct CropBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
};

/// torchvision RandomResizedCrop.get_params: up to 10 tries of area fraction uniform in
/// [scale_min, scale_max] and log-uniform aspect ratio in [ratio_min, ratio_max], sides rounded
/// half-to-even; the first box that fits wins, placed uniformly. Otherwise a centre crop whose
/// ratio is clamped into [ratio_min, ratio_max].
CropBox sample_crop(int64_t height, int64_t width, double scale_min, double scale_max,
                    double ratio_min, double ratio_max, Rng& rng);

/// Bilinear (half-pixel centres, edges clamped to the box, as PIL's crop-then-resize does when
/// upscaling) resample of `box` from src [C, H, W] uint8 into dst [C, S, S] float in [0, 1].
/// flip mirrors x. A box equal to the image with S == H == W reproduces src / 255 exactly.
void resample_bilinear(const uint8_t* src, int64_t channels, int64_t height, int64_t width,
                       const CropBox& box, bool flip, float* dst, int64_t size);

/// n = pixels per plane. Each result is clamped to [0, 1] as torchvision's _blend does.
void adjust_brightness(float* img, int64_t channels, int64_t n, float factor);
/// Blend with the mean of the grayscale image (luma for 3 channels, the plain mean otherwise).
void adjust_contrast(float* img, int64_t channels, int64_t n, float factor);
/// Blend with the per-pixel grayscale; identity unless channels == 3.
void adjust_saturation(float* img, int64_t channels, int64_t n, float factor);
/// Rotates hue by `shift` turns in HSV (torchvision's _rgb2hsv/_hsv2rgb); identity unless 3 ch.
void adjust_hue(float* img, int64_t channels, int64_t n, float shift);
/// ITU-R 601 luma replicated into all three channels; identity unless channels == 3.
void to_grayscale(float* img, int64_t channels, int64_t n);
/// Values >= threshold become 1 - v.
void solarize(float* img, int64_t count, float threshold);
/// Separable Gaussian, radius ceil(3 sigma), reflect padding (no edge repeat), per plane.
void gaussian_blur(float* img, int64_t channels, int64_t size, double sigma);

/// In-place per-channel (v - mean) / std; mean/std have 1 (broadcast) or `channels` entries.
void normalize(float* img, int64_t channels, int64_t n, const double* mean, int64_t mean_len,
               const double* std, int64_t std_len);

}  // namespace contra::augment::detail
