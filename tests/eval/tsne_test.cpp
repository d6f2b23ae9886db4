// t-SNE and PCA: the sigma search and P checked against numbers worked out by hand, the
// gradient against finite differences of the KL divergence, and the map's behaviour.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "../support/expect_error.h"
#include "contra/eval/pca.h"
#include "contra/eval/tsne.h"

using namespace contra;

namespace {

/// Seeded Gaussian clusters in `dim` dimensions: `per` points around each of `centres` (spread
/// sd 1), centres `gap` apart on the axes. Labels [N] give each point's cluster.
std::pair<torch::Tensor, torch::Tensor> tsne_clusters(int64_t centres, int64_t per, int64_t dim, double gap,
                                                      uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto x = torch::randn({centres * per, dim}, gen, torch::kDouble);
  auto labels = torch::arange(centres, torch::kLong).repeat_interleave(per);
  for (int64_t c = 0; c < centres; ++c) x.slice(0, c * per, (c + 1) * per).select(1, c % dim) += gap * double(c + 1);
  return {x, labels};
}

}  // namespace

TEST(Tsne, ConditionalPOfThreePointsByHand) {
  // Points (0,0), (1,0), (0,sqrt 2): squared distances d01 = 1, d02 = 2, d12 = 3.
  // Target: the perplexity of the distribution (3/4, 1/4), exp(H) with
  //   H = -(3/4 ln 3/4 + 1/4 ln 1/4) = ln 4 - (3/4) ln 3,  so perplexity = 4 / 3^(3/4) = 1.75477.
  // Each row's two probabilities are in ratio exp(beta (d_far - d_near)) = 3:
  //   row 0: d 1 and 2, beta = ln 3;  row 1: d 1 and 3, beta = ln 3 / 2;  row 2: d 2 and 3, beta = ln 3.
  // So p_{1|0} = 3/4, p_{2|0} = 1/4;  p_{0|1} = 3/4, p_{2|1} = 1/4;  p_{0|2} = 3/4, p_{1|2} = 1/4.
  const double s2 = std::sqrt(2.0);
  const auto x = torch::tensor({0.0, 0.0, 1.0, 0.0, 0.0, s2}, torch::kDouble).view({3, 2});
  const auto d = torch::tensor({0.0, 1.0, 2.0, 1.0, 0.0, 3.0, 2.0, 3.0, 0.0}, torch::kDouble).view({3, 3});
  const double perplexity = 4.0 / std::pow(3.0, 0.75);
  const auto c = eval::tsne_conditional(d, perplexity, 1e-12);
  const double ln3 = std::log(3.0);
  EXPECT_NEAR(c.beta[0].item<double>(), ln3, 1e-8);
  EXPECT_NEAR(c.beta[1].item<double>(), ln3 / 2, 1e-8);
  EXPECT_NEAR(c.beta[2].item<double>(), ln3, 1e-8);
  const double expected[3][3] = {{0, 0.75, 0.25}, {0.75, 0, 0.25}, {0.75, 0.25, 0}};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(c.perplexity[i].item<double>(), perplexity, 1e-9);
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(c.p[i][j].item<double>(), expected[i][j], 1e-9) << i << "," << j;
  }
  // Joint: p_ij = (p_{j|i} + p_{i|j}) / (2N), N = 3:
  //   p01 = (3/4 + 3/4) / 6 = 1/4,  p02 = (1/4 + 3/4) / 6 = 1/6,  p12 = (1/4 + 1/4) / 6 = 1/12.
  // (tsne_joint_p searches to its default tolerance, 1e-5 on the entropy: close, not exact.)
  const auto p = eval::tsne_joint_p(x, perplexity);
  EXPECT_NEAR(p[0][1].item<double>(), 0.25, 1e-5);
  EXPECT_NEAR(p[1][0].item<double>(), 0.25, 1e-5);
  EXPECT_NEAR(p[0][2].item<double>(), 1.0 / 6, 1e-5);
  EXPECT_NEAR(p[1][2].item<double>(), 1.0 / 12, 1e-5);
  EXPECT_NEAR(p.sum().item<double>(), 1.0, 1e-12);
  EXPECT_EQ(p.diagonal().abs().sum().item<double>(), 0.0);
}

TEST(Tsne, SigmaSearchReachesThePerplexity) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const auto x = torch::randn({300, 10}, gen, torch::kDouble);
  // Uneven scales: some points far out, so the search has to move beta a long way.
  x.slice(0, 0, 30) *= 50.0;
  const auto sq = torch::cdist(x, x).pow(2);
  const auto c = eval::tsne_conditional(sq, 30.0);
  EXPECT_LT((c.perplexity - 30.0).abs().max().item<double>(), 30.0 * 2e-5);
  EXPECT_LT((c.p.sum(1) - 1.0).abs().max().item<double>(), 1e-12);
  EXPECT_EQ(c.p.diagonal().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE((c.beta > 0).all().item<bool>());
  // The points scaled up have wider Gaussians (smaller beta) than the rest.
  EXPECT_LT(c.beta.slice(0, 0, 30).max().item<double>(), c.beta.slice(0, 30).min().item<double>());
  const auto p = eval::tsne_joint_p(x, 30.0);
  EXPECT_NEAR(p.sum().item<double>(), 1.0, 1e-9);
  EXPECT_TRUE(torch::allclose(p, p.t()));
  test_support::expect_error([&] { eval::tsne_conditional(sq.slice(0, 0, 10).slice(1, 0, 10), 9.0); },
                             "perplexity must be in (1, 9)");
  test_support::expect_error([&] { eval::tsne_joint_p(x.slice(0, 0, 2), 1.5); }, "at least 3 points");
}

TEST(Tsne, GradientMatchesFiniteDifferencesOfTheKl) {
  // Four points in 3-D and a map of them; P from perplexity 2 (N - 1 = 3).
  const auto x = torch::tensor({0.0, 0.0, 0.0, 1.0, 0.2, 0.0, 0.3, 2.0, 0.5, 1.5, 1.0, 2.0}, torch::kDouble).view({4, 3});
  const auto y = torch::tensor({0.1, -0.2, 0.7, 0.3, -0.4, 0.9, 0.5, -0.6}, torch::kDouble).view({4, 2});
  const auto p = eval::tsne_joint_p(x, 2.0);
  const auto grad = eval::tsne_gradient(p, y);
  const double h = 1e-6;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t k = 0; k < 2; ++k) {
      auto plus = y.clone(), minus = y.clone();
      plus[i][k] += h;
      minus[i][k] -= h;
      const double fd = (eval::tsne_kl(p, plus) - eval::tsne_kl(p, minus)) / (2 * h);
      EXPECT_NEAR(grad[i][k].item<double>(), fd, 1e-7) << "point " << i << " coordinate " << k;
    }
  // A float32 P (summed in float: the fast path of large maps) gives the same gradient to float
  // precision; exaggeration scales the attraction only: g(e) - g(1) = (e - 1) * 4 sum_j p_ij n_ij
  // (y_i - y_j), so g(3) - g(2) = g(2) - g(1).
  EXPECT_TRUE(torch::allclose(eval::tsne_gradient(p.to(torch::kFloat), y), grad, 1e-4, 1e-6));
  const auto g3 = eval::tsne_gradient(p, y, 3.0);
  const auto g2 = eval::tsne_gradient(p, y, 2.0);
  EXPECT_TRUE(torch::allclose(g3 - g2, g2 - grad, 1e-9, 1e-12));
  // A divergence: never negative.
  EXPECT_GE(eval::tsne_kl(p, y), 0.0);
}

TEST(Tsne, SeparatedClustersStaySeparated) {
  const auto [x, labels] = tsne_clusters(3, 40, 8, 20.0, 3);
  const auto y = eval::tsne(x, eval::TsneOptions().perplexity(10).iterations(400).seed(1));
  ASSERT_EQ(y.sizes(), (c10::IntArrayRef{120, 2}));
  ASSERT_TRUE(torch::isfinite(y).all().item<bool>());
  // Every point's nearest neighbour in the map is of its own cluster, and each cluster's
  // radius is smaller than the distance from its centre to the nearest other centre.
  auto d = torch::cdist(y, y);
  d.fill_diagonal_(std::numeric_limits<double>::infinity());
  const auto nearest = d.argmin(1);
  EXPECT_TRUE(labels.index_select(0, nearest).eq(labels).all().item<bool>());
  for (int64_t c = 0; c < 3; ++c) {
    const auto own = y.index({labels == c});
    const auto centre = own.mean(0);
    const double radius = (own - centre).norm(2, 1).max().item<double>();
    for (int64_t o = 0; o < 3; ++o) {
      if (o == c) continue;
      const double gap = (y.index({labels == o}).mean(0) - centre).norm().item<double>();
      EXPECT_GT(gap, radius) << "clusters " << c << " and " << o;
    }
  }
}

TEST(Tsne, SameSeedSameMapWhateverTheThreads) {
  const auto [x, labels] = tsne_clusters(4, 25, 6, 8.0, 11);
  const auto options = eval::TsneOptions().perplexity(8).iterations(150).seed(5);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = eval::tsne(x, options);
  at::set_num_threads(2);
  const auto two = eval::tsne(x, options);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, two));
  EXPECT_TRUE(torch::equal(one, eval::tsne(x, options)));
  EXPECT_FALSE(torch::equal(one, eval::tsne(x, eval::TsneOptions(options).seed(6))));
  // Centred: the update removes the mean each iteration.
  EXPECT_LT(one.mean(0).abs().max().item<double>(), 1e-9);
}

TEST(Pca, ComponentsAndSignsByHand) {
  // (2,0), (-2,0), (0,1), (0,-1): mean 0; variance along x: 8/4 = 2, along y: 2/4 = 0.5.
  // Explained shares 2 / 2.5 = 0.8 and 0.2; first scores (2, -2, 0, 0), second (0, 0, 1, -1)
  // with the sign rule (largest loading positive: components +x and +y).
  const auto x = torch::tensor({2.0, 0.0, -2.0, 0.0, 0.0, 1.0, 0.0, -1.0}, torch::kDouble).view({4, 2});
  for (double flip : {1.0, -1.0}) {  // mirrored data gives mirrored scores, same components
    const auto r = eval::pca(x * flip, 2);
    EXPECT_NEAR(r.explained[0].item<double>(), 0.8, 1e-12);
    EXPECT_NEAR(r.explained[1].item<double>(), 0.2, 1e-12);
    const double first[4] = {2, -2, 0, 0}, second[4] = {0, 0, 1, -1};
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(r.scores[i][0].item<double>(), flip * first[i], 1e-12);
      EXPECT_NEAR(r.scores[i][1].item<double>(), flip * second[i], 1e-12);
    }
  }
  // Points on the line t (1, 1) + (5, 5): one component, explaining everything.
  const auto line = torch::tensor({-1.0, 0.0, 1.0, 2.0}, torch::kDouble).unsqueeze(1) * torch::ones({1, 2}, torch::kDouble) + 5.0;
  const auto r = eval::pca(line, 1);
  EXPECT_NEAR(r.explained[0].item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(r.scores[3][0].item<double>(), 1.5 * std::sqrt(2.0), 1e-12);  // (2 - 0.5) * sqrt 2
  test_support::expect_error([&] { eval::pca(x, 3); }, "k must be in [1, 2]");
  // Tall and wide matrices (either Gram matrix) agree with the SVD of the centred data, up to sign.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  for (const auto& shape : {std::vector<int64_t>{9, 4}, std::vector<int64_t>{5, 8}}) {
    const auto m = torch::randn(shape, gen, torch::kDouble);
    const auto [u, s, vh] = torch::linalg_svd(m - m.mean(0, true), false);
    const auto svd_scores = (u * s).slice(1, 0, 2);
    const auto scores = eval::pca(m, 2).scores;
    EXPECT_TRUE(torch::allclose(scores.abs(), svd_scores.abs(), 1e-9, 1e-9)) << shape[0] << "x" << shape[1];
  }
}
