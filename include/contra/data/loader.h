#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/augment/pipeline.h"
#include "contra/data/batch.h"
#include "contra/data/dataset.h"

namespace contra::data {

/// Image batches are data::Batch with view1, view2, index and label set (the name stays for
/// the image loader's users).
using TwoViewBatch = Batch;

struct LoaderOptions {
  explicit LoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}
  /// Samples per batch (required).
  TORCH_ARG(int64_t, batch_size);
  /// Base seed: epoch e's order and every augmentation derive from (seed, e, batch, sample).
  TORCH_ARG(uint64_t, seed) = 0;
  /// Background augmentation threads (default 1).
  TORCH_ARG(int64_t, workers) = 1;
  /// Batches prepared ahead of the trainer, per worker (default 4).
  TORCH_ARG(int64_t, prefetch) = 4;
  /// Drop the last incomplete batch of each epoch (default true).
  TORCH_ARG(bool, drop_last) = true;
  /// Shuffle each epoch (default true).
  TORCH_ARG(bool, shuffle) = true;
  /// Several processes: batch_size is the global batch and this process (rank of world_size)
  /// makes its rank-th slice of batch_size / world_size samples, with the same order and
  /// augmentations the single-process batch has at those positions (a DistributedSampler whose
  /// union over ranks is the one-process batch). Needs drop_last and a divisible batch_size.
  TORCH_ARG(int64_t, rank) = 0;
  TORCH_ARG(int64_t, world_size) = 1;
};

/// Streams TwoViewBatch-es over epochs without end, in order (epoch 0 batch 0, 1, ...), made by
/// background threads into a bounded queue. The result is the same for any number of workers.
/// start_batch: the global batch number (epoch * batches_per_epoch + batch) to start at, so a
/// resumed run sees exactly the batches an uninterrupted one would.
/// Errors in a worker are re-thrown from next(). Destruction stops the workers promptly.
class TwoViewLoader : public BatchSource {
 public:
  TwoViewLoader(const ImageDataset& dataset, augment::Pipeline pipeline, LoaderOptions options,
                int64_t start_batch = 0);
  ~TwoViewLoader() override;
  TwoViewLoader(const TwoViewLoader&) = delete;
  TwoViewLoader& operator=(const TwoViewLoader&) = delete;

  /// Blocks until the next batch is ready.
  Batch next() override;
  /// Restarts the workers at global batch `global` (batches made ahead are dropped).
  void seek(int64_t global) override;
  int64_t batches_per_epoch() const override { return batches_per_epoch_; }
  int64_t size() const override;
  /// Seconds next() spent waiting for data since construction.
  double wait_seconds() const override { return wait_seconds_; }

 private:
  void start(int64_t start_batch);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t batches_per_epoch_ = 0;
  double wait_seconds_ = 0.0;
};

}  // namespace contra::data
