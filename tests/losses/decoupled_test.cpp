#include <gtest/gtest.h>

#include "../support/expect_error.h"
#include "../support/finite_difference.h"
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "contra/losses/info_nce.h"

using namespace contra::losses;
using contra::test_support::expect_grad_matches_fd;

// Decoupled: one query, positive similarity 1, negatives 0 and 0, t = 1:
//   DCL = -1 + log(e^0 + e^0) = log 2 - 1 (the positive is not in the denominator).
TEST(Decoupled, MatchesHandWorkedExample) {
  auto q = torch::tensor({{1.0, 0.0}}, torch::kDouble);
  auto k = torch::tensor({{1.0, 0.0}}, torch::kDouble);
  auto bank = torch::tensor({{0.0, 1.0}, {0.0, -1.0}}, torch::kDouble);
  auto o = InfoNCEOptions().temperature(1).in_batch(false).decoupled(true);
  EXPECT_NEAR(functional::info_nce(q, k, o, bank).loss.item<double>(), std::log(2.0) - 1, 1e-12);
}

// DCLW: w_i = 2 - N softmax(s+/sigma)_i multiplies the positive term.
TEST(Decoupled, WeightedMatchesDirectFormula) {
  torch::manual_seed(4);
  auto q = torch::randn({4, 3}, torch::kDouble), k = torch::randn({4, 3}, torch::kDouble);
  const double t = 0.2, sigma = 0.5;
  auto o = InfoNCEOptions().temperature(t).decoupled(true).decoupled_sigma(sigma);
  auto s = functional::similarity_matrix(q, k, Similarity::kCosine);
  double z = 0;
  for (int64_t i = 0; i < 4; ++i) z += std::exp(s[i][i].item<double>() / sigma);
  double total = 0;
  for (int64_t i = 0; i < 4; ++i) {
    const double w = 2 - std::exp(s[i][i].item<double>() / sigma) / (z / 4);
    double ng = 0;
    for (int64_t j = 0; j < 4; ++j)
      if (j != i) ng += std::exp(s[i][j].item<double>() / t);
    total += -w * s[i][i].item<double>() / t + std::log(ng);
  }
  EXPECT_NEAR(functional::info_nce(q, k, o).loss.item<double>(), total / 4, 1e-12);
  auto plain = InfoNCEOptions().temperature(t).decoupled(true);
  expect_grad_matches_fd([&](const std::vector<at::Tensor>& x) { return functional::info_nce(x[0], x[1], plain).loss; },
                         {q, k}, "DCL");
}

