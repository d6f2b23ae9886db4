// OneThreadWorkers: each task on its own persistent thread with one intra-op thread, the caller's
// thread count and grad mode untouched / handed on, errors rethrown in task order.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "../support/expect_error.h"
#include "contra/core/one_thread_workers.h"
#include "contra/core/runtime.h"

using namespace contra;

TEST(OneThreadWorkers, RunsEachTaskOnItsOwnOneThreadWorker) {
  const int before = contra::set_threads(2);
  {
    OneThreadWorkers workers(2);
    EXPECT_EQ(workers.size(), 2);
    std::thread::id ids[2];
    int threads[2] = {0, 0};
    for (int round = 0; round < 3; ++round) {
      std::thread::id again[2];
      workers.run({[&] { again[0] = std::this_thread::get_id(); threads[0] = at::get_num_threads(); },
                   [&] { again[1] = std::this_thread::get_id(); threads[1] = at::get_num_threads(); }});
      if (round == 0) {
        ids[0] = again[0];
        ids[1] = again[1];
      }
      EXPECT_EQ(again[0], ids[0]);  // persistent: the same thread each call
      EXPECT_EQ(again[1], ids[1]);
    }
    EXPECT_NE(ids[0], ids[1]);
    EXPECT_NE(ids[0], std::this_thread::get_id());
    EXPECT_EQ(threads[0], 1);
    EXPECT_EQ(threads[1], 1);
    EXPECT_EQ(at::get_num_threads(), 2);  // the caller's count is its own
    // A kernel on a worker gives the caller's result.
    auto a = torch::randn({64, 64});
    torch::Tensor on_worker;
    workers.run({[&] { on_worker = a.matmul(a); }});
    EXPECT_TRUE(torch::allclose(on_worker, a.matmul(a)));
  }
  contra::set_threads(before);
}

TEST(OneThreadWorkers, HandsOnGradModeAndRethrowsTheFirstError) {
  OneThreadWorkers workers(2);
  bool grad_enabled[2] = {true, true};
  {
    torch::NoGradGuard no_grad;
    workers.run({[&] { grad_enabled[0] = torch::GradMode::is_enabled(); },
                 [&] { grad_enabled[1] = torch::GradMode::is_enabled(); }});
  }
  EXPECT_FALSE(grad_enabled[0]);
  EXPECT_FALSE(grad_enabled[1]);
  std::atomic<int> ran{0};
  try {
    workers.run({[&] { ++ran; throw std::runtime_error("first"); },
                 [&] { ++ran; throw std::runtime_error("second"); }});
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
  EXPECT_EQ(ran.load(), 2);  // both ran to the end; the workers still serve
  workers.run({[&] { ++ran; }});
  EXPECT_EQ(ran.load(), 3);
  test_support::expect_error([&] { workers.run({[] {}, [] {}, [] {}}); }, "3 tasks for 2 workers");
  test_support::expect_error([] { OneThreadWorkers none(0); }, "need at least 1, got 0");
}
