// The tiled (linear-memory) losses against the plain ones: same loss, gradients and diagnostics
// for every objective, similarity, tile size and threading, and clear errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "contra/losses/clip.h"
#include "contra/losses/info_nce.h"
#include "contra/losses/nt_xent.h"
#include "contra/losses/tiled.h"
#include "contra/methods/objective.h"

using namespace contra::losses;

namespace {

using Loss = std::function<ContrastiveOutput(const torch::Tensor&, const torch::Tensor&)>;

// Every Similarity: l2 (-distance) once fell back to the dot product in the tiled pass.
const std::vector<Similarity> kSimilarities = {Similarity::kCosine, Similarity::kDot,
                                               Similarity::kNegSquaredEuclidean,
                                               Similarity::kNegEuclidean};
const std::vector<TiledObjective> kObjectives = {
    TiledObjective::kNTXent, TiledObjective::kInfoNCE, TiledObjective::kClipSymmetric};

std::string label(TiledObjective o, Similarity s, int64_t tile, TileThreads th) {
  const char* names[] = {"nt_xent", "info_nce", "clip"};
  return std::string(names[int(o)]) + " " + to_string(s) + " tile " + std::to_string(tile) +
         (th == TileThreads::kAcrossTiles ? " across" : " within");
}

/// The plain (materialised-matrix) loss for the same objective.
Loss plain(TiledObjective o, double t, Similarity s) {
  switch (o) {
    case TiledObjective::kNTXent:
      return [=](const torch::Tensor& a, const torch::Tensor& b) {
        return functional::nt_xent(a, b, NTXentOptions().temperature(t).similarity(s));
      };
    case TiledObjective::kInfoNCE:
      return [=](const torch::Tensor& a, const torch::Tensor& b) {
        return functional::info_nce(a, b, InfoNCEOptions().temperature(t).similarity(s));
      };
    case TiledObjective::kClipSymmetric:
      return [=](const torch::Tensor& a, const torch::Tensor& b) {
        return functional::clip_loss(a, b, ClipOptions().temperature(t).similarity(s));
      };
  }
  return {};
}

Loss tiled(TiledObjective o, double t, Similarity s, int64_t tile,
           TileThreads th = TileThreads::kWithinTile) {
  auto opts =
      TiledContrastiveOptions().objective(o).temperature(t).similarity(s).tile_size(tile).threads(th);
  return [=](const torch::Tensor& a, const torch::Tensor& b) {
    return functional::tiled_contrastive(a, b, opts);
  };
}

struct Result {
  ContrastiveOutput out;
  torch::Tensor g1, g2;
};

Result run_loss(const Loss& loss, const torch::Tensor& z1, const torch::Tensor& z2) {
  auto a = z1.detach().clone().requires_grad_(), b = z2.detach().clone().requires_grad_();
  Result r;
  r.out = loss(a, b);
  r.out.loss.backward();
  r.g1 = a.grad();
  r.g2 = b.grad();
  return r;
}

double rel_err(const torch::Tensor& x, const torch::Tensor& ref) {
  return ((x - ref).norm() / ref.norm().clamp_min(1e-30)).item<double>();
}

/// Loss, gradients and diagnostics equal: relative tolerance `tol` on loss and gradients.
void expect_same(const Result& t, const Result& p, double tol, const std::string& what) {
  const double lt = t.out.loss.item<double>(), lp = p.out.loss.item<double>();
  EXPECT_NEAR(lt, lp, tol * std::abs(lp)) << what;
  EXPECT_LT(rel_err(t.g1, p.g1), tol) << what;
  EXPECT_LT(rel_err(t.g2, p.g2), tol) << what;
  EXPECT_NEAR(t.out.positive_sim, p.out.positive_sim, 1e-5 * (1 + std::abs(p.out.positive_sim)))
      << what;
  EXPECT_NEAR(t.out.negative_sim, p.out.negative_sim, 1e-5 * (1 + std::abs(p.out.negative_sim)))
      << what;
  EXPECT_DOUBLE_EQ(t.out.top1, p.out.top1) << what;
}

/// Views whose positives are close, so top1 is neither 0 nor 1 and the diagnostics mean
/// something.
std::pair<torch::Tensor, torch::Tensor> views(int64_t n, int64_t d, torch::ScalarType dtype,
                                              double noise = 0.8) {
  auto z1 = torch::randn({n, d}, dtype);
  auto z2 = z1 + noise * torch::randn({n, d}, dtype);
  return {z1, z2};
}

}  // namespace

// Every objective and similarity in float64, with tile sizes that divide 2N or N, that do not,
// of 1 and larger than the batch, on both threading schemes: equal to 1e-10.
TEST(TiledLoss, MatchesPlainInDouble) {
  torch::manual_seed(0);
  auto [z1, z2] = views(6, 5, torch::kDouble);
  for (auto o : kObjectives)
    for (auto s : kSimilarities) {
      auto ref = run_loss(plain(o, 0.3, s), z1, z2);
      for (int64_t tile : {1, 2, 4, 5, 7, 64})
        for (auto th : {TileThreads::kWithinTile, TileThreads::kAcrossTiles})
          expect_same(run_loss(tiled(o, 0.3, s, tile, th), z1, z2), ref, 1e-10, label(o, s, tile, th));
    }
}

// l2 by hand: queries (0, 0), (3, 0); keys (0, 4), (3, 4); t = 1. Each query's positive is at
// distance 4 and its negative at distance 5: loss = -log(e^-4 / (e^-4 + e^-5)) = log(1 + 1/e)
// for both. (The dot product, which the tiled pass once used for l2, gives (log 2 + log(1 +
// e^-9)) / 2.) The gradient of query 0: d/dq (|q - k+| - |q - k-|) with unit directions
// (q - k)/|q - k|, weighted by the softmax share of the negative, 1 / (1 + e): at q = (0, 0),
// ((0, -4)/4 - (-3, -4)/5) / (1 + e) = (0.6, -0.2) / (1 + e), halved by the mean over 2 queries.
TEST(TiledLoss, L2IsTheNegativeDistance) {
  auto q = torch::tensor({{0.0, 0.0}, {3.0, 0.0}}, torch::kDouble);
  auto k = torch::tensor({{0.0, 4.0}, {3.0, 4.0}}, torch::kDouble);
  const double e = std::exp(1.0);
  for (int64_t tile : {1, 2}) {
    auto got = run_loss(tiled(TiledObjective::kInfoNCE, 1.0, Similarity::kNegEuclidean, tile), q, k);
    EXPECT_NEAR(got.out.loss.item<double>(), std::log(1 + 1 / e), 1e-12) << "tile " << tile;
    EXPECT_NEAR(got.out.positive_sim, -4.0, 1e-12);
    EXPECT_NEAR(got.out.negative_sim, -5.0, 1e-12);
    EXPECT_NEAR(got.g1[0][0].item<double>(), 0.5 * 0.6 / (1 + e), 1e-12);
    EXPECT_NEAR(got.g1[0][1].item<double>(), 0.5 * -0.2 / (1 + e), 1e-12);
  }
}

// An odd batch with a tile size that leaves a single-row last tile (kSelf's 1 x 1 diagonal).
TEST(TiledLoss, OddBatchWithRemainderTiles) {
  torch::manual_seed(1);
  auto [z1, z2] = views(7, 3, torch::kDouble);
  for (auto o : kObjectives) {
    auto ref = run_loss(plain(o, 0.5, Similarity::kCosine), z1, z2);
    for (int64_t tile : {2, 3, 13})
      expect_same(run_loss(tiled(o, 0.5, Similarity::kCosine, tile), z1, z2), ref, 1e-10,
                  label(o, Similarity::kCosine, tile, TileThreads::kWithinTile));
  }
}

// float32: within 1e-5 (relative) of the float64 result, or at least as close as the plain
// float32 loss gets (dot products of 32-d Gaussians at t = 0.1 give logits of several hundred,
// where float32 rounding alone is ~1e-5). Diagnostics as the plain float32 ones.
TEST(TiledLoss, MatchesPlainInFloat32) {
  torch::manual_seed(2);
  auto [z1, z2] = views(300, 32, torch::kFloat);
  auto d1 = z1.to(torch::kDouble), d2 = z2.to(torch::kDouble);
  for (auto o : kObjectives)
    for (auto s : {Similarity::kCosine, Similarity::kDot}) {
      auto exact = run_loss(plain(o, 0.1, s), d1, d2);
      auto ref = run_loss(plain(o, 0.1, s), z1, z2);
      const double loss_exact = exact.out.loss.item<double>();
      auto loss_err = [&](const Result& r) {
        return std::abs(r.out.loss.item<double>() - loss_exact) / std::abs(loss_exact);
      };
      auto grad_err = [&](const Result& r) {
        return std::max(rel_err(r.g1.to(torch::kDouble), exact.g1),
                        rel_err(r.g2.to(torch::kDouble), exact.g2));
      };
      for (int64_t tile : {64, 1024})
        for (auto th : {TileThreads::kWithinTile, TileThreads::kAcrossTiles}) {
          auto got = run_loss(tiled(o, 0.1, s, tile, th), z1, z2);
          const auto what = label(o, s, tile, th);
          EXPECT_LT(loss_err(got), std::max(1e-5, 2 * loss_err(ref))) << what;
          EXPECT_LT(grad_err(got), std::max(1e-5, 2 * grad_err(ref))) << what;
          expect_same(got, ref, 1e-4, what);
        }
    }
}

// t = 0.01 with logits in the thousands (dot) and up to 100 (cosine): finite and equal.
TEST(TiledLoss, StableAtLowTemperatureWithLargeLogits) {
  torch::manual_seed(3);
  auto [z1, z2] = views(40, 16, torch::kDouble);
  z1 = z1 * 10;
  z2 = z2 * 10;
  for (auto o : kObjectives)
    for (auto s : {Similarity::kCosine, Similarity::kDot}) {
      auto ref = run_loss(plain(o, 0.01, s), z1, z2);
      auto got = run_loss(tiled(o, 0.01, s, 16), z1, z2);
      ASSERT_TRUE(std::isfinite(got.out.loss.item<double>()));
      ASSERT_TRUE(torch::isfinite(got.g1).all().item<bool>());
      expect_same(got, ref, 1e-9, label(o, s, 16, TileThreads::kWithinTile));
      auto got32 = run_loss(tiled(o, 0.01, s, 16), z1.to(torch::kFloat), z2.to(torch::kFloat));
      EXPECT_TRUE(std::isfinite(got32.out.loss.item<double>()));
      EXPECT_TRUE(torch::isfinite(got32.g1).all().item<bool>());
      EXPECT_TRUE(torch::isfinite(got32.g2).all().item<bool>());
    }
}

TEST(TiledLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(4);
  auto [z1, z2] = views(3, 2, torch::kDouble);
  const double h = 1e-6;
  for (auto o : kObjectives)
    for (auto s : kSimilarities) {
      auto loss = tiled(o, 0.5, s, 2);
      auto got = run_loss(loss, z1, z2);
      for (int which = 0; which < 2; ++which) {
        auto base = which == 0 ? z1 : z2;
        auto grad = which == 0 ? got.g1 : got.g2;
        for (int64_t i = 0; i < base.numel(); ++i) {
          auto zp = base.clone(), zm = base.clone();
          zp.view(-1)[i] += h;
          zm.view(-1)[i] -= h;
          auto f = [&](const torch::Tensor& z) {
            return (which == 0 ? loss(z, z2) : loss(z1, z)).loss.item<double>();
          };
          double fd = (f(zp) - f(zm)) / (2 * h);
          EXPECT_NEAR(grad.view(-1)[i].item<double>(), fd, 1e-6)
              << label(o, s, 2, TileThreads::kWithinTile) << " input " << which << " element " << i;
        }
      }
    }
}

// Identical views: every positive is the best match (top1 = 1) of similarity 1.
TEST(TiledLoss, DiagnosticsOnIdenticalViews) {
  torch::manual_seed(5);
  auto z = torch::randn({10, 8});
  for (auto o : kObjectives) {
    auto out = functional::tiled_contrastive(z, z, TiledContrastiveOptions().objective(o).tile_size(3));
    EXPECT_NEAR(out.positive_sim, 1.0, 1e-6);
    EXPECT_DOUBLE_EQ(out.top1, 1.0);
    EXPECT_LT(out.negative_sim, 0.9);
  }
}

TEST(TiledLoss, RejectsBadInput) {
  using contra::test_support::expect_error;
  auto z = torch::randn({4, 3});
  auto f = [](const torch::Tensor& a, const torch::Tensor& b,
              TiledContrastiveOptions o = TiledContrastiveOptions()) {
    functional::tiled_contrastive(a, b, o);
  };
  expect_error([&] { f(z, torch::randn({3, 3})); },
               "tiled NT-Xent needs two [N, d] embeddings of equal shape, got [4, 3] and [3, 3]");
  expect_error([&] { f(z.slice(0, 0, 1), z.slice(0, 0, 1)); },
               "tiled NT-Xent needs at least 2 samples per batch (one negative), got 1");
  expect_error([&] { f(z.slice(0, 0, 1), z.slice(0, 0, 1), TiledContrastiveOptions().objective(TiledObjective::kInfoNCE)); },
               "tiled InfoNCE needs at least 2 samples per batch");
  expect_error([&] { f(z, z, TiledContrastiveOptions().tile_size(0)); },
               "loss.tile_size must be >= 1, got 0");
  expect_error([&] { f(z, z, TiledContrastiveOptions().temperature(0)); },
               "loss.temperature must be > 0, got 0");
  auto bad = z.clone();
  bad[1][2] = std::nan("");
  expect_error([&] { f(bad, z); }, "tiled NT-Xent embeddings contain NaN or Inf");
  bad[1][2] = INFINITY;
  expect_error([&] { f(z, bad, TiledContrastiveOptions().objective(TiledObjective::kClipSymmetric)); },
               "tiled CLIP embeddings contain NaN or Inf");
  expect_error([&] { f(z, z.to(torch::kDouble)); }, "one dtype on one device");
  expect_error([&] { f(torch::ones({4, 3}, torch::kLong), torch::ones({4, 3}, torch::kLong)); },
               "floating-point");
}

// two_view_loss picks the tiled pass by TiledMode; both give the same loss.
TEST(TiledLoss, TwoViewLossSelectsTiledPass) {
  torch::manual_seed(6);
  auto [z1, z2] = views(12, 4, torch::kDouble);
  auto base = contra::methods::TwoViewLossOptions().temperature(0.2).tile_size(5);
  auto off = contra::methods::two_view_loss(z1, z2, {}, base.tiled(contra::methods::TiledMode::kOff)).loss.item<double>();
  auto on = contra::methods::two_view_loss(z1, z2, {}, base.tiled(contra::methods::TiledMode::kOn)).loss.item<double>();
  auto au = contra::methods::two_view_loss(z1, z2, {}, base.tiled(contra::methods::TiledMode::kAuto)).loss.item<double>();
  EXPECT_NEAR(on, off, 1e-12);
  EXPECT_NEAR(au, off, 1e-12);
  EXPECT_EQ(contra::methods::tiled_mode_from_string("on"), contra::methods::TiledMode::kOn);
  contra::test_support::expect_error(
      [&] {
        contra::methods::two_view_loss(z1, z2, torch::full({12}, -1, torch::kLong),
                                  base.kind(contra::methods::TwoViewLoss::kSupCon).tiled(contra::methods::TiledMode::kOn));
      },
      "loss.tiled=on needs loss.name=nt_xent");
  contra::test_support::expect_error([] { contra::methods::tiled_mode_from_string("yes"); },
                                     "unknown tiled mode 'yes'; valid: auto, on, off");
}

TEST(ClipLoss, MatchesHandWorkedExample) {
  // a = [(1,0), (0,1)], b = [(1,0), (1,0)], dot, t = 1: S = [[1, 1], [0, 0]].
  // Rows: -log(e/(e+e)) = log 2; -log(1/2) = log 2. Columns: col 0 = (1, 0), positive 1:
  // -log(e/(e+1)); col 1 = (1, 0), positive 0: -log(1/(e+1)).
  auto a = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  auto b = torch::tensor({{1.0, 0.0}, {1.0, 0.0}}, torch::kDouble);
  auto out = functional::clip_loss(a, b, ClipOptions().temperature(1).similarity(Similarity::kDot));
  const double e = std::exp(1.0);
  const double rows = std::log(2.0), cols = (-std::log(e / (e + 1)) - std::log(1 / (e + 1))) / 2;
  EXPECT_NEAR(out.loss.item<double>(), (rows + cols) / 2, 1e-12);
  EXPECT_NEAR(out.positive_sim, 0.5, 1e-12);
  EXPECT_NEAR(out.negative_sim, 0.5, 1e-12);
  // Rows: both positives tie the best (>=): 1; columns: col 0 yes, col 1 no: 0.5.
  EXPECT_NEAR(out.top1, 0.75, 1e-12);
}

TEST(TiledLoss, MatchesPlain_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(7);
  auto [z1, z2] = views(700, 64, torch::kFloat);
  auto dev = torch::Device(torch::kCUDA);
  for (auto o : kObjectives) {
    auto ref = run_loss(plain(o, 0.1, Similarity::kCosine), z1, z2);
    auto got = run_loss(tiled(o, 0.1, Similarity::kCosine, 256), z1.to(dev), z2.to(dev));
    Result back{got.out, got.g1.cpu(), got.g2.cpu()};
    back.out.loss = got.out.loss.cpu();
    expect_same(back, ref, 1e-4, label(o, Similarity::kCosine, 256, TileThreads::kWithinTile));
  }
}
