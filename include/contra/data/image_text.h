#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace contra::data {

/// Image-text pairs in memory (CLIP-style runs): every image with one or more captions, and
/// optionally a class (the zero-shot labels). Every reader of paired data (a CSV/TSV manifest,
/// Debian's openclipart, the Noto colour emoji) produces this; the loader, the method and the
/// evaluation read only this.
struct ImageTextDataset {
  /// [N, C, S, S] uint8, contiguous; every image resized to the same side S.
  at::Tensor images;
  /// captions[i]: the captions of image i, at least one, none empty.
  std::vector<std::vector<std::string>> captions;
  /// [N] int64; -1 where unknown (a manifest without a label column).
  at::Tensor labels;
  /// class_names[k] names label k: the zero-shot classes (empty when there are no labels).
  std::vector<std::string> class_names;
  /// ids[i]: where image i came from (a file path, or "U+1F600" for an emoji), for reports and
  /// error messages.
  std::vector<std::string> ids;

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

/// A dataset split by image (every caption of an image goes where its image goes).
struct ImageTextSplits {
  ImageTextDataset train, val, test;
};

}  // namespace contra::data
