#pragma once
// Shared test helper: an image-text manifest of real images, the first Fashion-MNIST test images
// saved as PNGs, each with two captions made from its class name.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>  // implementation: tests/support/stb_image_write_impl.cpp

#include "contra/data/fashion_mnist.h"

namespace contra::test_support {

/// Where Debian's dataset-fashion-mnist puts the IDX files.
inline const char* fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }
inline bool have_fashion_mnist() {
  return std::filesystem::exists(std::string(fashion_mnist_dir()) + "/t10k-images-idx3-ubyte.gz");
}

/// Writes the first `n` Fashion-MNIST test images to dir/images/<i>.png and dir/pairs.csv
/// (columns filepath, title, label): two rows per image, "a photo of a <class>" and "a <class>,
/// in black and white", the class name as the label. Returns the manifest's path.
inline std::string write_fashion_manifest(const std::filesystem::path& dir, int64_t n) {
  std::filesystem::create_directories(dir / "images");
  const auto d = data::load_fashion_mnist(fashion_mnist_dir(), data::Split::kTest);
  std::ofstream csv(dir / "pairs.csv");
  csv << "filepath,title,label\n";
  for (int64_t i = 0; i < n; ++i) {
    const auto img = d.images[i].contiguous();
    const std::string name = "images/" + std::to_string(i) + ".png";
    EXPECT_NE(stbi_write_png((dir / name).c_str(), 28, 28, 1, img.data_ptr<uint8_t>(), 28), 0);
    const std::string cls = d.class_names[size_t(d.labels[i].item<int64_t>())];
    std::string lower = cls;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    // Quoted: "T-shirt/top" and friends stay one field whatever they hold.
    csv << name << ",\"a photo of a " << lower << "\",\"" << cls << "\"\n";
    csv << name << ",\"a " << lower << ", in black and white\",\"" << cls << "\"\n";
  }
  return (dir / "pairs.csv").string();
}

}  // namespace contra::test_support
