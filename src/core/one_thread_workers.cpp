#include "contra/core/one_thread_workers.h"

#include <omp.h>

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include "contra/core/error.h"

namespace contra {

OneThreadWorkers::OneThreadWorkers(int count) {
  CONTRA_CHECK(count >= 1, "worker threads: need at least 1, got ", count);
  {
    std::lock_guard<std::mutex> lock(m_);
    pending_ = count;  // each worker counts itself down once it is set up
  }
  for (int i = 0; i < count; ++i) threads_.emplace_back([this, i] { loop(i); });
  std::unique_lock<std::mutex> lock(m_);
  done_.wait(lock, [this] { return pending_ == 0; });
}

OneThreadWorkers::~OneThreadWorkers() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void OneThreadWorkers::loop(int index) {
  // LibTorch initialises a thread's OpenMP thread count lazily, from the process-wide count, on
  // its first parallel call: do that now, then set this thread's own count (the ICV is per
  // calling thread in libgomp) without touching the process-wide one (at::set_num_threads would).
  at::internal::lazy_init_num_threads();
  omp_set_num_threads(1);
  int64_t seen = 0;
  {
    std::lock_guard<std::mutex> lock(m_);
    if (--pending_ == 0) done_.notify_all();
  }
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(m_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index < static_cast<int>(tasks_.size())) task = tasks_[index];
    }
    std::exception_ptr error;
    if (task) {
      try {
        task();
      } catch (...) {
        error = std::current_exception();
      }
    }
    std::lock_guard<std::mutex> lock(m_);
    if (index < static_cast<int>(errors_.size())) errors_[index] = error;
    if (--pending_ == 0) done_.notify_all();
  }
}

void OneThreadWorkers::run(const std::vector<std::function<void()>>& tasks) {
  CONTRA_CHECK(static_cast<int>(tasks.size()) <= size(), "worker threads: ", tasks.size(),
               " tasks for ", size(), " workers");
  std::lock_guard<std::mutex> call(call_);
  const at::ThreadLocalState state;  // the caller's grad mode etc., for every task
  std::vector<std::function<void()>> wrapped;
  for (const auto& t : tasks)
    wrapped.push_back([&state, &t] {
      at::ThreadLocalStateGuard guard(state);
      t();
    });
  {
    std::lock_guard<std::mutex> lock(m_);
    tasks_ = std::move(wrapped);
    errors_.assign(tasks_.size(), nullptr);
    pending_ = size();
    ++generation_;
  }
  wake_.notify_all();
  std::unique_lock<std::mutex> lock(m_);
  done_.wait(lock, [this] { return pending_ == 0; });
  tasks_.clear();
  for (auto& e : errors_)
    if (e) std::rethrow_exception(e);
}

}  // namespace contra
