#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/augment/text.h"
#include "contra/data/batch.h"
#include "contra/data/text.h"
#include "contra/data/tokenizer.h"

namespace contra::data {

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
  /// Several processes: batch_size is the global batch and this process (rank of world_size)
  /// makes rows [rank B/W, (rank+1) B/W) of the batch one process would make, augmented alike.
  /// batch_size must be a multiple of world_size.
  TORCH_ARG(int64_t, rank) = 0;
  TORCH_ARG(int64_t, world_size) = 1;
};

/// Streams text batches over epochs without end: shuffles, augments (unsupervised) and
/// tokenizes on the calling thread (a few milliseconds per batch, small next to a step).
/// Unsupervised batches fill Batch::text1 and text2 (two views of the same texts); supervised
/// ones text1 (anchors), text2 (positives) and text_negative (when every pair has one). Row i of
/// global batch g is augmented with Rng(derive_seed(seed, epoch, batch, view), i), whatever the
/// process count.
class TextLoader : public BatchSource {
 public:
  /// Unsupervised: each text gives two independently augmented views.
  TextLoader(std::vector<std::string> texts, Tokenizer tokenizer, augment::TextAugmenter augmenter,
             TextLoaderOptions options);
  /// Supervised: pairs as given, not augmented; negatives when every pair has one.
  TextLoader(std::vector<TextPair> pairs, Tokenizer tokenizer, TextLoaderOptions options);

  Batch next() override;
  /// Continues at global batch `global` (epoch * batches_per_epoch + batch): a resumed run then
  /// sees exactly the batches an uninterrupted one would.
  void seek(int64_t global) override;
  int64_t size() const override { return int64_t(texts_.empty() ? pairs_.size() : texts_.size()); }
  int64_t batches_per_epoch() const override { return size() / options_.batch_size(); }
  /// Seconds spent in next() so far.
  double wait_seconds() const override { return wait_seconds_; }

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
