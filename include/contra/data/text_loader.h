#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/augment/text.h"
#include "contra/data/text.h"
#include "contra/data/tokenizer.h"

namespace contra::data {

/// One text training batch. Unsupervised: view1 and view2 are two views of the same texts.
/// Supervised: view1 holds the anchors, view2 their positives, negative their hard negatives.
struct TextBatch {
  TokenBatch view1, view2;
  TokenBatch negative;  ///< one hard negative per row; size() == 0 when there are none
  at::Tensor index;     ///< [B] int64, positions in the loader's examples
  int64_t epoch = 0;
  int64_t batch = 0;    ///< batch number within its epoch
};

struct TextLoaderOptions {
  explicit TextLoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}
  /// Examples per batch (required).
  TORCH_ARG(int64_t, batch_size);
  /// Epoch e's order and each text's augmentation derive from (seed, e, batch, row) (default 0).
  TORCH_ARG(uint64_t, seed) = 0;
  /// Tokens per sequence, <s> included; longer texts are truncated (default 32).
  TORCH_ARG(int64_t, max_len) = 32;
  /// Shuffle each epoch (default true). The last incomplete batch of an epoch is dropped.
  TORCH_ARG(bool, shuffle) = true;
};

/// Streams TextBatch-es over epochs without end: shuffles, augments (unsupervised) and
/// tokenizes on the calling thread (a few milliseconds per batch, small next to a step).
class TextLoader {
 public:
  /// Unsupervised: each text gives two independently augmented views.
  TextLoader(std::vector<std::string> texts, Tokenizer tokenizer, augment::TextAugmenter augmenter,
             TextLoaderOptions options);
  /// Supervised: pairs as given, not augmented; negatives when every pair has one.
  TextLoader(std::vector<TextPair> pairs, Tokenizer tokenizer, TextLoaderOptions options);

  TextBatch next();
  /// Continues at global batch `global` (epoch * batches_per_epoch + batch): a resumed run then
  /// sees exactly the batches an uninterrupted one would.
  void seek(int64_t global);
  int64_t size() const { return int64_t(texts_.empty() ? pairs_.size() : texts_.size()); }
  int64_t batches_per_epoch() const { return size() / options_.batch_size(); }
  /// Seconds spent in next() so far.
  double wait_seconds() const { return wait_seconds_; }

 private:
  void check_sizes() const;
  std::vector<int64_t> order_of(int64_t epoch) const;

  std::vector<std::string> texts_;
  std::vector<TextPair> pairs_;
  Tokenizer tokenizer_;
  augment::TextAugmenter augmenter_;
  TextLoaderOptions options_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0, batch_ = 0;
  double wait_seconds_ = 0;
};

}  // namespace contra::data
