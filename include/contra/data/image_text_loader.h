#pragma once
#include <cstdint>

#include <torch/arg.h>

#include "contra/augment/pipeline.h"
#include "contra/augment/text.h"
#include "contra/data/batch.h"
#include "contra/data/image_text.h"
#include "contra/data/tokenizer.h"

namespace contra::data {

struct ImageTextLoaderOptions {
  explicit ImageTextLoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}
  /// Pairs per batch: the global batch (required).
  TORCH_ARG(int64_t, batch_size);
  /// Epoch e's order, each image's view and each caption draw derive from (seed, e, batch, row)
  /// (default 0).
  TORCH_ARG(uint64_t, seed) = 0;
  /// Tokens per caption, <s> included; longer captions are truncated (default 32).
  TORCH_ARG(int64_t, max_len) = 32;
  /// Shuffle each epoch (default true). The last incomplete batch of an epoch is dropped.
  TORCH_ARG(bool, shuffle) = true;
  /// Several processes: this process (rank of world_size) makes rows [rank B/W, (rank+1) B/W)
  /// of the batch one process would make, with the same views and captions. batch_size must be
  /// a multiple of world_size.
  TORCH_ARG(int64_t, rank) = 0;
  TORCH_ARG(int64_t, world_size) = 1;
};

/// Streams image-text batches over epochs without end: an epoch goes through every image once,
/// in a seeded order; row i of global batch g holds its image augmented once (view1, by the
/// pipeline: CLIP uses a random resized crop alone) and one of its captions, chosen by a seeded
/// draw, changed by the caption augmenter (text.augment; identity by default) and tokenized
/// (text1). Labels as the dataset's (-1 unknown), index the image's number. Everything about row
/// i is drawn from Rng(derive_seed(derive_seed(seed, epoch, batch, k), i)) (k = 1 view,
/// 2 caption, 3 caption augmentation), so batch g is a function of the seed and g alone, for any
/// number of processes and threads, and after seek(g). Batches are made on the calling thread, the images
/// augmented in parallel with at::parallel_for.
class ImageTextLoader : public BatchSource {
 public:
  ImageTextLoader(ImageTextDataset dataset, augment::Pipeline pipeline, Tokenizer tokenizer,
                  ImageTextLoaderOptions options, augment::TextAugmenter captions = augment::TextAugmenter({}));

  Batch next() override;
  void seek(int64_t global) override;
  int64_t batches_per_epoch() const override { return size() / options_.batch_size(); }
  /// Images (one pair each per epoch).
  int64_t size() const override { return dataset_.size(); }
  double wait_seconds() const override { return wait_seconds_; }

 private:
  std::vector<int64_t> order_of(int64_t epoch) const;

  ImageTextDataset dataset_;
  augment::Pipeline pipeline_;
  Tokenizer tokenizer_;
  ImageTextLoaderOptions options_;
  augment::TextAugmenter caption_augmenter_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0, batch_ = 0;
  double wait_seconds_ = 0;
};

}  // namespace contra::data
