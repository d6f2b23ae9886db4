#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace contra::data {

/// A batch of token sequences, padded on the right.
struct TokenBatch {
  at::Tensor ids;   ///< [B, L] int64; pad id after the end of each sequence
  at::Tensor mask;  ///< [B, L] bool; true on real tokens (every row has at least one)
  int64_t size() const { return ids.defined() ? ids.size(0) : 0; }
  TokenBatch to(const at::Device& device) const;
};

/// One training batch of any modality, as every loader makes it and every method reads it.
/// Image runs fill view1/view2; text runs fill text1/text2 (and text_negative); image-text pairs
/// would fill view1 and text1. Rows are this process's share of the global batch.
struct Batch {
  /// Image views: [B, C, S, S] float32, normalised; two augmentations of the same images.
  at::Tensor view1, view2;
  /// Text views (unsupervised: two views of the same texts; supervised: anchors, positives).
  TokenBatch text1, text2;
  /// One hard negative per row (supervised text); size() == 0 when there are none.
  TokenBatch text_negative;
  /// index: [B] int64, positions in the loader's examples; label: [B] int64, -1 unknown (may be
  /// undefined where the data has no labels).
  at::Tensor index, label;
  int64_t epoch = 0;
  /// Batch number within its epoch.
  int64_t batch = 0;
  /// Rows of the batch.
  int64_t size() const { return index.defined() ? index.size(0) : 0; }
  /// The batch's tensors on `device` (index stays where it is).
  Batch to(const at::Device& device) const;
};

/// The one loader contract: an endless, deterministic stream of batches. Batch g (global number
/// epoch * batches_per_epoch + batch) is a function of the seed and g alone: the same for any
/// number of background workers, and after seek(g) the same as in an uninterrupted stream. With
/// several processes each makes its rank's slice of every global batch (rows [r B/W, (r+1) B/W)
/// of what one process would make, augmented alike), so the union over ranks is one process's
/// batch.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  /// Blocks until the next batch is ready. Errors of background work are thrown here.
  virtual Batch next() = 0;
  /// The next next() returns global batch `global`.
  virtual void seek(int64_t global) = 0;
  virtual int64_t batches_per_epoch() const = 0;
  /// Training examples (images, texts, pairs) one epoch goes through.
  virtual int64_t size() const = 0;
  /// Seconds next() has spent waiting for data.
  virtual double wait_seconds() const = 0;
};

}  // namespace contra::data
