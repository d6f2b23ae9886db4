#include "contra/data/text_loader.h"

#include <chrono>
#include <numeric>

#include <ATen/ATen.h>

#include "contra/core/error.h"
#include "contra/core/rng.h"

namespace contra::data {

TextLoader::TextLoader(std::vector<std::string> texts, Tokenizer tokenizer,
                       augment::TextAugmenter augmenter, TextLoaderOptions options)
    : texts_(std::move(texts)),
      tokenizer_(std::move(tokenizer)),
      augmenter_(std::move(augmenter)),
      options_(options) {
  CONTRA_CHECK(!texts_.empty(), "text loader: no texts");
  check_sizes();
}

TextLoader::TextLoader(std::vector<TextPair> pairs, Tokenizer tokenizer, TextLoaderOptions options)
    : pairs_(std::move(pairs)),
      tokenizer_(std::move(tokenizer)),
      augmenter_(augment::TextAugmentOptions()),
      options_(options) {
  CONTRA_CHECK(!pairs_.empty(), "text loader: no pairs");
  check_sizes();
}

void TextLoader::check_sizes() const {
  CONTRA_CHECK(options_.batch_size() >= 2, "train.batch_size must be >= 2, got ",
               options_.batch_size());
  CONTRA_CHECK(options_.batch_size() <= size(), "train.batch_size (", options_.batch_size(),
               ") is larger than the training set (", size(), " examples)");
}

std::vector<int64_t> TextLoader::order_of(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(size()));
  std::iota(order.begin(), order.end(), 0);
  if (options_.shuffle()) {
    Rng rng(derive_seed(options_.seed(), uint64_t(epoch), 0x6f72646572ull /* "order" */));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  }
  return order;
}

void TextLoader::seek(int64_t global) {
  CONTRA_CHECK(global >= 0, "text loader: batch ", global, " < 0");
  epoch_ = global / batches_per_epoch();
  batch_ = global % batches_per_epoch();
  order_ = order_of(epoch_);
}

TextBatch TextLoader::next() {
  const auto t0 = std::chrono::steady_clock::now();
  if (batch_ >= batches_per_epoch()) ++epoch_, batch_ = 0;
  if (batch_ == 0) order_ = order_of(epoch_);
  const int64_t b = options_.batch_size();
  TextBatch out;
  out.epoch = epoch_;
  out.batch = batch_;
  out.index = at::empty({b}, at::TensorOptions(at::kLong));
  int64_t* index = out.index.data_ptr<int64_t>();
  std::vector<std::string> first, second, negative;
  for (int64_t i = 0; i < b; ++i) {
    const int64_t k = order_[size_t(batch_ * b + i)];
    index[i] = k;
    if (!texts_.empty()) {
      first.push_back(texts_[size_t(k)]);
    } else {
      const auto& p = pairs_[size_t(k)];
      first.push_back(p.anchor);
      second.push_back(p.positive);
      if (!p.negative.empty()) negative.push_back(p.negative);
    }
  }
  const int64_t len = options_.max_len();
  if (!texts_.empty()) {
    const uint64_t seed = derive_seed(options_.seed(), uint64_t(epoch_), uint64_t(batch_));
    out.view1 = tokenizer_.encode_batch(augmenter_(first, derive_seed(seed, 1)), len);
    out.view2 = tokenizer_.encode_batch(augmenter_(first, derive_seed(seed, 2)), len);
  } else {
    out.view1 = tokenizer_.encode_batch(first, len);
    out.view2 = tokenizer_.encode_batch(second, len);
    // A mix of pairs with and without negatives cannot form a [B, 1, d] tensor: use none.
    if (int64_t(negative.size()) == b) out.negative = tokenizer_.encode_batch(negative, len);
  }
  ++batch_;
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace contra::data
