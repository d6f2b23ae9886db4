#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/data/fashion_mnist.h"
#include "contra/eval/linear_probe.h"
#include "../support/expect_error.h"

namespace {

using contra::test_support::error_of;

using contra::eval::linear_probe;
using contra::eval::LinearProbeOptions;
using contra::eval::LinearProbeResult;

struct Blobs {
  torch::Tensor xtr, ytr, xte, yte;
};

// `classes` Gaussian blobs in `d` dimensions; centres `spread` apart on average.
Blobs blobs(int64_t classes, int64_t d, int64_t ntr, int64_t nte, double spread, double noise,
            uint64_t seed) {
  torch::manual_seed(seed);
  auto centers = torch::randn({classes, d}) * spread;
  Blobs b;
  b.ytr = torch::arange(ntr, torch::kLong) % classes;
  b.yte = torch::arange(nte, torch::kLong) % classes;
  b.xtr = centers.index_select(0, b.ytr) + torch::randn({ntr, d}) * noise;
  b.xte = centers.index_select(0, b.yte) + torch::randn({nte, d}) * noise;
  return b;
}

bool in_grid(double l2, const std::vector<double>& grid) {
  return std::find(grid.begin(), grid.end(), l2) != grid.end();
}

}  // namespace

TEST(LinearProbe, SeparableToyDataIsPerfect) {
  auto b = blobs(3, 5, 300, 150, 10.0, 0.5, 1);
  LinearProbeResult r = linear_probe(b.xtr, b.ytr, b.xte, b.yte);
  EXPECT_DOUBLE_EQ(r.test_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(r.val_accuracy, 1.0);
  EXPECT_TRUE(in_grid(r.l2, LinearProbeOptions().l2_grid()));
}

TEST(LinearProbe, TwoPointsPerSideOfAPlane) {
  // Linearly separable but not by distance to class means: class 1 iff x0 > x1.
  auto xtr = torch::tensor({2.f, 1.f, 5.f, 4.9f, -1.f, -3.f, 0.f, 0.2f, 3.f, 3.5f, -2.f, -2.2f})
                 .view({6, 2});
  auto ytr = torch::tensor({1, 1, 1, 0, 0, 1}, torch::kLong);
  auto xte = torch::tensor({10.f, 0.f, 0.f, 10.f, -5.f, -6.f, -6.f, -5.f}).view({4, 2});
  auto yte = torch::tensor({1, 0, 1, 0}, torch::kLong);
  auto r = linear_probe(xtr, ytr, xte, yte, LinearProbeOptions().l2_grid({1e-4}).val_fraction(0));
  EXPECT_DOUBLE_EQ(r.test_accuracy, 1.0);
}

TEST(LinearProbe, ChosenL2IsInGridAndDeterministic) {
  // Overlapping classes, few samples per dimension: the penalty matters.
  auto b = blobs(4, 40, 200, 400, 0.6, 1.0, 2);
  const std::vector<double> grid{1e-4, 1e-2, 1.0};
  auto o = LinearProbeOptions().l2_grid(grid).val_fraction(0.25).seed(7);
  LinearProbeResult r1 = linear_probe(b.xtr, b.ytr, b.xte, b.yte, o);
  LinearProbeResult r2 = linear_probe(b.xtr, b.ytr, b.xte, b.yte, o);
  EXPECT_TRUE(in_grid(r1.l2, grid)) << r1.l2;
  EXPECT_EQ(r1.l2, r2.l2);
  EXPECT_EQ(r1.test_accuracy, r2.test_accuracy);
  EXPECT_EQ(r1.val_accuracy, r2.val_accuracy);
  EXPECT_GT(r1.test_accuracy, 0.4);  // chance is 0.25
  EXPECT_GT(r1.val_accuracy, 0.0);
  // val accuracy is a multiple of 1 / 50 (25 % of 200 held out).
  EXPECT_NEAR(r1.val_accuracy * 50, std::round(r1.val_accuracy * 50), 1e-9);
}

TEST(LinearProbe, ZeroValFractionUsesFirstGridValue) {
  auto b = blobs(3, 5, 90, 30, 10.0, 0.5, 3);
  auto r = linear_probe(b.xtr, b.ytr, b.xte, b.yte,
                        LinearProbeOptions().l2_grid({0.5, 1e-5}).val_fraction(0));
  EXPECT_EQ(r.l2, 0.5);
  EXPECT_EQ(r.val_accuracy, 0.0);
  EXPECT_DOUBLE_EQ(r.test_accuracy, 1.0);
}

TEST(LinearProbe, StandardisationMakesFeatureScaleIrrelevant) {
  auto b = blobs(3, 6, 300, 300, 1.0, 1.0, 4);
  auto scale = torch::tensor({1e3f, 1e-3f, 1.f, 50.f, 0.02f, 7.f});
  auto shift = torch::tensor({100.f, -3.f, 0.f, 1e3f, 0.5f, -20.f});
  auto o = LinearProbeOptions().l2_grid({1e-3}).val_fraction(0);
  auto plain = linear_probe(b.xtr, b.ytr, b.xte, b.yte, o);
  auto scaled = linear_probe(b.xtr * scale + shift, b.ytr, b.xte * scale + shift, b.yte, o);
  EXPECT_GT(plain.test_accuracy, 0.5);
  EXPECT_NEAR(scaled.test_accuracy, plain.test_accuracy, 2.0 / 300);
}

TEST(LinearProbe, ConstantFeatureIsHarmless) {
  auto b = blobs(2, 3, 100, 50, 10.0, 0.5, 5);
  auto xtr = torch::cat({b.xtr, torch::full({100, 1}, 3.f)}, 1);
  auto xte = torch::cat({b.xte, torch::full({50, 1}, 3.f)}, 1);
  auto r = linear_probe(xtr, b.ytr, xte, b.yte);
  EXPECT_DOUBLE_EQ(r.test_accuracy, 1.0);
}

TEST(LinearProbe, Errors) {
  auto b = blobs(2, 3, 10, 4, 10.0, 0.5, 6);
  auto& x = b.xtr;
  auto& y = b.ytr;
  auto& xt = b.xte;
  auto& yt = b.yte;
  EXPECT_EQ(error_of([&] { linear_probe(x, y, torch::zeros({4, 5}), yt); }),
            "feature dimension mismatch: train features shape [10, 3] vs test features shape [4, 5]");
  EXPECT_EQ(error_of([&] { linear_probe(x, y.narrow(0, 0, 9), xt, yt); }),
            "train labels shape [9] does not match train features shape [10, 3]");
  EXPECT_EQ(error_of([&] { linear_probe(torch::zeros({0, 3}), torch::zeros({0}, torch::kLong), xt, yt); }),
            "train set is empty (features shape [0, 3])");
  EXPECT_EQ(error_of([&] { linear_probe(x, y, torch::zeros({0, 3}), torch::zeros({0}, torch::kLong)); }),
            "test set is empty (features shape [0, 3])");
  EXPECT_EQ(error_of([&] { linear_probe(x, y, xt, yt.to(torch::kFloat)); }),
            "test labels must be a 1-D int64 tensor, got shape [4] dtype Float");
  EXPECT_EQ(error_of([&] { linear_probe(x, y, xt, yt, LinearProbeOptions().l2_grid({})); }),
            "linear probe: l2 grid is empty");
  EXPECT_EQ(error_of([&] { linear_probe(x, y, xt, yt, LinearProbeOptions().l2_grid({1e-3, -1})); }),
            "linear probe: l2 grid values must be finite and >= 0, got -1");
  EXPECT_EQ(error_of([&] { linear_probe(x, y, xt, yt, LinearProbeOptions().val_fraction(1.0)); }),
            "linear probe: val_fraction must be in [0, 1), got 1");
  EXPECT_EQ(error_of([&] { linear_probe(x, y, xt, yt, LinearProbeOptions().val_fraction(-0.1)); }),
            "linear probe: val_fraction must be in [0, 1), got -0.1");
  EXPECT_EQ(error_of([&] { linear_probe(x, y, xt, yt, LinearProbeOptions().max_iter(0)); }),
            "linear probe: max_iter must be >= 1, got 0");
  EXPECT_EQ(error_of([&] {
              linear_probe(x.narrow(0, 0, 1), y.narrow(0, 0, 1), xt, yt);
            }),
            "linear probe: a validation split needs at least 2 training samples, got 1");
  auto nan = x.clone();
  nan[3][2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(error_of([&] { linear_probe(nan, y, xt, yt); }), "train features contain NaN or Inf");
  auto inf = xt.clone();
  inf[0][0] = -std::numeric_limits<float>::infinity();
  EXPECT_EQ(error_of([&] { linear_probe(x, y, inf, yt); }), "test features contain NaN or Inf");
}

// The reference peer (Adam, 30 epochs) gets 0.844 on raw Fashion-MNIST pixels
// ((x / 255 - 0.2860) / 0.3530, flattened to 784; the probe's own standardisation makes that
// affine map irrelevant). Full defaults take minutes at d = 784 on 2 threads, so the grid is
// trimmed to the two useful values and the budget to 100 iterations per fit.
TEST(LinearProbeFashionMnist, RawPixelsMatchPeer) {
  const std::string dir = contra::data::kFashionMnistDefaultDir;
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " not installed";
  contra::set_threads(2);
  auto flat = [](const at::Tensor& images) {
    return ((images.to(torch::kFloat) / 255.0 - 0.2860) / 0.3530).view({images.size(0), -1});
  };
  auto tr = contra::data::load_fashion_mnist(dir, contra::data::Split::kTrain);
  auto te = contra::data::load_fashion_mnist(dir, contra::data::Split::kTest);
  ASSERT_EQ(tr.size(), 60000);
  ASSERT_EQ(te.size(), 10000);
  auto t0 = std::chrono::steady_clock::now();
  const std::vector<double> grid{1e-4, 1e-3};
  LinearProbeResult r = linear_probe(flat(tr.images), tr.labels, flat(te.images), te.labels,
                                     LinearProbeOptions().l2_grid(grid).max_iter(100));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ PROBE    ] raw Fashion-MNIST pixels: test %.4f, val %.4f, l2 %g in %.1f s\n",
              r.test_accuracy, r.val_accuracy, r.l2, s);
  EXPECT_TRUE(in_grid(r.l2, grid));
  EXPECT_GE(r.test_accuracy, 0.83);
  EXPECT_LE(r.test_accuracy, 0.86);
}
