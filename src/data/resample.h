// Internal to src/data: the 1-D resampling weights every image reader shares (image folders,
// openclipart's PNGs, rendered emoji), and a letterboxing resampler fed one source row at a time,
// so that a 20,000-pixel-wide image needs memory for a row, not for the image.
#pragma once
#include <cstdint>
#include <vector>

namespace contra::data::detail {

/// Weights of a 1-D resampling from `in` source samples to `out` samples: area averaging when
/// shrinking, bilinear (half-pixel centres) when enlarging. Each output sample's weights sum to
/// 1, so a constant signal stays exactly constant.
struct Taps {
  std::vector<int> first;     ///< first source index per output
  std::vector<int> count;     ///< number of taps per output
  std::vector<float> weight;  ///< out * max_taps
  int max_taps = 0;
};

/// The taps resampling `in` samples to `out` (both >= 1).
Taps make_taps(int in, int out);

/// Resizes a width x height image with `channels` interleaved float channels into a square of
/// side `size`, keeping its aspect ratio: the longer side becomes `size`, the shorter one is
/// centred and the rest is `background`. Feed the source rows top to bottom with add_row, then
/// finish writes planar uint8 [channels, size, size] (rounded, clamped to 0..255).
class LetterboxResampler {
 public:
  LetterboxResampler(int width, int height, int channels, int size, float background);

  /// Source row y (the rows in order, each once): width * channels interleaved values.
  void add_row(int y, const float* row);
  /// Writes the result; call after the last row.
  void finish(uint8_t* dst) const;

  /// The placed image's width, height and offsets inside the square (for tests).
  int out_width() const { return out_w_; }
  int out_height() const { return out_h_; }

 private:
  int width_, height_, channels_, size_, out_w_, out_h_, dx_, dy_;
  float background_;
  Taps tx_, ty_;
  // Source row y contributes to output rows rows_[row_start_[y] .. row_start_[y+1]) with
  // weights row_weight_[...] (the transpose of ty_).
  std::vector<int> row_start_, rows_;
  std::vector<float> row_weight_;
  std::vector<float> hrow_;  // one source row resampled horizontally: out_w * channels
  std::vector<float> acc_;   // out_h * out_w * channels
};

}  // namespace contra::data::detail
