// Fuzzes the decode + resize path of contra::data::load_image_folder: the input becomes the one
// image of a one-class folder, loaded once shrinking (3 channels, 5x5) and once enlarging
// (1 channel, 33x33).
#include <ATen/Parallel.h>

#include <filesystem>

#include "contra/core/error.h"
#include "contra/data/image_folder.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string root = contra_fuzz::scratch_dir() + "/images";
  static const bool made = [&] {
    std::filesystem::create_directories(root + "/cls");
    return true;
  }();
  (void)made;
  contra_fuzz::write_file(root + "/cls/img.png", data, size);  // stb sniffs the format
  for (const auto& opt : {contra::data::ImageFolderOptions{5, 3, 0},
                          contra::data::ImageFolderOptions{33, 1, 0}}) {
    try {
      contra::data::ImageDataset ds = contra::data::load_image_folder(root, opt);
      volatile int64_t sum = ds.images.sum().item<int64_t>();
      (void)sum;
    } catch (const contra::Error&) {
    }
  }
  return 0;
}
