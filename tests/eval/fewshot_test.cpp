// Few-shot episodes with a prototype classifier: cases whose accuracy is known by hand.
#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "../support/expect_error.h"
#include "contra/eval/fewshot.h"

using namespace contra;

namespace {
/// `per_class` items of each class c in `classes`, item i at (1 + i) * e_{direction[c]} in
/// `dim` dimensions (its length does not matter once normalised).
std::pair<torch::Tensor, torch::Tensor> fewshot_on_axes(const std::vector<int64_t>& direction,
                                                        int64_t per_class, int64_t dim = 8) {
  const int64_t n = int64_t(direction.size()) * per_class;
  auto x = torch::zeros({n, dim});
  auto y = torch::empty({n}, torch::kLong);
  for (int64_t c = 0; c < int64_t(direction.size()); ++c)
    for (int64_t i = 0; i < per_class; ++i) {
      x[c * per_class + i][direction[size_t(c)]] = float(1 + i);
      y[c * per_class + i] = c;
    }
  return {x, y};
}
}  // namespace

TEST(FewShot, SeparableClassesScoreOneWithNoSpread) {
  // Five classes on five axes: every query's own prototype is its axis (cosine 1), the others
  // are orthogonal (cosine 0): every episode scores 1, so the mean is 1 and the CI 0.
  auto [x, y] = fewshot_on_axes({0, 1, 2, 3, 4}, 20);
  for (const int64_t shots : {1, 5}) {
    const auto r = eval::fewshot_accuracy(x, y, eval::FewShotOptions().shots(shots).episodes(50));
    EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
    EXPECT_DOUBLE_EQ(r.ci95, 0.0);
    EXPECT_EQ(r.episodes, 50);
    EXPECT_EQ(r.classes, 5);
  }
}

TEST(FewShot, KnownMistakeRate) {
  // Class 4 lies on class 3's axis: their prototypes are the same vector, every query of
  // either class ties, and a tie goes to the smaller label (3). With 5 classes every episode
  // holds both: class 4's 15 queries are wrong, the other 60 right: 60 / 75 = 0.8 exactly.
  {
    auto [x, y] = fewshot_on_axes({0, 1, 2, 3, 3}, 16);
    const auto r = eval::fewshot_accuracy(x, y, eval::FewShotOptions().episodes(20));
    EXPECT_NEAR(r.accuracy, 0.8, 1e-12);
    EXPECT_NEAR(r.ci95, 0.0, 1e-12);  // every episode 0.8: no spread but rounding
  }
  // A sixth class (own axis): an episode draws 5 of 6 classes, and holds both 3 and 4 unless
  // the one left out is 3 or 4: probability 4/6. Per episode 0.8 then, else 1.0:
  //   mean = 1 - 0.2 * 2/3 = 0.866667; per-episode std = 0.2 * sqrt(2/3 * 1/3) = 0.0942809;
  //   with E = 4000 episodes the CI half-width is 1.96 * 0.0942809 / sqrt(4000) = 0.0029218
  //   and the standard error 0.00149, so the mean lies within 0.006 (4 SE).
  auto [x, y] = fewshot_on_axes({0, 1, 2, 3, 3, 5}, 20);
  const auto r = eval::fewshot_accuracy(x, y, eval::FewShotOptions().shots(5).episodes(4000).seed(7));
  EXPECT_NEAR(r.accuracy, 1.0 - 0.2 * 2.0 / 3.0, 0.006);
  EXPECT_NEAR(r.ci95, 0.0029218, 0.0003);
  EXPECT_EQ(r.classes, 6);
}

TEST(FewShot, DeterministicGivenTheSeed) {
  torch::manual_seed(0);
  const auto x = torch::randn({300, 16});
  const auto y = torch::arange(300, torch::kLong) % 10;
  const auto opts = eval::FewShotOptions().episodes(100).seed(3);
  const auto a = eval::fewshot_accuracy(x, y, opts), b = eval::fewshot_accuracy(x, y, opts);
  EXPECT_EQ(a.accuracy, b.accuracy);
  EXPECT_EQ(a.ci95, b.ci95);
  // The global generator plays no part: drawing from it between calls changes nothing.
  (void)torch::rand({10});
  EXPECT_EQ(eval::fewshot_accuracy(x, y, opts).accuracy, a.accuracy);
  EXPECT_NE(eval::fewshot_accuracy(x, y, eval::FewShotOptions().episodes(100).seed(4)).accuracy, a.accuracy);
  // Random features: near chance (1/5), well inside (0, 1).
  EXPECT_GT(a.accuracy, 0.1);
  EXPECT_LT(a.accuracy, 0.35);
  EXPECT_GT(a.ci95, 0.0);
}

TEST(FewShot, TooFewClassesIsAClearError) {
  // 5 classes but one has only 15 items: 1 + 15 = 16 are needed, so 4 qualify.
  auto x = torch::randn({95, 4});
  auto y = torch::cat({torch::arange(4, torch::kLong).repeat_interleave(20), torch::full({15}, 4, torch::kLong)});
  EXPECT_EQ(eval::classes_with_at_least(y, 16), 4);
  EXPECT_EQ(eval::classes_with_at_least(y, 15), 5);
  test_support::expect_error([&] { eval::fewshot_accuracy(x, y); }, "only 4 have that many");
}
