// Held-back batch-norm running statistics: the same outputs, and after replay() bitwise the same
// buffers as passes that update them directly, in the passes' order.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>
#include <vector>

#include "contra/models/batch_norm.h"

using namespace contra;

namespace {
std::vector<torch::Tensor> buffers_of(models::BatchNorm& bn) {
  return {bn->running_mean.clone(), bn->running_var.clone(), bn->num_batches_tracked.clone()};
}
}  // namespace

TEST(BatchNormDeferred, ReplayGivesTheDirectBuffersBitwise) {
  torch::manual_seed(3);
  for (bool channels_last : {false, true}) {
    models::BatchNorm direct(8, 2), held(8, 2);
    std::vector<torch::Tensor> inputs;
    for (int k = 0; k < 4; ++k) {
      auto x = torch::randn({5 + k, 8, 6, 6}) * (k + 1) + k;
      inputs.push_back(channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x);
    }
    // Two direct passes, then two held back: replay must continue from the direct ones' state.
    for (int k = 0; k < 2; ++k) {
      auto a = direct->forward(inputs[k]), b = held->forward(inputs[k]);
      EXPECT_TRUE(torch::equal(a, b));
    }
    models::DeferredBatchNormStats stats;
    const auto before = buffers_of(held);
    std::vector<torch::Tensor> direct_out;
    for (int k = 2; k < 4; ++k) direct_out.push_back(direct->forward(inputs[k]));
    {
      models::DeferBatchNormStats defer(stats);
      for (int k = 2; k < 4; ++k) EXPECT_TRUE(torch::equal(held->forward(inputs[k]), direct_out[k - 2]));
    }
    EXPECT_EQ(stats.size(), 2u);
    const auto during = buffers_of(held);
    for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], during[i])) << i;
    stats.replay();
    EXPECT_EQ(stats.size(), 0u);
    const auto want = buffers_of(direct), got = buffers_of(held);
    for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(torch::equal(want[i], got[i])) << i;
    EXPECT_EQ(got[2].item<int64_t>(), 4);
    EXPECT_FALSE(torch::equal(got[0], before[0]));  // the replay did update them
  }
}

TEST(BatchNormDeferred, OnlyThisThreadAndTrainingPassesAreHeldBack) {
  models::BatchNorm bn(3, 1);
  auto x = torch::randn({10, 3});
  models::DeferredBatchNormStats stats;
  {
    models::DeferBatchNormStats defer(stats);
    std::thread other([&] { bn->forward(x); });  // another thread: updates directly
    other.join();
    EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
    bn->eval();
    bn->forward(x);  // evaluation: nothing to hold back
    bn->train();
    EXPECT_EQ(stats.size(), 0u);
    bn->forward(x);
    EXPECT_EQ(stats.size(), 1u);
  }
  bn->forward(x);  // guard gone: direct again
  EXPECT_EQ(stats.size(), 1u);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 2);
  stats.replay();
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 3);
}
