// TwoViewLoader: background threads make two-view batches into a bounded, ordered buffer.
//
// Batches are numbered globally (g = 0, 1, ... from start_batch, the position to resume at). Workers claim the next number
// under the lock, but never more than `workers * prefetch` ahead of the consumer, build the batch
// outside the lock, and file it under its number; next() hands out number after number. Every
// random choice is a function of (seed, epoch, batch, sample), so the stream does not depend on
// the worker count or on scheduling.
#include "contra/data/loader.h"

#include <chrono>
#include <map>
#include <utility>

#include <ATen/ATen.h>

#include "contra/core/error.h"
#include "contra/core/rng.h"

namespace contra::data {

namespace detail {

/// One prefetched batch, or the error its worker hit.
struct Slot {
  TwoViewBatch batch;
  std::exception_ptr error;
};

}  // namespace detail
using detail::Slot;

struct TwoViewLoader::Impl {
  ImageDataset dataset;
  augment::Pipeline pipeline;
  LoaderOptions options;
  int64_t start_batch = 0;
  int64_t batches_per_epoch = 0;
  int64_t n = 0, channels = 0, height = 0, width = 0, out_size = 0;

  std::mutex mu;
  std::condition_variable ready_cv;  // a slot was filed (or stop)
  std::condition_variable space_cv;  // the consumer took a slot (or stop)
  bool stop = false;
  bool failed = false;               // a worker failed: claim nothing further
  int64_t next_claim = 0;            // next global batch number to hand to a worker
  int64_t next_take = 0;             // next global batch number next() returns
  int64_t capacity = 1;
  std::map<int64_t, Slot> ready;
  std::exception_ptr sticky_error;   // re-thrown by every next() after the first failure

  // Epoch permutations, made once each and dropped when the consumer has moved past them.
  std::mutex perm_mu;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> perms;

  std::vector<std::thread> threads;

  Impl(const ImageDataset& ds, augment::Pipeline pipe, LoaderOptions opts, int64_t start)
      : dataset(ds), pipeline(std::move(pipe)), options(std::move(opts)), start_batch(start) {}

  std::shared_ptr<const std::vector<int64_t>> permutation(int64_t epoch) {
    {
      std::lock_guard<std::mutex> lock(perm_mu);
      auto it = perms.find(epoch);
      if (it != perms.end()) return it->second;
    }
    auto perm = std::make_shared<std::vector<int64_t>>(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) (*perm)[i] = i;
    if (options.shuffle()) {
      Rng rng(derive_seed(options.seed(), static_cast<uint64_t>(epoch)));
      for (int64_t i = n - 1; i > 0; --i) {
        std::swap((*perm)[i], (*perm)[rng.below(static_cast<uint64_t>(i + 1))]);
      }
    }
    std::lock_guard<std::mutex> lock(perm_mu);
    // Forget epochs every worker has finished with (claims only move forward).
    for (auto it = perms.begin(); it != perms.end() && it->first < epoch - 1;) it = perms.erase(it);
    return perms.emplace(epoch, std::move(perm)).first->second;  // keeps a racing twin's copy
  }

  TwoViewBatch make(int64_t global) {
    TwoViewBatch out;
    out.epoch = (start_batch + global) / batches_per_epoch;
    out.batch = (start_batch + global) % batches_per_epoch;
    const auto perm = permutation(out.epoch);
    const int64_t local = options.batch_size() / options.world_size();
    // This rank's slice of the global batch; i below is the position within the global batch.
    const int64_t begin = out.batch * options.batch_size();
    const int64_t first = options.world_size() > 1 ? options.rank() * local : 0;
    const int64_t count = options.world_size() > 1 ? local : std::min(options.batch_size(), n - begin);

    out.index = at::empty({count}, at::kLong);
    out.label = at::empty({count}, at::kLong);
    out.view1 = at::empty({count, channels, out_size, out_size}, at::kFloat);
    out.view2 = at::empty({count, channels, out_size, out_size}, at::kFloat);
    int64_t* index = out.index.data_ptr<int64_t>();
    int64_t* label = out.label.data_ptr<int64_t>();
    const int64_t* labels = dataset.labels.defined() ? dataset.labels.data_ptr<int64_t>() : nullptr;
    const uint8_t* images = dataset.images.data_ptr<uint8_t>();
    float* v1 = out.view1.data_ptr<float>();
    float* v2 = out.view2.data_ptr<float>();
    const int64_t in_stride = channels * height * width;
    const int64_t out_stride = channels * out_size * out_size;
    const auto e = static_cast<uint64_t>(out.epoch), b = static_cast<uint64_t>(out.batch);
    const uint64_t seed1 = derive_seed(options.seed(), e, b, 1);
    const uint64_t seed2 = derive_seed(options.seed(), e, b, 2);
    // Serial on purpose: at::parallel_for from several loader threads would fight over the one
    // process-wide intra-op pool. Sample i uses derive_seed(view seed, i), exactly as
    // Pipeline::operator()(images, view seed) does.
    for (int64_t j = 0; j < count; ++j) {
      const int64_t i = first + j;
      const int64_t idx = (*perm)[static_cast<size_t>(begin + i)];
      index[j] = idx;
      label[j] = labels ? labels[idx] : -1;
      const uint8_t* src = images + idx * in_stride;
      Rng r1(derive_seed(seed1, static_cast<uint64_t>(i)));
      pipeline.apply(src, channels, height, width, v1 + j * out_stride, r1);
      Rng r2(derive_seed(seed2, static_cast<uint64_t>(i)));
      pipeline.apply(src, channels, height, width, v2 + j * out_stride, r2);
    }
    return out;
  }

  void worker() {
    for (;;) {
      int64_t global;
      {
        std::unique_lock<std::mutex> lock(mu);
        space_cv.wait(lock, [&] { return stop || failed || next_claim - next_take < capacity; });
        if (stop || failed) return;
        global = next_claim++;
      }
      Slot slot;
      try {
        slot.batch = make(global);
      } catch (...) {
        slot.error = std::current_exception();
      }
      const bool this_failed = static_cast<bool>(slot.error);
      {
        std::lock_guard<std::mutex> lock(mu);
        if (this_failed) failed = true;
        ready.emplace(global, std::move(slot));
      }
      ready_cv.notify_all();
      if (this_failed) space_cv.notify_all();  // wake idle workers so they exit
    }
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    ready_cv.notify_all();
    space_cv.notify_all();
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

TwoViewLoader::TwoViewLoader(const ImageDataset& dataset, augment::Pipeline pipeline,
                             LoaderOptions options, int64_t start_batch) {
  const int64_t n = dataset.size();
  CONTRA_CHECK(n > 0, "loader: the dataset is empty");
  CONTRA_CHECK(dataset.images.dim() == 4 && dataset.images.scalar_type() == at::kByte,
               "loader: dataset images must be [N, C, H, W] uint8, got ", dataset.images.sizes(),
               " ", dataset.images.scalar_type());
  CONTRA_CHECK(!dataset.labels.defined() ||
                   (dataset.labels.dim() == 1 && dataset.labels.size(0) == n &&
                    dataset.labels.scalar_type() == at::kLong),
               "loader: dataset labels must be [", n, "] int64");
  CONTRA_CHECK(options.batch_size() >= 1, "loader.batch_size must be >= 1, got ",
               options.batch_size());
  if (options.drop_last()) {
    CONTRA_CHECK(options.batch_size() <= n, "loader.batch_size must be <= the dataset size (", n,
                 ") when drop_last is on, got ", options.batch_size());
  }
  CONTRA_CHECK(options.workers() >= 1, "loader.workers must be >= 1, got ", options.workers());
  CONTRA_CHECK(options.prefetch() >= 1, "loader.prefetch must be >= 1, got ", options.prefetch());
  CONTRA_CHECK(options.world_size() >= 1 && options.rank() >= 0 &&
                   options.rank() < options.world_size(),
               "loader: rank ", options.rank(), " outside [0, world size ", options.world_size(), ")");
  CONTRA_CHECK(options.world_size() == 1 ||
                   (options.drop_last() && options.batch_size() % options.world_size() == 0),
               "train.batch_size (", options.batch_size(), ") is the global batch and must be a "
               "multiple of the number of processes (", options.world_size(), ")");
  batches_per_epoch_ = options.drop_last() ? n / options.batch_size()
                                           : (n + options.batch_size() - 1) / options.batch_size();
  impl_ = std::make_unique<Impl>(dataset, std::move(pipeline), options, 0);
  impl_->dataset.images = dataset.images.contiguous();
  if (impl_->dataset.labels.defined()) impl_->dataset.labels = dataset.labels.contiguous();
  start(start_batch);
}

void TwoViewLoader::start(int64_t start_batch) {
  CONTRA_CHECK(start_batch >= 0, "loader: start_batch must be >= 0, got ", start_batch);
  // A fresh state (queues, claims, errors) over the same data, pipeline and options.
  auto fresh = std::make_unique<Impl>(impl_->dataset, impl_->pipeline, impl_->options, start_batch);
  if (impl_) impl_->shutdown();
  impl_ = std::move(fresh);
  Impl& s = *impl_;
  const LoaderOptions& options = s.options;
  s.n = s.dataset.size();
  s.channels = s.dataset.images.size(1);
  s.height = s.dataset.images.size(2);
  s.width = s.dataset.images.size(3);
  const int64_t os = s.pipeline.options().out_size();
  s.out_size = os > 0 ? os : s.height;
  s.batches_per_epoch = batches_per_epoch_;
  s.capacity = options.workers() * options.prefetch();
  s.threads.reserve(static_cast<size_t>(options.workers()));
  try {
    for (int64_t w = 0; w < options.workers(); ++w) s.threads.emplace_back([&s] { s.worker(); });
  } catch (...) {
    s.shutdown();
    throw;
  }
}

void TwoViewLoader::seek(int64_t global) { start(global); }

int64_t TwoViewLoader::size() const { return impl_->n; }

TwoViewLoader::~TwoViewLoader() {
  if (impl_) impl_->shutdown();
}

Batch TwoViewLoader::next() {
  Impl& s = *impl_;
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.sticky_error) std::rethrow_exception(s.sticky_error);
  s.ready_cv.wait(lock, [&] { return s.ready.count(s.next_take) > 0; });
  auto node = s.ready.extract(s.next_take);
  if (node.mapped().error) {
    s.sticky_error = node.mapped().error;
  } else {
    ++s.next_take;
  }
  lock.unlock();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (node.mapped().error) std::rethrow_exception(node.mapped().error);
  s.space_cv.notify_all();
  return std::move(node.mapped().batch);
}

}  // namespace contra::data
