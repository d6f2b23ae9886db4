// Fused batch norm + ReLU (models/batch_norm_relu.h) against the same layers computed in double
// precision by LibTorch: outputs, running statistics and the gradients of input, weight and bias,
// with 1 and 2 threads, and its place in BatchNorm and ConvNet.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/models/batch_norm.h"
#include "contra/models/batch_norm_relu.h"
#include "contra/models/convnet.h"

using namespace contra;

namespace {

struct Result {
  torch::Tensor y, running_mean, running_var, dx, dweight, dbias;
};

/// One training pass and its backward with upstream gradient dy; fused, or LibTorch's batch
/// norm + ReLU in double.
Result run(const torch::Tensor& x0, const torch::Tensor& dy, bool fused) {
  const int64_t c = x0.size(1);
  torch::manual_seed(11);
  auto weight = (torch::rand({c}) + 0.5).requires_grad_(), bias = (torch::randn({c}) * 0.3).requires_grad_();
  auto rm = torch::randn({c}) * 0.1, rv = torch::rand({c}) + 0.5;
  auto x = x0.clone().requires_grad_();
  Result r;
  if (fused) {
    r.y = models::batch_norm_relu_train(x, weight, bias, rm, rv, 0.1, 1e-5);
    (r.y * dy).sum().backward();
    r.running_mean = rm, r.running_var = rv;
  } else {
    auto xd = x.to(torch::kDouble), wd = weight.to(torch::kDouble), bd = bias.to(torch::kDouble);
    auto rmd = rm.to(torch::kDouble), rvd = rv.to(torch::kDouble);
    r.y = torch::relu(torch::batch_norm(xd, wd, bd, rmd, rvd, true, 0.1, 1e-5, false));
    (r.y * dy.to(torch::kDouble)).sum().backward();
    r.y = r.y.to(torch::kFloat);
    r.running_mean = rmd.to(torch::kFloat), r.running_var = rvd.to(torch::kFloat);
  }
  r.dx = x.grad(), r.dweight = weight.grad(), r.dbias = bias.grad();
  return r;
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  EXPECT_LE(err, tol * scale) << what;
}

}  // namespace

TEST(BatchNormReLU, MatchesLibTorchInDoubleInBothThreadCounts) {
  const int threads = at::get_num_threads();
  // Shapes: rows not a multiple of the kernel's blocks, one channel, 1x1 maps, a large mean.
  const std::vector<std::vector<int64_t>> shapes = {{7, 5, 9, 11}, {64, 32, 8, 8}, {3, 1, 5, 5}, {40, 16, 1, 1}};
  for (const auto& shape : shapes)
    for (int t : {1, 2}) {
      at::set_num_threads(t);
      torch::manual_seed(5);
      auto x = torch::randn(shape) * 2 + 3;
      x = x.contiguous(at::MemoryFormat::ChannelsLast);
      const auto dy = torch::randn(shape);
      const auto fused = run(x, dy, true), ref = run(x, dy, false);
      const std::string what = "shape [" + std::to_string(shape[0]) + "," + std::to_string(shape[1]) + ",...] " +
                               "threads " + std::to_string(t);
      EXPECT_EQ(fused.y.strides(), x.strides()) << what;
      expect_close(fused.y, ref.y, 1e-5, what + " y");
      expect_close(fused.running_mean, ref.running_mean, 1e-6, what + " running_mean");
      expect_close(fused.running_var, ref.running_var, 1e-5, what + " running_var");
      expect_close(fused.dx, ref.dx, 1e-4, what + " dx");
      expect_close(fused.dweight, ref.dweight, 1e-4, what + " dweight");
      expect_close(fused.dbias, ref.dbias, 1e-4, what + " dbias");
      // The ReLU is applied: a good share of outputs are exactly 0, none negative.
      EXPECT_EQ(fused.y.min().item<float>(), 0.f) << what;
      // Deterministic for a thread count.
      const auto again = run(x, dy, true);
      EXPECT_TRUE(torch::equal(again.y, fused.y) && torch::equal(again.dx, fused.dx)) << what;
    }
  at::set_num_threads(threads);
}

TEST(BatchNormReLU, RefusesWhatItDoesNotTake) {
  EXPECT_FALSE(models::batch_norm_relu_supported(torch::randn({4, 3, 5})));
  EXPECT_FALSE(models::batch_norm_relu_supported(torch::randn({4, 3, 5, 5}, torch::kDouble)));
  EXPECT_FALSE(models::batch_norm_relu_supported(torch::randn({4, 3, 6, 6}).slice(3, 0, 3)));
  EXPECT_FALSE(models::batch_norm_relu_supported(torch::randn({4, 3, 6, 6})));  // NCHW: LibTorch's
  EXPECT_TRUE(models::batch_norm_relu_supported(torch::randn({4, 3, 6, 6}).contiguous(at::MemoryFormat::ChannelsLast)));
  EXPECT_FALSE(models::batch_norm_relu_supported(torch::randn({1, 3, 1, 1})));
  EXPECT_TRUE(models::batch_norm_relu_supported(torch::randn({2, 3, 1, 1})));
  auto w = torch::ones({3});
  EXPECT_THROW(models::batch_norm_relu_train(torch::randn({4, 3, 5}), w, w, w, w, 0.1, 1e-5), contra::Error);
  EXPECT_THROW(models::batch_norm_relu_train(torch::randn({4, 2, 5, 5}).contiguous(at::MemoryFormat::ChannelsLast),
                                             w, w, w, w, 0.1, 1e-5), contra::Error);
}

// BatchNorm::with_relu: fused in training; in evaluation or on an input the kernel does not
// take, exactly torch::batch_norm then ReLU.
TEST(BatchNormReLU, BatchNormWithReluFusesOnlyInTraining) {
  torch::manual_seed(2);
  models::BatchNorm plain(6, 2), fused(6, 2);
  fused->with_relu(true);
  auto x = torch::randn({8, 6, 5, 5}).contiguous(at::MemoryFormat::ChannelsLast);
  auto a = torch::relu(plain->forward(x)), b = fused->forward(x);
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(plain->running_var, fused->running_var, 1e-6, 1e-6));
  EXPECT_EQ(fused->num_batches_tracked.item<int64_t>(), 1);
  {  // the same buffers from here on (the fused update differs by rounding)
    torch::NoGradGuard no_grad;
    fused->running_mean.copy_(plain->running_mean), fused->running_var.copy_(plain->running_var);
  }
  plain->eval(), fused->eval();
  EXPECT_TRUE(torch::equal(torch::relu(plain->forward(x)), fused->forward(x)));
  plain->train(), fused->train();
  auto strided = torch::randn({8, 6, 5, 10}).slice(3, 0, 5);
  EXPECT_TRUE(torch::equal(torch::relu(plain->forward(strided)), fused->forward(strided)));
}

// The fused ConvNet has the parameter and buffer names of the plain one, and the same outputs
// and gradients up to rounding.
TEST(BatchNormReLU, FusedConvNetIsThePlainOneUpToRounding) {
  torch::manual_seed(4);
  models::ConvNet plain(models::ConvNetOptions().in_channels(1).widths({8, 16}).pool_after({0}));
  models::ConvNet fused(models::ConvNetOptions().in_channels(1).widths({8, 16}).pool_after({0}).fuse_bn_relu(true));
  const auto p = plain->named_parameters(), f = fused->named_parameters();
  ASSERT_EQ(p.keys(), f.keys());
  ASSERT_EQ(plain->named_buffers().keys(), fused->named_buffers().keys());
  {
    torch::NoGradGuard no_grad;
    for (const auto& kv : p) f[kv.key()].copy_(kv.value());
  }
  auto x = torch::randn({16, 1, 12, 12}).contiguous(at::MemoryFormat::ChannelsLast);
  auto ya = plain->forward(x), yb = fused->forward(x);
  EXPECT_TRUE(torch::allclose(ya, yb, 1e-4, 1e-5));
  ya.pow(2).sum().backward();
  yb.pow(2).sum().backward();
  for (const auto& kv : p)
    EXPECT_TRUE(torch::allclose(kv.value().grad(), f[kv.key()].grad(), 1e-3, 1e-4)) << kv.key();
}

// Held-back running statistics (model.parallel_views) with the fused layer: the same output as a
// direct pass, the buffers untouched until replay(), then bitwise those of the direct pass.
TEST(BatchNormReLU, HeldBackStatisticsReplayBitwise) {
  torch::manual_seed(6);
  models::BatchNorm direct(6, 2), held(6, 2);
  direct->with_relu(true), held->with_relu(true);
  auto x = torch::randn({8, 6, 5, 5}).contiguous(at::MemoryFormat::ChannelsLast) * 2 + 1;
  const auto out = direct->forward(x);
  models::DeferredBatchNormStats stats;
  {
    models::DeferBatchNormStats defer(stats);
    EXPECT_TRUE(torch::equal(held->forward(x), out));
  }
  EXPECT_TRUE(torch::equal(held->running_mean, torch::zeros({6})));
  EXPECT_EQ(held->num_batches_tracked.item<int64_t>(), 0);
  stats.replay();
  EXPECT_TRUE(torch::equal(held->running_mean, direct->running_mean));
  EXPECT_TRUE(torch::equal(held->running_var, direct->running_var));
  EXPECT_EQ(held->num_batches_tracked.item<int64_t>(), 1);
}
