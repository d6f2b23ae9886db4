// The two views at once (methods/parallel_views.h): with one intra-op thread everywhere, the
// concurrent step gives bitwise the sequential split step's loss, gradients and batch-norm
// buffers, over several optimizer steps; and forward() + backward()'s loss and buffers, with its
// gradients up to the order of summation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "../support/expect_error.h"
#include "contra/core/one_thread_workers.h"
#include "contra/core/runtime.h"
#include "contra/methods/parallel_views.h"
#include "contra/methods/simclr.h"

using namespace contra;

namespace {

/// ConvNet (batch norm after each convolution) + head with batch norm, channels-last, chunks of 3.
methods::SimCLR make_views_model() {
  torch::manual_seed(0);
  models::EncoderSpec spec;
  spec.widths = {4, 8};
  return methods::SimCLR(methods::SimCLROptions(spec, 6)
                             .head_hidden(16)
                             .head_batch_norm(true)
                             .channels_last(true)
                             .encode_chunk(3)
                             .loss(methods::TwoViewLossOptions().temperature(0.3)));
}

std::vector<torch::Tensor> views_state(methods::SimCLRImpl& m, bool grads) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(grads ? p.grad().clone() : p.detach().clone());
  for (auto& b : m.buffers()) out.push_back(b.clone());
  return out;
}

data::Batch views_batch(int64_t seed) {
  torch::manual_seed(seed);
  data::Batch b;
  b.view1 = torch::randn({8, 1, 12, 12});
  b.view2 = torch::randn({8, 1, 12, 12});
  return b;
}

/// Restores the process's intra-op thread count when the test ends.
struct ViewsThreads {
  explicit ViewsThreads(int n) : before(contra::set_threads(n)) {}
  ~ViewsThreads() { contra::set_threads(before); }
  int before;
};

}  // namespace

TEST(ParallelViews, ConcurrentEqualsSequentialBitwise) {
  ViewsThreads one(1);
  OneThreadWorkers workers(2);
  auto concurrent = make_views_model(), sequential = make_views_model();
  torch::optim::SGD opt_c(concurrent->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  torch::optim::SGD opt_s(sequential->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  for (int step = 0; step < 3; ++step) {
    const auto batch = views_batch(10 + step);
    opt_c.zero_grad();
    opt_s.zero_grad();
    auto a = methods::parallel_views_step(*concurrent->split_step(batch), &workers);
    auto b = methods::parallel_views_step(*sequential->split_step(batch), nullptr);
    EXPECT_FALSE(a.loss.requires_grad());
    EXPECT_EQ(a.loss.item<float>(), b.loss.item<float>()) << "step " << step;
    EXPECT_EQ(a.top1, b.top1);
    const auto ga = views_state(*concurrent, true), gb = views_state(*sequential, true);
    ASSERT_EQ(ga.size(), gb.size());
    for (size_t i = 0; i < ga.size(); ++i) EXPECT_TRUE(torch::equal(ga[i], gb[i])) << "step " << step << " tensor " << i;
    opt_c.step();
    opt_s.step();
  }
  const auto pa = views_state(*concurrent, false), pb = views_state(*sequential, false);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "tensor " << i;
}

TEST(ParallelViews, MatchesForwardBackward) {
  ViewsThreads one(1);
  OneThreadWorkers workers(2);
  auto concurrent = make_views_model(), direct = make_views_model();
  const auto batch = views_batch(7);
  auto a = methods::parallel_views_step(*concurrent->split_step(batch), &workers);
  auto ref = direct->forward(batch);
  ref.loss.backward();
  EXPECT_EQ(a.loss.item<float>(), ref.loss.item<float>());
  std::vector<torch::Tensor> bc, bd;
  for (auto& b : concurrent->buffers()) bc.push_back(b);
  for (auto& b : direct->buffers()) bd.push_back(b);
  ASSERT_EQ(bc.size(), bd.size());
  ASSERT_FALSE(bc.empty());
  // Running statistics: view 2's updates after view 1's, as forward() makes them, to the bit.
  for (size_t i = 0; i < bc.size(); ++i) EXPECT_TRUE(torch::equal(bc[i], bd[i])) << "buffer " << i;
  auto pc = concurrent->parameters(), pd = direct->parameters();
  for (size_t i = 0; i < pc.size(); ++i)
    EXPECT_TRUE(torch::allclose(pc[i].grad(), pd[i].grad(), 1e-4, 1e-6))
        << "parameter " << i << ": " << (pc[i].grad() - pd[i].grad()).abs().max();
}

TEST(ParallelViews, RejectsBadInput) {
  auto m = make_views_model();
  auto batch = views_batch(1);
  OneThreadWorkers one(1);
  using test_support::expect_error;
  expect_error([&] { methods::parallel_views_step(*m->split_step(batch), &one); },
               "parallel views need 2 worker threads, got 1");
  auto split = *m->split_step(batch);
  split.view2 = split.view2.slice(0, 0, 5);
  expect_error([&] { methods::parallel_views_step(split, nullptr); },
               "parallel views need two views of equal shape, got [8, 1, 12, 12] and [5, 1, 12, 12]");
}
