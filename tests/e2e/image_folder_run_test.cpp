// Training on a user's own image folder through the CLI: RGB images of mixed sizes, one
// subfolder per class, separate train and test folders.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stb/stb_image_write.h>

namespace fs = std::filesystem;

namespace {
/// Class 0: horizontal stripes; class 1: vertical stripes; random colours and sizes.
void write_folder_split(const fs::path& root, int per_class, unsigned seed) {
  std::mt19937 rng(seed);
  for (int cls = 0; cls < 2; ++cls) {
    fs::create_directories(root / ("class" + std::to_string(cls)));
    for (int i = 0; i < per_class; ++i) {
      int w = 20 + int(rng() % 12), h = 20 + int(rng() % 12), period = 2 + int(rng() % 3);
      uint8_t fg[3] = {uint8_t(rng()), uint8_t(rng()), uint8_t(rng())};
      std::vector<uint8_t> px(size_t(w) * h * 3);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          bool on = ((cls == 0 ? y : x) / period) % 2 == 0;
          for (int c = 0; c < 3; ++c) px[(size_t(y) * w + x) * 3 + c] = on ? fg[c] : 255 - fg[c];
        }
      auto path = root / ("class" + std::to_string(cls)) / ("img" + std::to_string(i) + ".png");
      ASSERT_NE(stbi_write_png(path.c_str(), w, h, 3, px.data(), w * 3), 0);
    }
  }
}
}  // namespace

TEST(Cli, TrainsOnAnImageFolder) {
  auto base = fs::path(testing::TempDir()) / ("contra_image_folder_" + std::to_string(getpid()));
  fs::remove_all(base);
  write_folder_split(base / "train", 96, 1);
  write_folder_split(base / "test", 32, 2);
  auto out = base / "run";
  std::string cmd = std::string(CONTRA_CLI_PATH) + " train " + CONTRA_SOURCE_DIR +
                    "/configs/fashion_mnist.yaml --set data.dataset=image_folder --set data.path=" +
                    (base / "train").string() + " --set data.test_path=" + (base / "test").string() +
                    " --set data.image_size=16 --set data.channels=3"
                    " --set augment.mean=[0.5,0.5,0.5] --set augment.std=[0.25,0.25,0.25]"
                    " --set augment.grayscale_p=0.2 --set augment.saturation=0.4 --set augment.hue=0.1"
                    " --set model.widths=[8,16] --set train.batch_size=32 --set train.epochs=3"
                    " --set eval.knn_k=20 --set threads=2 --out " + out.string() + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  int status = pclose(p);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  std::ifstream sf(out / "summary.json");
  auto summary = nlohmann::json::parse(sf);
  EXPECT_EQ(summary["train_images"], 192);
  EXPECT_EQ(summary["steps"], 3 * (192 / 32));
  // Two easily separated classes (chance: 0.5), 64 test images: the frozen encoder separates
  // them, at least as well as it did untrained (measured in the same run).
  for (const char* key : {"knn_acc", "linear_acc"}) {
    double acc = summary[key].get<double>();
    EXPECT_GE(acc, 0.9) << key << "\n" << summary.dump(2);
    EXPECT_EQ(std::fmod(acc * 64, 1.0), 0.0) << key << " " << acc;
  }
  EXPECT_GE(summary["knn_acc"].get<double>(), summary["untrained"]["knn_acc"].get<double>())
      << summary.dump(2);
  // The report written at the end (report.enabled): RGB thumbnails of the 64 test images.
  std::ifstream report(out / "report.html");
  const std::string page((std::istreambuf_iterator<char>(report)), {});
  EXPECT_NE(page.find("all 64 test images"), std::string::npos);
  EXPECT_NE(page.find("data:image/png;base64,"), std::string::npos);
}
