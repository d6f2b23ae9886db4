#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <set>

#include "contra/core/error.h"
#include "contra/data/image_text_split.h"
#include "data_test_util.h"

namespace {

using contra::data::ImageTextDataset;
using contra::data::split_image_text;
using namespace contra::data::datatest;

/// n images whose first pixel is its index, labels from `label_of`, ids "img<i>".
template <class F>
ImageTextDataset make_pairs(int64_t n, int64_t classes, F label_of) {
  ImageTextDataset ds;
  ds.images = torch::zeros({n, 3, 2, 2}, torch::kUInt8);
  ds.labels = torch::empty({n}, torch::kInt64);
  for (int64_t i = 0; i < n; ++i) {
    ds.images[i][0][0][0] = static_cast<uint8_t>(i % 256);
    ds.labels[i] = label_of(i);
    ds.captions.push_back({"caption " + std::to_string(i), "other " + std::to_string(i)});
    ds.ids.push_back("img" + std::to_string(i));
  }
  for (int64_t k = 0; k < classes; ++k) ds.class_names.push_back("class " + std::to_string(k));
  return ds;
}

std::vector<std::string> ids_of(const ImageTextDataset& ds) { return ds.ids; }

std::map<int64_t, int64_t> class_counts(const ImageTextDataset& ds) {
  std::map<int64_t, int64_t> counts;
  for (int64_t i = 0; i < ds.size(); ++i) ++counts[ds.labels[i].item<int64_t>()];
  return counts;
}

TEST(ImageTextSplit, DisjointCompleteAndSizedByFraction) {
  const auto ds = make_pairs(1000, 7, [](int64_t i) { return (i * 7919) % 7; });
  const auto s = split_image_text(ds, 0.1, 0.2, 5);
  EXPECT_EQ(s.val.size(), 100);
  EXPECT_EQ(s.test.size(), 200);
  EXPECT_EQ(s.train.size(), 700);
  std::set<std::string> all;
  for (const auto* part : {&s.train, &s.val, &s.test}) {
    for (int64_t i = 0; i < part->size(); ++i) {
      EXPECT_TRUE(all.insert(part->ids[static_cast<size_t>(i)]).second) << "twice: " << part->ids[static_cast<size_t>(i)];
      // Each image keeps its own captions, label, pixels.
      const int idx = std::stoi(part->ids[static_cast<size_t>(i)].substr(3));
      EXPECT_EQ(part->captions[static_cast<size_t>(i)][0], "caption " + std::to_string(idx));
      EXPECT_EQ(part->labels[i].item<int64_t>(), ds.labels[idx].item<int64_t>());
      EXPECT_EQ(part->images[i][0][0][0].item<uint8_t>(), idx % 256);
    }
    EXPECT_EQ(part->class_names, ds.class_names);
    // The dataset's order is kept.
    std::vector<int> order;
    for (const auto& id : part->ids) order.push_back(std::stoi(id.substr(3)));
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  }
  EXPECT_EQ(all.size(), 1000u);
}

TEST(ImageTextSplit, DeterministicForASeedDifferentAcrossSeeds) {
  const auto ds = make_pairs(300, 4, [](int64_t i) { return i % 4; });
  const auto a = split_image_text(ds, 0.2, 0.2, 42), b = split_image_text(ds, 0.2, 0.2, 42);
  EXPECT_EQ(ids_of(a.train), ids_of(b.train));
  EXPECT_EQ(ids_of(a.val), ids_of(b.val));
  EXPECT_EQ(ids_of(a.test), ids_of(b.test));
  const auto c = split_image_text(ds, 0.2, 0.2, 43);
  EXPECT_NE(ids_of(a.val), ids_of(c.val));
}

TEST(ImageTextSplit, StratifiedEveryClassInEverySplit) {
  // Unbalanced: class 0 has 500 images, classes 1..9 have 3..20, class 10 has one.
  std::vector<int64_t> labels;
  for (int i = 0; i < 500; ++i) labels.push_back(0);
  for (int k = 1; k <= 9; ++k)
    for (int i = 0; i < 1 + 2 * k; ++i) labels.push_back(k);
  labels.push_back(10);
  const auto ds = make_pairs(static_cast<int64_t>(labels.size()), 11,
                             [&](int64_t i) { return labels[static_cast<size_t>(i)]; });
  const auto s = split_image_text(ds, 0.1, 0.1, 1);
  const auto train = class_counts(s.train), val = class_counts(s.val), test = class_counts(s.test);
  for (int k = 0; k <= 9; ++k) {
    EXPECT_GE(train.count(k) ? train.at(k) : 0, 1) << "class " << k;
    EXPECT_GE(val.count(k) ? val.at(k) : 0, 1) << "class " << k;
    EXPECT_GE(test.count(k) ? test.at(k) : 0, 1) << "class " << k;
  }
  EXPECT_EQ(train.at(10), 1);  // a single image stays in training
  EXPECT_EQ(val.count(10), 0u);
  // The big class gives about its share.
  EXPECT_NEAR(val.at(0), 50, 1);
  EXPECT_NEAR(test.at(0), 50, 1);
  EXPECT_EQ(s.val.size(), std::llround(ds.size() * 0.1));
  EXPECT_EQ(s.test.size(), std::llround(ds.size() * 0.1));
}

TEST(ImageTextSplit, UnlabelledImagesAreSplitToo) {
  const auto ds = make_pairs(100, 0, [](int64_t) { return -1; });
  const auto s = split_image_text(ds, 0.25, 0.0, 3);
  EXPECT_EQ(s.val.size(), 25);
  EXPECT_EQ(s.test.size(), 0);
  EXPECT_EQ(s.train.size(), 75);
  EXPECT_TRUE(s.train.class_names.empty());
}

TEST(ImageTextSplit, BadFractions) {
  const auto ds = make_pairs(10, 1, [](int64_t) { return 0; });
  expect_error_parts([&] { split_image_text(ds, -0.1, 0.1, 0); }, {"val_fraction", "-0.1"});
  expect_error_parts([&] { split_image_text(ds, 0.1, 1.0, 0); }, {"test_fraction"});
  expect_error_parts([&] { split_image_text(ds, 0.6, 0.4, 0); }, {"must be < 1"});
}

TEST(ImageTextSplit, SpreadIndicesAndSelect) {
  EXPECT_EQ(contra::data::spread_indices(10, 4), (std::vector<int64_t>{0, 2, 5, 7}));
  EXPECT_EQ(contra::data::spread_indices(3, 0), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(contra::data::spread_indices(3, 5), (std::vector<int64_t>{0, 1, 2}));
  const auto ds = make_pairs(5, 2, [](int64_t i) { return i % 2; });
  const auto sub = contra::data::select_image_text(ds, {4, 1});
  EXPECT_EQ(sub.ids, (std::vector<std::string>{"img4", "img1"}));
  EXPECT_EQ(sub.labels[0].item<int64_t>(), 0);
  EXPECT_EQ(sub.images.size(0), 2);
}

TEST(ImageTextSplit, CheckImageTextNamesTheProblem) {
  auto ds = make_pairs(3, 2, [](int64_t i) { return i % 2; });
  contra::data::check_image_text(ds, "test");
  auto bad = ds;
  bad.captions[1].clear();
  expect_error_parts([&] { contra::data::check_image_text(bad, "test"); }, {"test", "img1", "no caption"});
  bad = ds;
  bad.captions[2][1] = "";
  expect_error_parts([&] { contra::data::check_image_text(bad, "test"); }, {"img2", "empty caption"});
  bad = ds;
  bad.labels = torch::tensor({0, 1, 2}, torch::kInt64);
  expect_error_parts([&] { contra::data::check_image_text(bad, "test"); }, {"img2", "label 2"});
  bad = ds;
  bad.ids.pop_back();
  expect_error_parts([&] { contra::data::check_image_text(bad, "test"); }, {"2 ids for 3 images"});
}

}  // namespace
