#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace contra::data {

/// An in-memory image dataset. Everything later (augmentation, loader, evaluation) reads this.
struct ImageDataset {
  /// images: [N, C, H, W] uint8, contiguous.
  at::Tensor images;
  /// labels: [N] int64; -1 where unknown.
  at::Tensor labels;
  /// class_names[k] names label k (may be empty when the source has no names).
  std::vector<std::string> class_names;

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

enum class Split { kTrain, kTest };

}  // namespace contra::data
