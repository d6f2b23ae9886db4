// Random resized crop parameters and the bilinear resample that fuses crop, resize, flip and the
// uint8 -> float conversion into one pass.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops.h"

namespace contra::augment::detail {

CropBox sample_crop(int64_t height, int64_t width, double scale_min, double scale_max,
                    double ratio_min, double ratio_max, Rng& rng) {
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const double log_lo = std::log(ratio_min), log_hi = std::log(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale_min, scale_max);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    // Python's round() is half-to-even, as is nearbyint in the default rounding mode.
    const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area * aspect)));
    const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area / aspect)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      CropBox box;
      box.top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(height - h + 1)));
      box.left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(width - w + 1)));
      box.height = h;
      box.width = w;
      return box;
    }
  }
  // Fallback: centre crop.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < ratio_min) {
    h = static_cast<int64_t>(std::nearbyint(static_cast<double>(w) / ratio_min));
  } else if (in_ratio > ratio_max) {
    w = static_cast<int64_t>(std::nearbyint(static_cast<double>(h) * ratio_max));
  }
  h = std::clamp<int64_t>(h, 1, height);
  w = std::clamp<int64_t>(w, 1, width);
  CropBox box;
  box.top = (height - h) / 2;
  box.left = (width - w) / 2;
  box.height = h;
  box.width = w;
  return box;
}

namespace {

// Source coordinates for each output position along one axis: lo/hi neighbours (absolute) and
// the weight of hi. Half-pixel centres; clamped to the box.
void axis_table(int64_t start, int64_t extent, int64_t size, bool mirror, int32_t* lo, int32_t* hi,
                float* weight) {
  const double step = static_cast<double>(extent) / static_cast<double>(size);
  for (int64_t o = 0; o < size; ++o) {
    double f = (static_cast<double>(o) + 0.5) * step - 0.5;
    if (f < 0.0) f = 0.0;
    auto i0 = static_cast<int64_t>(f);  // f >= 0: truncation is floor
    double w = f - static_cast<double>(i0);
    if (i0 >= extent - 1) {
      i0 = extent - 1;
      w = 0.0;
    }
    const int64_t i1 = std::min(i0 + 1, extent - 1);
    const int64_t at = mirror ? size - 1 - o : o;
    lo[at] = static_cast<int32_t>(start + i0);
    hi[at] = static_cast<int32_t>(start + i1);
    weight[at] = static_cast<float>(w);
  }
}

}  // namespace

void resample_bilinear(const uint8_t* src, int64_t channels, int64_t height, int64_t width,
                       const CropBox& box, bool flip, float* dst, int64_t size) {
  thread_local std::vector<int32_t> idx;
  thread_local std::vector<float> wts;
  if (static_cast<int64_t>(idx.size()) < 4 * size) idx.resize(4 * size);
  if (static_cast<int64_t>(wts.size()) < 2 * size) wts.resize(2 * size);
  int32_t* x0 = idx.data();
  int32_t* x1 = x0 + size;
  int32_t* y0 = x1 + size;
  int32_t* y1 = y0 + size;
  float* wx = wts.data();
  float* wy = wx + size;
  axis_table(box.left, box.width, size, flip, x0, x1, wx);
  axis_table(box.top, box.height, size, false, y0, y1, wy);

  const int64_t plane = height * width;
  for (int64_t c = 0; c < channels; ++c) {
    const uint8_t* in = src + c * plane;
    float* out = dst + c * size * size;
    for (int64_t y = 0; y < size; ++y) {
      const uint8_t* r0 = in + static_cast<int64_t>(y0[y]) * width;
      const uint8_t* r1 = in + static_cast<int64_t>(y1[y]) * width;
      const float fy = wy[y];
      float* o = out + y * size;
      for (int64_t x = 0; x < size; ++x) {
        const float fx = wx[x];
        const float a0 = static_cast<float>(r0[x0[x]]), a1 = static_cast<float>(r0[x1[x]]);
        const float b0 = static_cast<float>(r1[x0[x]]), b1 = static_cast<float>(r1[x1[x]]);
        const float top = a0 + (a1 - a0) * fx;
        const float bot = b0 + (b1 - b0) * fx;
        // Zero weights leave the sample exact, so an identity resample gives src / 255 exactly.
        o[x] = (top + (bot - top) * fy) / 255.0f;
      }
    }
  }
}

}  // namespace contra::augment::detail
