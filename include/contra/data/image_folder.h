#pragma once
#include <string>

#include "contra/data/dataset.h"

namespace contra::data {

struct ImageFolderOptions {
  /// Side of the square images after resizing, in pixels (default 32).
  int64_t size = 32;
  /// Channels of the result: 1 (grayscale) or 3 (RGB) (default 3).
  int64_t channels = 3;
  /// Keep at most this many images in total; 0 keeps all (default 0).
  int64_t limit = 0;
};

/// Loads root/<class>/<image>.{png,jpg,jpeg,bmp} (one subfolder per class, classes sorted by
/// name, label = index). Any size: each image is resized (shorter side to `size`, then centre
/// crop) to [channels, size, size]. Returns images [N, C, size, size] uint8.
/// Throws contra::Error for a missing root, a root without class folders or images, or an
/// unreadable/corrupt image (naming the file).
ImageDataset load_image_folder(const std::string& root, const ImageFolderOptions& options);

}  // namespace contra::data
