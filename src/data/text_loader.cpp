#include "contra/data/text_loader.h"

#include <chrono>
#include <numeric>

#include <ATen/ATen.h>

#include "contra/core/error.h"
#include "contra/data/epoch_order.h"
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
  CONTRA_CHECK(options_.world_size() >= 1 && options_.rank() >= 0 &&
                   options_.rank() < options_.world_size(),
               "text loader: rank ", options_.rank(), " outside [0, world size ",
               options_.world_size(), ")");
  CONTRA_CHECK(options_.batch_size() % options_.world_size() == 0, "train.batch_size (",
               options_.batch_size(), ") is the global batch and must be a multiple of the number "
               "of processes (", options_.world_size(), ")");
}

std::vector<int64_t> TextLoader::order_of(int64_t epoch) const {
  return epoch_order(size(), options_.shuffle(), options_.seed(), epoch);
}

void TextLoader::seek(int64_t global) {
  CONTRA_CHECK(global >= 0, "text loader: batch ", global, " < 0");
  epoch_ = global / batches_per_epoch();
  batch_ = global % batches_per_epoch();
  order_ = order_of(epoch_);
}

Batch TextLoader::next() {
  const auto t0 = std::chrono::steady_clock::now();
  if (batch_ >= batches_per_epoch()) ++epoch_, batch_ = 0;
  if (batch_ == 0) order_ = order_of(epoch_);
  const int64_t global_b = options_.batch_size();
  const int64_t b = global_b / options_.world_size(), first = options_.rank() * b;
  Batch out;
  out.epoch = epoch_;
  out.batch = batch_;
  out.index = at::empty({b}, at::TensorOptions(at::kLong));
  int64_t* index = out.index.data_ptr<int64_t>();
  const uint64_t seed = derive_seed(options_.seed(), uint64_t(epoch_), uint64_t(batch_));
  std::vector<std::string> first_view, second_view, negative;
  for (int64_t j = 0; j < b; ++j) {
    const int64_t i = first + j;  // the row within the global batch
    const int64_t k = order_[size_t(batch_ * global_b + i)];
    index[j] = k;
    if (!texts_.empty()) {
      // Row i of the global batch: the same views on any process.
      first_view.push_back(augmenter_.apply_row(texts_[size_t(k)], derive_seed(seed, 1), i));
      second_view.push_back(augmenter_.apply_row(texts_[size_t(k)], derive_seed(seed, 2), i));
    } else {
      const auto& p = pairs_[size_t(k)];
      first_view.push_back(p.anchor);
      second_view.push_back(p.positive);
      if (!p.negative.empty()) negative.push_back(p.negative);
    }
  }
  const int64_t len = options_.max_len();
  out.text1 = tokenizer_.encode_batch(first_view, len);
  out.text2 = tokenizer_.encode_batch(second_view, len);
  // A mix of pairs with and without negatives cannot form a [B, 1, d] tensor: use none.
  if (!negative.empty() && int64_t(negative.size()) == b)
    out.text_negative = tokenizer_.encode_batch(negative, len);
  ++batch_;
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace contra::data
