// Separable Gaussian blur with reflect padding on small float planes.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops.h"

namespace contra::augment::detail {

namespace {

// "reflect" (mirror without repeating the edge): -1 -> 1, n -> n - 2; works for any offset.
inline int64_t reflect(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i >= n ? period - i : i;
}

}  // namespace

void gaussian_blur(float* img, int64_t channels, int64_t size, double sigma) {
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3.0 * sigma)));
  const int64_t taps = 2 * radius + 1;
  thread_local std::vector<float> kernel, pad, tmp;
  thread_local std::vector<int64_t> rows;
  if (static_cast<int64_t>(kernel.size()) < taps) kernel.resize(taps);
  if (static_cast<int64_t>(pad.size()) < size + 2 * radius) pad.resize(size + 2 * radius);
  if (static_cast<int64_t>(rows.size()) < size + 2 * radius) rows.resize(size + 2 * radius);
  if (static_cast<int64_t>(tmp.size()) < size * size) tmp.resize(size * size);

  double total = 0.0;
  for (int64_t k = 0; k < taps; ++k) {
    const double d = static_cast<double>(k - radius);
    total += std::exp(-0.5 * d * d / (sigma * sigma));
  }
  for (int64_t k = 0; k < taps; ++k) {
    const double d = static_cast<double>(k - radius);
    kernel[k] = static_cast<float>(std::exp(-0.5 * d * d / (sigma * sigma)) / total);
  }
  for (int64_t i = 0; i < size + 2 * radius; ++i) rows[i] = reflect(i - radius, size);

  const float* w = kernel.data();
  float* pd = pad.data();
  float* t = tmp.data();
  for (int64_t c = 0; c < channels; ++c) {
    float* p = img + c * size * size;
    // Horizontal pass into tmp.
    for (int64_t y = 0; y < size; ++y) {
      const float* row = p + y * size;
      for (int64_t i = 0; i < size + 2 * radius; ++i) pd[i] = row[rows[i]];
      float* o = t + y * size;
      for (int64_t x = 0; x < size; ++x) {
        float acc = 0.0f;
        for (int64_t k = 0; k < taps; ++k) acc += w[k] * pd[x + k];
        o[x] = acc;
      }
    }
    // Vertical pass back into the image (tmp holds everything it needs).
    for (int64_t y = 0; y < size; ++y) {
      float* o = p + y * size;
      for (int64_t x = 0; x < size; ++x) o[x] = 0.0f;
      for (int64_t k = 0; k < taps; ++k) {
        const float* src = t + rows[y + k] * size;
        const float wk = w[k];
        for (int64_t x = 0; x < size; ++x) o[x] += wk * src[x];
      }
    }
  }
}

}  // namespace contra::augment::detail
