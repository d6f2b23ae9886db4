// The gradient cache gives the parameter gradients, loss and running statistics of the direct
// (chunked) computation, with dropout (random-state replay) and with batch norm.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "../support/expect_error.h"
#include "contra/losses/nt_xent.h"
#include "contra/methods/grad_cache.h"
#include "contra/methods/simclr.h"

using namespace contra;

namespace {

/// Linear -> ReLU -> Dropout -> Linear, in float64.
torch::nn::Sequential make_mlp() {
  torch::manual_seed(0);
  torch::nn::Sequential m(torch::nn::Linear(5, 16), torch::nn::ReLU(), torch::nn::Dropout(0.3),
                          torch::nn::Linear(16, 4));
  m->to(torch::kDouble);
  return m;
}

std::vector<torch::Tensor> grads_of(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.grad().clone());
  return out;
}

void expect_close(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                  double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i].to(torch::kDouble), b[i].to(torch::kDouble), tol, tol)) << "tensor " << i << "\n"
                                                       << (a[i] - b[i]).abs().max();
}

torch::Tensor chunked(torch::nn::Sequential m, const torch::Tensor& x, int64_t chunk) {
  std::vector<torch::Tensor> parts;
  for (const auto& piece : x.split(chunk, 0)) parts.push_back(m->forward(piece));
  return torch::cat(parts, 0);
}

}  // namespace

// Dropout draws the same masks in both passes and as the direct chunked forward: equal
// gradients, equal loss, and the generator ends in the same state.
TEST(GradCache, MatchesDirectGradientsWithDropout) {
  auto x1 = torch::randn({10, 5}, torch::kDouble), x2 = torch::randn({10, 5}, torch::kDouble);
  auto loss = [](const torch::Tensor& z1, const torch::Tensor& z2) {
    return losses::functional::nt_xent(z1, z2, losses::NTXentOptions().temperature(0.5));
  };
  for (int64_t chunk : {3, 4, 10}) {
    auto direct = make_mlp();
    torch::manual_seed(42);
    auto z1 = chunked(direct, x1, chunk);  // view 1 first, as the gradient cache does
    auto z2 = chunked(direct, x2, chunk);
    auto ref = loss(z1, z2);
    ref.loss.backward();
    const double next_direct = torch::rand({1}).item<double>();

    auto cached = make_mlp();
    torch::manual_seed(42);
    auto out = methods::grad_cache_backward([&](const torch::Tensor& c) { return cached->forward(c); },
                                            x1, x2, loss, methods::GradCacheOptions(chunk), cached.get());
    EXPECT_FALSE(out.loss.requires_grad());
    EXPECT_NEAR(out.loss.item<double>(), ref.loss.item<double>(), 1e-12) << chunk;
    EXPECT_DOUBLE_EQ(out.top1, ref.top1);
    expect_close(grads_of(*cached), grads_of(*direct), 1e-12);
    EXPECT_DOUBLE_EQ(torch::rand({1}).item<double>(), next_direct);
  }
}

// Without replay the masks would differ: the test above is not vacuous.
TEST(GradCache, DropoutMasksDifferWithoutReplay) {
  auto m = make_mlp();
  auto x = torch::randn({10, 5}, torch::kDouble);
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(torch::allclose(m->forward(x), m->forward(x)));
}

// SimCLR with batch norm in the encoder: ghost batch norm per encode_chunk in both, running
// statistics updated once; gradients, loss and buffers equal those of forward + backward.
TEST(GradCache, SimCLRMatchesDirectStepWithBatchNorm) {
  auto make = [] {
    torch::manual_seed(0);
    models::EncoderSpec spec;
    spec.widths = {4, 8};
    methods::SimCLR m(methods::SimCLROptions(spec, 6)
                          .head_hidden(16)
                          .head_batch_norm(true)
                          .encode_chunk(3)
                          .loss(methods::TwoViewLossOptions().temperature(0.3)));
    m->to(torch::kDouble);
    return m;
  };
  auto v1 = torch::randn({8, 1, 12, 12}, torch::kDouble), v2 = torch::randn({8, 1, 12, 12}, torch::kDouble);
  auto direct = make(), cached = make();
  auto ref = direct->forward(v1, v2);
  ref.loss.backward();
  auto out = methods::simclr_grad_cache(*cached, v1, v2);
  EXPECT_NEAR(out.loss.item<double>(), ref.loss.item<double>(), 1e-12);
  expect_close(grads_of(*cached), grads_of(*direct), 1e-10);
  std::vector<torch::Tensor> bd, bc;
  for (auto& b : direct->buffers()) bd.push_back(b);
  for (auto& b : cached->buffers()) bc.push_back(b);
  ASSERT_FALSE(bd.empty());
  expect_close(bc, bd, 1e-12);  // includes num_batches_tracked: counted once per chunk
}

TEST(GradCache, RejectsBadInput) {
  auto m = make_mlp();
  auto embed = [&](const torch::Tensor& c) { return m->forward(c); };
  auto loss = [](const torch::Tensor& z1, const torch::Tensor& z2) {
    return losses::functional::nt_xent(z1, z2);
  };
  auto x = torch::randn({4, 5}, torch::kDouble);
  using test_support::expect_error;
  expect_error([&] { methods::grad_cache_backward(embed, x, x, loss, methods::GradCacheOptions(0)); },
               "gradient cache chunk size must be >= 1, got 0");
  expect_error([&] {
    methods::grad_cache_backward(embed, x, x.slice(0, 0, 3), loss, methods::GradCacheOptions(2));
  }, "gradient cache needs two views of equal shape, got [4, 5] and [3, 5]");
}
