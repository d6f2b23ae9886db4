#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../support/expect_error.h"
#include "contra/negatives/queue.h"

using namespace contra::negatives;
using contra::test_support::expect_error;

namespace {
torch::Tensor rows(std::initializer_list<float> v) {
  return torch::tensor(std::vector<float>(v)).unsqueeze(1);  // [B, 1]
}
}  // namespace

TEST(KeyQueue, StartsWithRandomUnitKeys) {
  KeyQueue q(5, 3);
  EXPECT_EQ(q->keys().sizes(), (at::IntArrayRef{5, 3}));
  EXPECT_TRUE(torch::allclose(q->keys().norm(2, 1), torch::ones({5}), 1e-5, 1e-6));
  EXPECT_EQ(q->pointer(), 0);
  EXPECT_EQ(q->filled(), 0);
}

TEST(KeyQueue, FifoOrderAndWrapAround) {
  KeyQueue q(5, 1);
  q->enqueue(rows({1, 2}));
  q->enqueue(rows({3, 4}));
  EXPECT_EQ(q->pointer(), 4);
  EXPECT_EQ(q->filled(), 4);
  q->enqueue(rows({5, 6, 7}));  // 5 at row 4, then 6, 7 overwrite the oldest rows 0, 1
  EXPECT_EQ(q->pointer(), 2);
  EXPECT_EQ(q->filled(), 5);
  EXPECT_TRUE(torch::equal(q->keys().squeeze(1), torch::tensor({6.f, 7.f, 3.f, 4.f, 5.f})));
  q->enqueue(rows({8, 9, 10, 11, 12}));  // a whole queue at once
  EXPECT_TRUE(torch::equal(q->keys().squeeze(1), torch::tensor({11.f, 12.f, 8.f, 9.f, 10.f})));
  EXPECT_EQ(q->pointer(), 2);
}

TEST(KeyQueue, StateTravelsAsBuffers) {
  KeyQueue q(4, 2);
  q->enqueue(torch::ones({3, 2}));
  auto names = q->named_buffers();
  EXPECT_TRUE(names.contains("keys"));
  EXPECT_TRUE(names.contains("pointer"));
  EXPECT_TRUE(names.contains("filled"));
  EXPECT_EQ(q->parameters().size(), 0u);
}

TEST(KeyQueue, RejectsBadSizes) {
  expect_error([] { KeyQueue(0, 2); }, "queue size must be >= 1, got 0");
  KeyQueue q(3, 2);
  expect_error([&] { q->enqueue(torch::ones({4, 2})); },
               "cannot enqueue 4 keys into a queue of 3: the queue must hold at least one step's keys");
  expect_error([&] { q->enqueue(torch::ones({2, 5})); }, "queue keys must be [B, 2], got [2, 5]");
}
