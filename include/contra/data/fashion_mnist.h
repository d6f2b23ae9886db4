#pragma once
#include <string>
#include <vector>

#include "contra/data/dataset.h"

namespace contra::data {

/// Debian's dataset-fashion-mnist installs here.
inline const char* kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";

/// Loads a Fashion-MNIST (or MNIST) split from dir: {train,t10k}-{images-idx3,labels-idx1}-ubyte
/// with or without .gz. Images come back as [N, 1, 28, 28] uint8, labels [N] int64.
/// limit > 0 keeps the first `limit` samples. Throws contra::Error when files are missing, the
/// image and label counts disagree, or a label is outside 0..9.
/// The path of a split's images or labels file in dir (with .gz when present); throws naming what
/// is missing.
std::string fashion_mnist_file(const std::string& dir, Split split, bool labels);
/// The ten class names, label order.
std::vector<std::string> fashion_mnist_classes();

ImageDataset load_fashion_mnist(const std::string& dir, Split split, int64_t limit = 0);

}  // namespace contra::data
