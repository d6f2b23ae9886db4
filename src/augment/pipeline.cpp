// The fused per-image pass (Pipeline::apply), its batch form and the evaluation-path normalise.
#include "contra/augment/pipeline.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "contra/core/error.h"
#include "ops.h"

namespace contra::augment {

namespace {

// Run-time checks that depend on the image: done once per call, never per pixel.
int64_t check_image(const PipelineOptions& o, int64_t channels, int64_t height, int64_t width) {
  CONTRA_CHECK(channels >= 1 && height >= 1 && width >= 1,
               "augment: image must have positive channels/height/width, got [", channels, ", ",
               height, ", ", width, "]");
  const auto c = static_cast<size_t>(channels);
  CONTRA_CHECK(o.mean().size() == 1 || o.mean().size() == c, "augment.mean has ",
               o.mean().size(), " values; it must have 1 or ", channels,
               " (one per image channel)");
  CONTRA_CHECK(o.std().size() == 1 || o.std().size() == c, "augment.std has ", o.std().size(),
               " values; it must have 1 or ", channels, " (one per image channel)");
  if (o.out_size() > 0) return o.out_size();
  CONTRA_CHECK(height == width, "augment.out_size is 0 (keep the input size), which needs square ",
               "images, got ", height, "x", width);
  return height;
}

void apply_unchecked(const PipelineOptions& o, const uint8_t* src, int64_t channels,
                     int64_t height, int64_t width, int64_t size, float* dst, Rng& rng) {
  using namespace detail;
  const int64_t n = size * size;

  // 1. Random resized crop (+ flip) fused with the resample and the uint8 -> [0, 1] conversion.
  CropBox box{0, 0, height, width};
  if (o.crop_p() > 0.0 && (o.crop_p() >= 1.0 || rng.bernoulli(o.crop_p()))) {
    box = sample_crop(height, width, o.crop_scale_min(), o.crop_scale_max(), o.crop_ratio_min(),
                      o.crop_ratio_max(), rng);
  }
  const bool flip = o.flip_p() > 0.0 && rng.bernoulli(o.flip_p());
  resample_bilinear(src, channels, height, width, box, flip, dst, size);

  // 2. Colour jitter: factors drawn first, then applied in a random order (torchvision).
  if (o.jitter_p() > 0.0 && rng.bernoulli(o.jitter_p())) {
    int order[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint64_t>(i + 1))]);
    const float bf = o.brightness() > 0.0
                         ? static_cast<float>(rng.uniform(std::max(0.0, 1.0 - o.brightness()),
                                                          1.0 + o.brightness()))
                         : 1.0f;
    const float cf = o.contrast() > 0.0
                         ? static_cast<float>(rng.uniform(std::max(0.0, 1.0 - o.contrast()),
                                                          1.0 + o.contrast()))
                         : 1.0f;
    const float sf = o.saturation() > 0.0
                         ? static_cast<float>(rng.uniform(std::max(0.0, 1.0 - o.saturation()),
                                                          1.0 + o.saturation()))
                         : 1.0f;
    const float hf = o.hue() > 0.0 ? static_cast<float>(rng.uniform(-o.hue(), o.hue())) : 0.0f;
    for (int op : order) {
      switch (op) {
        case 0:
          if (o.brightness() > 0.0) adjust_brightness(dst, channels, n, bf);
          break;
        case 1:
          if (o.contrast() > 0.0) adjust_contrast(dst, channels, n, cf);
          break;
        case 2:
          if (o.saturation() > 0.0) adjust_saturation(dst, channels, n, sf);
          break;
        default:
          if (o.hue() > 0.0) adjust_hue(dst, channels, n, hf);
          break;
      }
    }
  }

  // 3. Random grayscale (identity for one channel).
  if (o.grayscale_p() > 0.0 && rng.bernoulli(o.grayscale_p())) to_grayscale(dst, channels, n);

  // 4. Gaussian blur.
  if (o.blur_p() > 0.0 && rng.bernoulli(o.blur_p())) {
    gaussian_blur(dst, channels, size, rng.uniform(o.blur_sigma_min(), o.blur_sigma_max()));
  }

  // 5. Solarize.
  if (o.solarize_p() > 0.0 && rng.bernoulli(o.solarize_p())) {
    solarize(dst, channels * n, static_cast<float>(o.solarize_threshold()));
  }

  // 6. Normalise.
  normalize(dst, channels, n, o.mean().data(), static_cast<int64_t>(o.mean().size()),
            o.std().data(), static_cast<int64_t>(o.std().size()));
}

void check_batch(const at::Tensor& images) {
  CONTRA_CHECK(images.defined(), "augment: images tensor is undefined");
  CONTRA_CHECK(images.dim() == 4, "augment: images must be [B, C, H, W], got shape ",
               images.sizes());
  CONTRA_CHECK(images.scalar_type() == at::kByte, "augment: images must be uint8, got ",
               images.scalar_type());
}

}  // namespace

Pipeline::Pipeline(PipelineOptions options) : options_(std::move(options)) { validate(options_); }

void Pipeline::apply(const uint8_t* src, int64_t channels, int64_t height, int64_t width,
                     float* dst, Rng& rng) const {
  const int64_t size = check_image(options_, channels, height, width);
  apply_unchecked(options_, src, channels, height, width, size, dst, rng);
}

at::Tensor Pipeline::operator()(const at::Tensor& images, uint64_t seed) const {
  check_batch(images);
  const at::Tensor in = images.contiguous();
  const int64_t batch = in.size(0), channels = in.size(1), height = in.size(2),
                width = in.size(3);
  const int64_t size = check_image(options_, channels, height, width);
  at::Tensor out = at::empty({batch, channels, size, size}, at::TensorOptions(at::kFloat));
  if (batch == 0) return out;
  const uint8_t* src = in.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  const int64_t in_stride = channels * height * width, out_stride = channels * size * size;
  at::parallel_for(0, batch, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Rng rng(derive_seed(seed, static_cast<uint64_t>(i)));
      apply_unchecked(options_, src + i * in_stride, channels, height, width, size,
                      dst + i * out_stride, rng);
    }
  });
  return out;
}

at::Tensor normalize_images(const at::Tensor& images, const std::vector<double>& mean,
                            const std::vector<double>& std) {
  check_batch(images);
  const at::Tensor in = images.contiguous();
  const int64_t batch = in.size(0), channels = in.size(1), plane = in.size(2) * in.size(3);
  const auto c = static_cast<size_t>(channels);
  CONTRA_CHECK(mean.size() == 1 || mean.size() == c, "normalize: mean has ", mean.size(),
               " values; it must have 1 or ", channels, " (one per image channel)");
  CONTRA_CHECK(std.size() == 1 || std.size() == c, "normalize: std has ", std.size(),
               " values; it must have 1 or ", channels, " (one per image channel)");
  for (size_t i = 0; i < std.size(); ++i) {
    CONTRA_CHECK(std[i] > 0.0 && std::isfinite(std[i]), "normalize: std[", i,
                 "] must be > 0, got ", std[i]);
  }
  // One 256-entry table per channel, computed exactly as the pipeline's last stage computes it.
  std::vector<float> lut(static_cast<size_t>(channels) * 256);
  for (int64_t ch = 0; ch < channels; ++ch) {
    const float m = static_cast<float>(mean[mean.size() == 1 ? 0 : ch]);
    const float s = static_cast<float>(std[std.size() == 1 ? 0 : ch]);
    for (int v = 0; v < 256; ++v) {
      const float x = static_cast<float>(v) / 255.0f;
      lut[ch * 256 + v] = (m == 0.0f && s == 1.0f) ? x : (x - m) / s;
    }
  }
  at::Tensor out = at::empty(in.sizes(), at::TensorOptions(at::kFloat));
  const uint8_t* src = in.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  const float* table = lut.data();
  at::parallel_for(0, batch * channels, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, plane)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t p = begin; p < end; ++p) {
                       const float* t = table + (p % channels) * 256;
                       const uint8_t* s = src + p * plane;
                       float* d = dst + p * plane;
                       for (int64_t i = 0; i < plane; ++i) d[i] = t[s[i]];
                     }
                   });
  return out;
}

}  // namespace contra::augment
