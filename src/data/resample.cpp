#include "resample.h"

#include <algorithm>
#include <cmath>

#include <c10/util/Exception.h>

#include "contra/core/error.h"

namespace contra::data::detail {

Taps make_taps(int in, int out) {
  Taps t;
  t.first.resize(static_cast<size_t>(out));
  t.count.resize(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / out;
  if (scale > 1.0) {
    t.max_taps = static_cast<int>(std::ceil(scale)) + 1;
    t.weight.assign(static_cast<size_t>(out) * t.max_taps, 0.0f);
    for (int o = 0; o < out; ++o) {
      const double lo = o * scale, hi = std::min<double>((o + 1) * scale, in);
      const int i0 = static_cast<int>(std::floor(lo));
      const int i1 = std::min(in, static_cast<int>(std::ceil(hi)));
      double sum = 0.0;
      int n = 0;
      for (int i = i0; i < i1 && n < t.max_taps; ++i, ++n) {
        const double w = std::min<double>(i + 1, hi) - std::max<double>(i, lo);
        t.weight[static_cast<size_t>(o) * t.max_taps + n] = static_cast<float>(w);
        sum += w;
      }
      for (int k = 0; k < n; ++k) {
        t.weight[static_cast<size_t>(o) * t.max_taps + k] =
            static_cast<float>(t.weight[static_cast<size_t>(o) * t.max_taps + k] / sum);
      }
      t.first[static_cast<size_t>(o)] = i0;
      t.count[static_cast<size_t>(o)] = n;
    }
  } else {
    t.max_taps = 2;
    t.weight.assign(static_cast<size_t>(out) * 2, 0.0f);
    for (int o = 0; o < out; ++o) {
      double c = (o + 0.5) * scale - 0.5;
      c = std::clamp(c, 0.0, static_cast<double>(in - 1));
      const int i0 = static_cast<int>(std::floor(c));
      const int i1 = std::min(i0 + 1, in - 1);
      const double f = c - i0;
      t.first[static_cast<size_t>(o)] = i0;
      if (i1 == i0) {
        t.count[static_cast<size_t>(o)] = 1;
        t.weight[static_cast<size_t>(o) * 2] = 1.0f;
      } else {
        t.count[static_cast<size_t>(o)] = 2;
        t.weight[static_cast<size_t>(o) * 2] = static_cast<float>(1.0 - f);
        t.weight[static_cast<size_t>(o) * 2 + 1] = static_cast<float>(f);
      }
    }
  }
  return t;
}

LetterboxResampler::LetterboxResampler(int width, int height, int channels, int size,
                                       float background)
    : width_(width), height_(height), channels_(channels), size_(size), background_(background) {
  TORCH_INTERNAL_ASSERT(width >= 1 && height >= 1 && channels >= 1 && size >= 1);
  // The longer side fills the square; the shorter keeps the aspect ratio (at least 1 pixel).
  const auto scaled = [&](int side, int longer) {
    return side >= longer ? size
                          : std::clamp(static_cast<int>(std::lround(static_cast<double>(side) *
                                                                    size / longer)),
                                       1, size);
  };
  const int longer = std::max(width, height);
  out_w_ = scaled(width, longer);
  out_h_ = scaled(height, longer);
  dx_ = (size - out_w_) / 2;
  dy_ = (size - out_h_) / 2;
  tx_ = make_taps(width, out_w_);
  ty_ = make_taps(height, out_h_);
  // Transpose the vertical taps: which output rows each source row feeds.
  std::vector<int> per_row(static_cast<size_t>(height) + 1, 0);
  for (int o = 0; o < out_h_; ++o) {
    for (int k = 0; k < ty_.count[static_cast<size_t>(o)]; ++k) {
      ++per_row[static_cast<size_t>(ty_.first[static_cast<size_t>(o)] + k) + 1];
    }
  }
  for (int y = 0; y < height; ++y) per_row[static_cast<size_t>(y) + 1] += per_row[static_cast<size_t>(y)];
  row_start_ = per_row;
  rows_.resize(static_cast<size_t>(per_row.back()));
  row_weight_.resize(rows_.size());
  std::vector<int> fill(per_row.begin(), per_row.end() - 1);
  for (int o = 0; o < out_h_; ++o) {
    for (int k = 0; k < ty_.count[static_cast<size_t>(o)]; ++k) {
      const auto y = static_cast<size_t>(ty_.first[static_cast<size_t>(o)] + k);
      const auto at = static_cast<size_t>(fill[y]++);
      rows_[at] = o;
      row_weight_[at] = ty_.weight[static_cast<size_t>(o) * ty_.max_taps + k];
    }
  }
  hrow_.assign(static_cast<size_t>(out_w_) * channels, 0.0f);
  acc_.assign(static_cast<size_t>(out_h_) * out_w_ * channels, 0.0f);
}

void LetterboxResampler::add_row(int y, const float* row) {
  TORCH_INTERNAL_ASSERT(y >= 0 && y < height_);
  const auto begin = static_cast<size_t>(row_start_[static_cast<size_t>(y)]);
  const auto end = static_cast<size_t>(row_start_[static_cast<size_t>(y) + 1]);
  if (begin == end) return;  // a row no output sample reads
  const int c = channels_;
  for (int o = 0; o < out_w_; ++o) {
    const float* wts = tx_.weight.data() + static_cast<size_t>(o) * tx_.max_taps;
    const int first = tx_.first[static_cast<size_t>(o)], n = tx_.count[static_cast<size_t>(o)];
    for (int ch = 0; ch < c; ++ch) {
      float v = 0.0f;
      for (int k = 0; k < n; ++k) v += wts[k] * row[static_cast<size_t>(first + k) * c + ch];
      hrow_[static_cast<size_t>(o) * c + ch] = v;
    }
  }
  const size_t row_len = static_cast<size_t>(out_w_) * c;
  for (size_t j = begin; j < end; ++j) {
    float* acc = acc_.data() + static_cast<size_t>(rows_[j]) * row_len;
    const float w = row_weight_[j];
    for (size_t i = 0; i < row_len; ++i) acc[i] += w * hrow_[i];
  }
}

void LetterboxResampler::finish(uint8_t* dst) const {
  const auto plane = static_cast<size_t>(size_) * size_;
  const auto bg = static_cast<uint8_t>(std::clamp(std::nearbyint(background_), 0.0f, 255.0f));
  std::fill(dst, dst + plane * channels_, bg);
  for (int y = 0; y < out_h_; ++y) {
    for (int x = 0; x < out_w_; ++x) {
      for (int ch = 0; ch < channels_; ++ch) {
        const float v = acc_[(static_cast<size_t>(y) * out_w_ + x) * channels_ + ch];
        dst[ch * plane + static_cast<size_t>(y + dy_) * size_ + (x + dx_)] =
            static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
      }
    }
  }
}

}  // namespace contra::data::detail
