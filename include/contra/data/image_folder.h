#pragma once
#include <string>
#include <utility>
#include <vector>

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

/// The images of an image folder without reading them: (path, label) in load_image_folder's
/// order, and the class names. With `allow_flat`, a root holding images and no class folders is
/// one unlabelled collection (label -1, no class names).
struct ImageFolderListing {
  std::vector<std::pair<std::string, int64_t>> files;
  std::vector<std::string> class_names;
};
ImageFolderListing list_image_folder(const std::string& root, bool allow_flat = false);

/// Decodes image files as load_image_folder does (resized, centre-cropped): [N, channels, size,
/// size] uint8. Throws contra::Error naming an unreadable or corrupt file.
at::Tensor load_images(const std::vector<std::string>& paths, int64_t channels, int64_t size);

}  // namespace contra::data
