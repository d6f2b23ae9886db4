// Colour jitter pieces, random grayscale, solarize and normalisation on float [0, 1] planes.
#include <algorithm>
#include <cmath>

#include "ops.h"

namespace contra::augment::detail {

namespace {

constexpr float kR = 0.299f, kG = 0.587f, kB = 0.114f;  // ITU-R 601-2 luma

inline float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

}  // namespace

void adjust_brightness(float* img, int64_t channels, int64_t n, float factor) {
  const int64_t count = channels * n;
  for (int64_t i = 0; i < count; ++i) img[i] = clamp01(img[i] * factor);
}

void adjust_contrast(float* img, int64_t channels, int64_t n, float factor) {
  const int64_t count = channels * n;
  double sum = 0.0;
  if (channels == 3) {
    const float *r = img, *g = img + n, *b = img + 2 * n;
    float acc = 0.0f;
    for (int64_t i = 0; i < n; ++i) acc += kR * r[i] + kG * g[i] + kB * b[i];
    sum = acc;
    sum /= static_cast<double>(n);
  } else {
    float acc = 0.0f;
    for (int64_t i = 0; i < count; ++i) acc += img[i];
    sum = static_cast<double>(acc) / static_cast<double>(count);
  }
  const float mean_term = (1.0f - factor) * static_cast<float>(sum);
  for (int64_t i = 0; i < count; ++i) img[i] = clamp01(factor * img[i] + mean_term);
}

void adjust_saturation(float* img, int64_t channels, int64_t n, float factor) {
  if (channels != 3) return;
  float *r = img, *g = img + n, *b = img + 2 * n;
  const float keep = 1.0f - factor;
  for (int64_t i = 0; i < n; ++i) {
    const float gray = kR * r[i] + kG * g[i] + kB * b[i];
    r[i] = clamp01(factor * r[i] + keep * gray);
    g[i] = clamp01(factor * g[i] + keep * gray);
    b[i] = clamp01(factor * b[i] + keep * gray);
  }
}

void adjust_hue(float* img, int64_t channels, int64_t n, float shift) {
  if (channels != 3) return;
  float *rp = img, *gp = img + n, *bp = img + 2 * n;
  for (int64_t i = 0; i < n; ++i) {
    const float r = rp[i], g = gp[i], b = bp[i];
    // _rgb2hsv
    const float maxc = std::max(r, std::max(g, b));
    const float minc = std::min(r, std::min(g, b));
    const bool eqc = maxc == minc;
    const float cr = maxc - minc;
    const float s = cr / (eqc ? 1.0f : maxc);
    const float div = eqc ? 1.0f : cr;
    const float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
    float h;
    if (maxc == r) {
      h = bc - gc;
    } else if (maxc == g) {
      h = 2.0f + rc - bc;
    } else {
      h = 4.0f + gc - rc;
    }
    h = h / 6.0f + 1.0f;
    h -= std::floor(h);
    // shift, Python-style modulo
    h += shift;
    h -= std::floor(h);
    const float v = maxc;
    // _hsv2rgb
    const float h6 = h * 6.0f;
    const float fl = std::floor(h6);
    const float f = h6 - fl;
    const int sector = static_cast<int>(fl) % 6;
    const float p = clamp01(v * (1.0f - s));
    const float q = clamp01(v * (1.0f - s * f));
    const float t = clamp01(v * (1.0f - s * (1.0f - f)));
    float ro, go, bo;
    switch (sector) {
      case 0: ro = v; go = t; bo = p; break;
      case 1: ro = q; go = v; bo = p; break;
      case 2: ro = p; go = v; bo = t; break;
      case 3: ro = p; go = q; bo = v; break;
      case 4: ro = t; go = p; bo = v; break;
      default: ro = v; go = p; bo = q; break;
    }
    rp[i] = ro;
    gp[i] = go;
    bp[i] = bo;
  }
}

void to_grayscale(float* img, int64_t channels, int64_t n) {
  if (channels != 3) return;
  float *r = img, *g = img + n, *b = img + 2 * n;
  for (int64_t i = 0; i < n; ++i) {
    const float gray = kR * r[i] + kG * g[i] + kB * b[i];
    r[i] = gray;
    g[i] = gray;
    b[i] = gray;
  }
}

void solarize(float* img, int64_t count, float threshold) {
  for (int64_t i = 0; i < count; ++i) img[i] = img[i] >= threshold ? 1.0f - img[i] : img[i];
}

void normalize(float* img, int64_t channels, int64_t n, const double* mean, int64_t mean_len,
               const double* std, int64_t std_len) {
  for (int64_t c = 0; c < channels; ++c) {
    const float m = static_cast<float>(mean[mean_len == 1 ? 0 : c]);
    const float s = static_cast<float>(std[std_len == 1 ? 0 : c]);
    float* p = img + c * n;
    if (m == 0.0f && s == 1.0f) continue;
    for (int64_t i = 0; i < n; ++i) p[i] = (p[i] - m) / s;
  }
}

}  // namespace contra::augment::detail
