#include "contra/data/image_text_split.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "contra/core/error.h"
#include "contra/core/rng.h"

namespace contra::data {

void check_image_text(const ImageTextDataset& ds, const char* what) {
  CONTRA_CHECK(ds.images.defined() && ds.images.dim() == 4 && ds.images.scalar_type() == torch::kUInt8,
               what, ": images must be [N, C, S, S] uint8");
  CONTRA_CHECK(ds.images.size(2) == ds.images.size(3), what, ": images must be square, got ",
               ds.images.size(2), "x", ds.images.size(3));
  const int64_t n = ds.images.size(0);
  CONTRA_CHECK(static_cast<int64_t>(ds.captions.size()) == n, what, ": ", ds.captions.size(),
               " caption lists for ", n, " images");
  CONTRA_CHECK(static_cast<int64_t>(ds.ids.size()) == n, what, ": ", ds.ids.size(), " ids for ", n,
               " images");
  CONTRA_CHECK(ds.labels.defined() && ds.labels.dim() == 1 && ds.labels.size(0) == n &&
                   ds.labels.scalar_type() == torch::kInt64,
               what, ": labels must be [N] int64");
  for (int64_t i = 0; i < n; ++i) {
    const auto& caps = ds.captions[static_cast<size_t>(i)];
    CONTRA_CHECK(!caps.empty(), what, ": image ", ds.ids[static_cast<size_t>(i)], " has no caption");
    for (const auto& c : caps) {
      CONTRA_CHECK(!c.empty(), what, ": image ", ds.ids[static_cast<size_t>(i)], " has an empty caption");
    }
  }
  const auto classes = static_cast<int64_t>(ds.class_names.size());
  const at::Tensor labels = ds.labels.contiguous();
  const int64_t* l = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    CONTRA_CHECK(l[i] >= -1 && l[i] < classes, what, ": image ", ds.ids[static_cast<size_t>(i)],
                 " has label ", l[i], " (", classes, " class names)");
  }
}

ImageTextDataset select_image_text(const ImageTextDataset& ds, const std::vector<int64_t>& indices) {
  const int64_t n = ds.size();
  for (int64_t i : indices) TORCH_CHECK(i >= 0 && i < n, "select_image_text: index ", i, " of ", n);
  ImageTextDataset out;
  const auto index = torch::tensor(indices, torch::kInt64);
  out.images = ds.images.index_select(0, index).contiguous();
  out.labels = ds.labels.index_select(0, index).contiguous();
  out.class_names = ds.class_names;
  out.captions.reserve(indices.size());
  out.ids.reserve(indices.size());
  for (int64_t i : indices) {
    out.captions.push_back(ds.captions[static_cast<size_t>(i)]);
    out.ids.push_back(ds.ids[static_cast<size_t>(i)]);
  }
  return out;
}

std::vector<int64_t> spread_indices(int64_t n, int64_t count) {
  std::vector<int64_t> out;
  if (count <= 0 || count >= n) {
    for (int64_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (int64_t i = 0; i < count; ++i) out.push_back(i * n / count);
  return out;
}

namespace {

/// One stratum of the split: its images (shuffled) and how many go to validation and test.
struct SplitStratum {
  std::vector<int64_t> items;
  int64_t val = 0, test = 0;
};

/// Gives `target - sum(count)` more images to strata by largest remainder of n * fraction,
/// strata with none in this split first, never taking a stratum's last training image.
void split_top_up(std::vector<SplitStratum>& strata, double fraction, int64_t target, bool val) {
  int64_t have = 0;
  for (const auto& s : strata) have += val ? s.val : s.test;
  bool progress = true;
  while (have < target && progress) {
    progress = false;
    std::vector<std::tuple<bool, double, size_t>> order;  // (has some, -remainder, stratum)
    for (size_t k = 0; k < strata.size(); ++k) {
      const auto& s = strata[k];
      const auto n = static_cast<int64_t>(s.items.size());
      if (n - s.val - s.test < 2) continue;
      const int64_t mine = val ? s.val : s.test;
      order.emplace_back(mine > 0, -(n * fraction - mine), k);
    }
    std::sort(order.begin(), order.end());
    for (const auto& [some, rem, k] : order) {
      if (have >= target) break;
      (val ? strata[k].val : strata[k].test) += 1;
      ++have;
      progress = true;
    }
  }
}

}  // namespace

ImageTextSplits split_image_text(const ImageTextDataset& ds, double val_fraction,
                                 double test_fraction, uint64_t seed) {
  CONTRA_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "split: val_fraction must be in [0, 1), got ",
               val_fraction);
  CONTRA_CHECK(test_fraction >= 0.0 && test_fraction < 1.0,
               "split: test_fraction must be in [0, 1), got ", test_fraction);
  CONTRA_CHECK(val_fraction + test_fraction < 1.0, "split: val_fraction + test_fraction must be < 1, got ",
               val_fraction + test_fraction);
  const int64_t n = ds.size();
  const at::Tensor labels = ds.labels.defined() ? ds.labels.contiguous() : at::Tensor();
  // Strata by label, in label order (-1 first).
  std::map<int64_t, SplitStratum> by_label;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t l = labels.defined() ? labels.data_ptr<int64_t>()[i] : -1;
    by_label[l].items.push_back(i);
  }
  std::vector<SplitStratum> strata;
  for (auto& [label, s] : by_label) {
    Rng rng(derive_seed(seed, static_cast<uint64_t>(label + 1), 0x5b17));
    for (size_t i = s.items.size(); i > 1; --i) std::swap(s.items[i - 1], s.items[rng.below(i)]);
    const auto size = static_cast<double>(s.items.size());
    s.val = static_cast<int64_t>(std::floor(size * val_fraction));
    s.test = static_cast<int64_t>(std::floor(size * test_fraction));
    strata.push_back(std::move(s));
  }
  split_top_up(strata, val_fraction, std::llround(n * val_fraction), /*val=*/true);
  split_top_up(strata, test_fraction, std::llround(n * test_fraction), /*val=*/false);
  std::vector<int64_t> train, val, test;
  for (const auto& s : strata) {
    for (size_t j = 0; j < s.items.size(); ++j) {
      const auto at = static_cast<int64_t>(j);
      (at < s.val ? val : at < s.val + s.test ? test : train).push_back(s.items[j]);
    }
  }
  for (auto* part : {&train, &val, &test}) std::sort(part->begin(), part->end());
  ImageTextSplits out;
  out.train = select_image_text(ds, train);
  out.val = select_image_text(ds, val);
  out.test = select_image_text(ds, test);
  return out;
}

}  // namespace contra::data
