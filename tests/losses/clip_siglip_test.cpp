// The learned-scale forms of the CLIP loss (plain and tiled: the value and the gradient with
// respect to the log-scale against finite differences), the loss of one rank's rows, and
// SigLIP's pairwise sigmoid loss on a hand-worked 2 x 2 batch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "../support/expect_error.h"
#include "../support/finite_difference.h"
#include "contra/losses/clip.h"
#include "contra/losses/nt_xent.h"
#include "contra/losses/siglip.h"
#include "contra/losses/tiled.h"

using namespace contra::losses;
using contra::test_support::expect_error;
using contra::test_support::expect_grad_matches_fd;

namespace {
std::pair<torch::Tensor, torch::Tensor> clip_pairs(int64_t n, int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  auto a = torch::randn({n, d}, torch::kDouble);
  return {a, a + 0.7 * torch::randn({n, d}, torch::kDouble)};
}
}  // namespace

TEST(ClipLearnedScale, EqualsTheTemperatureForm) {
  auto [a, b] = clip_pairs(6, 4, 1);
  const auto fixed = functional::clip_loss(a, b, ClipOptions().temperature(0.25));
  const auto learned = functional::clip_loss(a, b, ClipOptions().scale(torch::tensor(4.0, torch::kDouble)));
  EXPECT_NEAR(learned.loss.item<double>(), fixed.loss.item<double>(), 1e-12);
  EXPECT_DOUBLE_EQ(learned.top1, fixed.top1);
  EXPECT_DOUBLE_EQ(learned.positive_sim, fixed.positive_sim);
  expect_error([&] { functional::clip_loss(a, b, ClipOptions().scale(torch::tensor(0.0))); },
               "the CLIP loss's scale must be > 0 and finite, got 0");
  expect_error([&] { functional::clip_loss(a, b, ClipOptions().scale(torch::ones({2}))); },
               "the CLIP loss's scale must be one floating-point value");
  const auto tiled_clip = TiledContrastiveOptions().objective(TiledObjective::kClipSymmetric);
  expect_error([&] { functional::tiled_contrastive(a, b, TiledContrastiveOptions(tiled_clip).scale(torch::ones({2}))); },
               "the tiled CLIP pass's scale must be one floating-point value");
  expect_error([&] { functional::tiled_contrastive(a, b, TiledContrastiveOptions(tiled_clip).scale(torch::tensor(-1.0))); },
               "the tiled CLIP pass's scale must be > 0 and finite");
}

TEST(ClipLearnedScale, GradientOfTheLogScaleMatchesFiniteDifferences) {
  auto [a, b] = clip_pairs(5, 3, 2);
  const auto log_scale = torch::tensor(std::log(1 / 0.07), torch::kDouble);
  for (auto sim : {Similarity::kCosine, Similarity::kDot}) {
    expect_grad_matches_fd(
        [sim](const std::vector<torch::Tensor>& x) {
          return functional::clip_loss(x[0], x[1], ClipOptions().similarity(sim).scale(x[2].exp())).loss;
        },
        {a, b, log_scale}, "plain clip " + to_string(sim), 1e-5);
    // The tiled pass, tiles smaller than the batch: the scale's gradient is summed over tiles.
    expect_grad_matches_fd(
        [sim](const std::vector<torch::Tensor>& x) {
          return functional::tiled_contrastive(x[0], x[1],
                                               TiledContrastiveOptions()
                                                   .objective(TiledObjective::kClipSymmetric)
                                                   .similarity(sim)
                                                   .scale(x[2].exp())
                                                   .tile_size(2))
              .loss;
        },
        {a, b, log_scale}, "tiled clip " + to_string(sim), 1e-5);
  }
}

TEST(ClipLearnedScale, TiledGradientOfTheScaleForEveryObjective) {
  // NT-Xent masks its diagonal (-inf logits): the scale's gradient must not see them.
  auto [a, b] = clip_pairs(5, 3, 3);
  const auto log_scale = torch::tensor(std::log(3.0), torch::kDouble);
  for (auto o : {TiledObjective::kNTXent, TiledObjective::kInfoNCE, TiledObjective::kClipSymmetric})
    for (auto sim : {Similarity::kCosine, Similarity::kNegEuclidean}) {
      expect_grad_matches_fd(
          [o, sim](const std::vector<torch::Tensor>& x) {
            return functional::tiled_contrastive(
                       x[0], x[1],
                       TiledContrastiveOptions().objective(o).similarity(sim).scale(x[2].exp()).tile_size(2))
                .loss;
          },
          {a, b, log_scale}, "tiled objective " + std::to_string(int(o)) + " " + to_string(sim), 1e-5);
    }
  // The same value as the temperature form.
  const auto fixed = functional::tiled_contrastive(a, b, TiledContrastiveOptions().temperature(0.5).tile_size(2));
  const auto learned = functional::tiled_contrastive(
      a, b, TiledContrastiveOptions().scale(torch::tensor(2.0, torch::kDouble)).tile_size(2));
  EXPECT_NEAR(learned.loss.item<double>(), fixed.loss.item<double>(), 1e-12);
  EXPECT_NEAR(fixed.loss.item<double>(),
              functional::nt_xent(a, b, NTXentOptions().temperature(0.5)).loss.item<double>(), 1e-10);
}

TEST(ClipLossRows, RanksMeanIsTheWholeBatchLoss) {
  auto [a, b] = clip_pairs(6, 4, 4);
  const auto scale = torch::tensor(5.0, torch::kDouble);
  auto whole = functional::clip_loss(a, b, ClipOptions().scale(scale));
  auto first = functional::clip_loss_rows(a, b, 0, 3, ClipOptions().scale(scale));
  auto second = functional::clip_loss_rows(a, b, 3, 6, ClipOptions().scale(scale));
  EXPECT_NEAR((first.loss + second.loss).item<double>() / 2, whole.loss.item<double>(), 1e-12);
  EXPECT_NEAR((first.top1 + second.top1) / 2, whole.top1, 1e-12);
  EXPECT_NEAR((first.positive_sim + second.positive_sim) / 2, whole.positive_sim, 1e-12);
  EXPECT_NEAR((first.negative_sim + second.negative_sim) / 2, whole.negative_sim, 1e-12);
  auto s1 = functional::siglip_loss_rows(a, b, 0, 3), s2 = functional::siglip_loss_rows(a, b, 3, 6);
  EXPECT_NEAR((s1.loss + s2.loss).item<double>() / 2, functional::siglip_loss(a, b).loss.item<double>(), 1e-12);
  expect_error([&] { functional::clip_loss_rows(a, b, 4, 4); }, "CLIP loss rows [4, 4) outside the batch of 6");
}

TEST(SigLipLoss, MatchesHandWorkedTwoByTwo) {
  // a = [(1,0), (0,1)], b = [(1,0), (1,0)], dot: S = [[1, 1], [0, 0]]; z = [[+1, -1], [-1, +1]].
  auto a = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  auto b = torch::tensor({{1.0, 0.0}, {1.0, 0.0}}, torch::kDouble);
  const double e = std::exp(1.0);
  // Scale 2, bias -1: logits 2S - 1 = [[1, 1], [-1, -1]], z * logits = [[1, -1], [1, -1]];
  // -log sigmoid(x) = log(1 + e^-x): (2 log(1 + 1/e) + 2 log(1 + e)) / N, N = 2.
  auto out = functional::siglip_loss(a, b,
                                     SigLipOptions()
                                         .similarity(Similarity::kDot)
                                         .scale(torch::tensor(2.0, torch::kDouble))
                                         .bias(torch::tensor(-1.0, torch::kDouble)));
  EXPECT_NEAR(out.loss.item<double>(), std::log(1 + 1 / e) + std::log(1 + e), 1e-12);
  EXPECT_NEAR(out.positive_sim, 0.5, 1e-12);
  EXPECT_NEAR(out.negative_sim, 0.5, 1e-12);
  EXPECT_NEAR(out.top1, 0.75, 1e-12);  // rows 1, 1; columns 1, 0
  // The paper's initial values (scale 10, bias -10): logits [[0, 0], [-10, -10]], z * logits =
  // [[0, 0], [10, -10]]: (log 2 + log 2 + log(1 + e^-10) + log(1 + e^10)) / 2.
  auto init = functional::siglip_loss(a, b, SigLipOptions().similarity(Similarity::kDot));
  EXPECT_NEAR(init.loss.item<double>(),
              (2 * std::log(2.0) + std::log1p(std::exp(-10.0)) + std::log1p(std::exp(10.0))) / 2, 1e-12);
}

TEST(SigLipLoss, GradientsOfScaleAndBiasMatchFiniteDifferences) {
  auto [a, b] = clip_pairs(4, 3, 5);
  expect_grad_matches_fd(
      [](const std::vector<torch::Tensor>& x) {
        return functional::siglip_loss(x[0], x[1], SigLipOptions().scale(x[2].exp()).bias(x[3])).loss;
      },
      {a, b, torch::tensor(std::log(10.0), torch::kDouble), torch::tensor(-10.0, torch::kDouble)}, "siglip", 1e-5);
  expect_error([&] { functional::siglip_loss(a, b.slice(0, 0, 3)); },
               "SigLIP loss needs image and text embeddings [N, d] of equal shape");
}
