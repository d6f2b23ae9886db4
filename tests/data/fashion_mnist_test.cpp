#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "contra/core/error.h"
#include "contra/data/fashion_mnist.h"
#include "data_test_util.h"

namespace {

using contra::data::kFashionMnistDefaultDir;
using contra::data::load_fashion_mnist;
using contra::data::Split;
using namespace contra::data::datatest;

bool have_real_data() {
  return std::filesystem::exists(std::string(kFashionMnistDefaultDir) +
                                 "/train-images-idx3-ubyte.gz");
}

/// Writes a small split (n images of 28x28, labels given) into dir.
void write_split(const TempDir& dir, const std::string& prefix, const Bytes& labels,
                 uint32_t n_images, bool gz) {
  Bytes pixels(static_cast<size_t>(n_images) * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i / (28 * 28) * 10);
  const std::string suffix = gz ? ".gz" : "";
  const auto write = gz ? write_gz : write_raw;
  write(dir.file(prefix + "-images-idx3-ubyte" + suffix), idx_bytes({n_images, 28, 28}, pixels));
  write(dir.file(prefix + "-labels-idx1-ubyte" + suffix),
        idx_bytes({static_cast<uint32_t>(labels.size())}, labels));
}

TEST(FashionMnist, RealTrainSplit) {
  if (!have_real_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const auto ds = load_fashion_mnist(kFashionMnistDefaultDir, Split::kTrain);
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  ASSERT_EQ(ds.labels.sizes(), (std::vector<int64_t>{60000}));
  EXPECT_EQ(ds.images.scalar_type(), torch::kUInt8);
  EXPECT_EQ(ds.labels.scalar_type(), torch::kInt64);
  EXPECT_TRUE(ds.images.is_contiguous());
  EXPECT_EQ(ds.size(), 60000);
  EXPECT_GE(ds.labels.min().item<int64_t>(), 0);
  EXPECT_LE(ds.labels.max().item<int64_t>(), 9);
  // Every class appears, 6000 each.
  EXPECT_TRUE(torch::equal(torch::bincount(ds.labels), torch::full({10}, 6000, torch::kInt64)));
  EXPECT_EQ(ds.labels[0].item<int64_t>(), 9);
  ASSERT_EQ(ds.class_names.size(), 10u);
  EXPECT_EQ(ds.class_names[9], "Ankle boot");
  EXPECT_EQ(ds.class_names[0], "T-shirt/top");
  // Real images: not blank.
  EXPECT_GT(ds.images[0].to(torch::kFloat).mean().item<double>(), 10.0);
}

TEST(FashionMnist, RealTestSplitAndLimit) {
  if (!have_real_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const auto test = load_fashion_mnist(kFashionMnistDefaultDir, Split::kTest);
  ASSERT_EQ(test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  ASSERT_EQ(test.labels.sizes(), (std::vector<int64_t>{10000}));
  EXPECT_GE(test.labels.min().item<int64_t>(), 0);
  EXPECT_LE(test.labels.max().item<int64_t>(), 9);

  const auto small = load_fashion_mnist(kFashionMnistDefaultDir, Split::kTest, 123);
  ASSERT_EQ(small.images.sizes(), (std::vector<int64_t>{123, 1, 28, 28}));
  ASSERT_EQ(small.labels.sizes(), (std::vector<int64_t>{123}));
  EXPECT_TRUE(small.images.is_contiguous());
  EXPECT_TRUE(torch::equal(small.images, test.images.narrow(0, 0, 123)));
  EXPECT_TRUE(torch::equal(small.labels, test.labels.narrow(0, 0, 123)));
  // A limit beyond the size keeps everything.
  EXPECT_EQ(load_fashion_mnist(kFashionMnistDefaultDir, Split::kTest, 20000).size(), 10000);
}

TEST(FashionMnist, SmallFilesRawAndGz) {
  for (bool gz : {false, true}) {
    TempDir dir;
    write_split(dir, "train", {3, 1, 4, 1, 5}, 5, gz);
    write_split(dir, "t10k", {9, 2}, 2, gz);
    const auto train = load_fashion_mnist(dir.path().string(), Split::kTrain);
    ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{5, 1, 28, 28})) << gz;
    EXPECT_TRUE(torch::equal(train.labels, torch::tensor({3, 1, 4, 1, 5}, torch::kInt64)));
    EXPECT_EQ(train.images[4][0][27][27].item<int64_t>(), 40);
    const auto test = load_fashion_mnist(dir.path().string(), Split::kTest, 1);
    ASSERT_EQ(test.images.sizes(), (std::vector<int64_t>{1, 1, 28, 28}));
    EXPECT_EQ(test.labels[0].item<int64_t>(), 9);
  }
}

TEST(FashionMnist, MissingDirAndFiles) {
  TempDir dir;
  const std::string missing = dir.file("does-not-exist");
  expect_error_parts([&] { load_fashion_mnist(missing, Split::kTrain); }, {missing, "not found"});
  expect_error_parts([&] { load_fashion_mnist(dir.path().string(), Split::kTrain); },
               {"train-images-idx3-ubyte", "not found"});
  write_split(dir, "train", {1, 2}, 2, true);
  // The train split is there but not the test split.
  expect_error_parts([&] { load_fashion_mnist(dir.path().string(), Split::kTest); },
               {"t10k-images-idx3-ubyte", "not found"});
  std::filesystem::remove(dir.file("train-labels-idx1-ubyte.gz"));
  expect_error_parts([&] { load_fashion_mnist(dir.path().string(), Split::kTrain); },
               {"train-labels-idx1-ubyte", "not found"});
}

TEST(FashionMnist, CountMismatch) {
  TempDir dir;
  write_split(dir, "train", {1, 2, 3}, 4, false);
  expect_error_parts([&] { load_fashion_mnist(dir.path().string(), Split::kTrain); },
               {"count mismatch", "has 4 images", "has 3 labels", "train-labels-idx1-ubyte"});
}

TEST(FashionMnist, LabelOutOfRange) {
  TempDir dir;
  write_split(dir, "train", {1, 2, 3, 12}, 4, true);
  expect_error_parts([&] { load_fashion_mnist(dir.path().string(), Split::kTrain); },
               {"train-labels-idx1-ubyte.gz", "label 12 at index 3", "outside 0..9"});
}

TEST(FashionMnist, WrongRank) {
  TempDir dir;
  // Labels file swapped in as images.
  write_raw(dir.file("train-images-idx3-ubyte"), idx_bytes({3}, {1, 2, 3}));
  write_raw(dir.file("train-labels-idx1-ubyte"), idx_bytes({3}, {1, 2, 3}));
  expect_error_parts([&] { load_fashion_mnist(dir.path().string(), Split::kTrain); },
               {"train-images-idx3-ubyte", "expected 3 dimensions"});
}

TEST(FashionMnist, CorruptGzipNamesTheFile) {
  TempDir dir;
  write_split(dir, "train", {1, 2}, 2, true);
  Bytes gz = read_all(dir.file("train-images-idx3-ubyte.gz"));
  write_raw(dir.file("train-images-idx3-ubyte.gz"), Bytes(gz.begin(), gz.begin() + gz.size() / 2));
  expect_error_parts([&] { load_fashion_mnist(dir.path().string(), Split::kTrain); },
               {"train-images-idx3-ubyte.gz", "truncated gzip stream"});
}

}  // namespace
