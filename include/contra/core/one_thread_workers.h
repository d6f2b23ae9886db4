#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace contra {

/// A fixed set of persistent worker threads, each running LibTorch's kernels on one intra-op
/// thread (its own OpenMP thread count set to 1; the process-wide count and the caller's are left
/// alone). For independent pieces of work that run better side by side on separate cores than
/// one after the other with every core splitting each small kernel, e.g. the two views of a
/// contrastive step (methods/parallel_views.h).
///
/// The workers live as long as the object: their per-thread caches (oneDNN primitives, OpenMP
/// state) are built once, not per call. Each call hands the caller's thread-local LibTorch state
/// (grad mode, inference mode, dispatch keys) to the workers.
class OneThreadWorkers {
 public:
  /// Starts `count` (>= 1) workers and waits until each has set itself to one intra-op thread.
  explicit OneThreadWorkers(int count);
  /// Stops and joins the workers.
  ~OneThreadWorkers();
  OneThreadWorkers(const OneThreadWorkers&) = delete;
  OneThreadWorkers& operator=(const OneThreadWorkers&) = delete;

  /// The number of workers.
  int size() const { return static_cast<int>(threads_.size()); }
  /// Runs tasks[i] on worker i (at most size() tasks), all at once, and returns when all have
  /// finished; the first task (in order) that threw has its exception rethrown here. Calls from
  /// several threads at once are serialised.
  void run(const std::vector<std::function<void()>>& tasks);

 private:
  void loop(int index);

  std::vector<std::thread> threads_;
  std::mutex call_;  // one run() at a time
  std::mutex m_;
  std::condition_variable wake_, done_;
  std::vector<std::function<void()>> tasks_;
  std::vector<std::exception_ptr> errors_;
  int64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace contra
