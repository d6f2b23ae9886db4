#include "contra/data/image_text_split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/rng.h"

namespace contra::data {
namespace {

/// Images `rows` (ascending) of `d`, with their captions, labels and ids.
ImageTextDataset image_text_rows(const ImageTextDataset& d, const std::vector<int64_t>& rows) {
  ImageTextDataset out;
  const auto index = torch::tensor(rows, torch::kLong);
  out.images = d.images.index_select(0, index).contiguous();
  out.labels = d.labels.defined() ? d.labels.index_select(0, index).contiguous()
                                  : torch::full({int64_t(rows.size())}, -1, torch::kLong);
  out.class_names = d.class_names;
  for (const int64_t i : rows) {
    out.captions.push_back(d.captions[size_t(i)]);
    out.ids.push_back(i < int64_t(d.ids.size()) ? d.ids[size_t(i)] : std::string());
  }
  return out;
}

}  // namespace

ImageTextSplits split_image_text(const ImageTextDataset& d, double val_fraction, double test_fraction,
                                 uint64_t seed) {
  CONTRA_CHECK(val_fraction >= 0 && val_fraction < 1 && test_fraction >= 0 && test_fraction < 1 &&
                   val_fraction + test_fraction < 1,
               "image-text split: the val (", val_fraction, ") and test (", test_fraction,
               ") fractions must be in [0, 1) with a sum below 1");
  const int64_t n = d.size();
  CONTRA_CHECK(int64_t(d.captions.size()) == n, "image-text data: ", n, " images but ", d.captions.size(),
               " caption lists");
  // Groups by label (-1: unlabelled), in label order so the draw does not depend on row order.
  std::map<int64_t, std::vector<int64_t>> groups;
  const int64_t* y = d.labels.defined() ? d.labels.data_ptr<int64_t>() : nullptr;
  for (int64_t i = 0; i < n; ++i) groups[y ? y[i] : -1].push_back(i);
  std::vector<int64_t> train, val, test;
  for (auto& [label, rows] : groups) {
    Rng rng(derive_seed(seed, uint64_t(label + 1), 0x73706c6974ull /* "split" */));
    for (size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.below(i)]);
    const auto count = double(rows.size());
    const auto n_test = size_t(std::llround(test_fraction * count));
    const auto n_val = std::min(rows.size() - n_test, size_t(std::llround(val_fraction * count)));
    test.insert(test.end(), rows.begin(), rows.begin() + n_test);
    val.insert(val.end(), rows.begin() + n_test, rows.begin() + n_test + n_val);
    train.insert(train.end(), rows.begin() + n_test + n_val, rows.end());
  }
  for (auto* part : {&train, &val, &test}) std::sort(part->begin(), part->end());
  return {image_text_rows(d, train), image_text_rows(d, val), image_text_rows(d, test)};
}

}  // namespace contra::data
