#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include <torch/torch.h>

#include <vector>

#include "contra/core/error.h"
#include "contra/negatives/sampling.h"

using namespace contra::negatives;
using contra::test_support::expect_error;

namespace {

std::vector<bool> row(const at::Tensor& mask, int64_t i) {
  std::vector<bool> r;
  for (int64_t j = 0; j < mask.size(1); ++j) r.push_back(mask[i][j].item<bool>());
  return r;
}

// One query: positive similarity 0.7, candidates 0.9, 0.1, 0.5, -0.2.
at::Tensor hand_neg() { return torch::tensor({{0.9, 0.1, 0.5, -0.2}}, torch::kDouble); }
at::Tensor hand_pos() { return torch::tensor({0.7}, torch::kDouble); }

}  // namespace

TEST(NegativeSampling, HandWorkedSelections) {
  using K = NegativeSampling;
  auto sel = [](NegativeSamplingOptions o) {
    return row(select_negatives(hand_neg(), hand_pos(), o), 0);
  };
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kAll)), (std::vector<bool>{1, 1, 1, 1}));
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kHardest).num_negatives(1)),
            (std::vector<bool>{1, 0, 0, 0}));
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kHardest).num_negatives(2)),
            (std::vector<bool>{1, 0, 1, 0}));
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kHardest).num_negatives(99)),
            (std::vector<bool>{1, 1, 1, 1}));
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kThreshold).threshold(0.3)),
            (std::vector<bool>{1, 0, 1, 0}));
  // Semi-hard band (0.7 - 0.3, 0.7) = (0.4, 0.7): only 0.5.
  EXPECT_EQ(sel(NegativeSamplingOptions().kind(K::kSemiHard).margin(0.3)),
            (std::vector<bool>{0, 0, 1, 0}));
}

TEST(NegativeSampling, RandomKeepsExactlyKUniformlyAndReproducibly) {
  auto neg = torch::zeros({4000, 5}, torch::kDouble);
  auto pos = torch::zeros({4000}, torch::kDouble);
  auto o = NegativeSamplingOptions().kind(NegativeSampling::kRandom).num_negatives(2);
  torch::manual_seed(7);
  auto m = select_negatives(neg, pos, o);
  EXPECT_TRUE(m.sum(1).eq(2).all().item<bool>());
  auto freq = m.to(torch::kDouble).mean(0);  // each column kept with probability 2/5
  for (int64_t j = 0; j < 5; ++j) EXPECT_NEAR(freq[j].item<double>(), 0.4, 0.03) << j;
  torch::manual_seed(7);
  EXPECT_TRUE(select_negatives(neg, pos, o).equal(m));
}

TEST(NegativeSampling, NamesRoundTripAndBadOptionsAreRejected) {
  for (auto k : {NegativeSampling::kAll, NegativeSampling::kRandom, NegativeSampling::kHardest,
                 NegativeSampling::kThreshold, NegativeSampling::kSemiHard})
    EXPECT_EQ(negative_sampling_from_string(to_string(k)), k);
  expect_error([] { negative_sampling_from_string("easy"); },
               "unknown negative sampling 'easy'; valid: all, random, hardest, threshold, semi_hard");
  expect_error([] { validate(NegativeSamplingOptions().num_negatives(0)); },
               "loss.num_negatives must be >= 1, got 0");
  expect_error([] { validate(NegativeSamplingOptions().margin(0)); },
               "loss.margin must be > 0, got 0");
  expect_error(
      [] {
        select_negatives(torch::zeros({2, 3}), torch::zeros({3}), NegativeSamplingOptions());
      },
      "negative sampling needs similarities [N, K] and positives [N], got [2, 3] and [3]");
}

