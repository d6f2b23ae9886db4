// exact_search against a brute-force full matrix product: chunking, ties, metrics, npy streaming.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "contra/index/exact.h"
#include "contra/index/npy.h"
#include "../support/expect_error.h"
#include "../support/process.h"

using contra::index::exact_search;
using contra::index::Metric;
using contra::test_support::expect_error;

namespace {

/// The full [Q, N] score matrix, higher = better (l2: minus the squared distance).
torch::Tensor exact_test_full_scores(const torch::Tensor& db, const torch::Tensor& q, Metric m) {
  if (m == Metric::kL2) return -torch::cdist(q.to(torch::kDouble), db.to(torch::kDouble)).pow(2);
  auto a = q.to(torch::kDouble), b = db.to(torch::kDouble);
  if (m == Metric::kCosine) {
    a = a / a.norm(2, {1}, true);
    b = b / b.norm(2, {1}, true);
  }
  return a.matmul(b.t());
}

}  // namespace

TEST(ExactSearch, MatchesFullMatmulForEveryMetricAndChunk) {
  torch::manual_seed(1);
  const auto db = torch::randn({203, 16}), q = torch::randn({9, 16});
  for (Metric m : {Metric::kInnerProduct, Metric::kL2, Metric::kCosine}) {
    const auto full = exact_test_full_scores(db, q, m);
    auto [best, ids] = full.topk(10, 1);
    for (int64_t chunk : {int64_t(7), int64_t(64), int64_t(203), int64_t(65536)}) {
      SCOPED_TRACE(std::to_string(int(m)) + " chunk " + std::to_string(chunk));
      const auto r = exact_search(db, q, 10, m, chunk);
      ASSERT_EQ(r.ids.sizes(), (std::vector<int64_t>{9, 10}));
      EXPECT_EQ(r.ids.scalar_type(), torch::kLong);
      EXPECT_EQ(r.scores.scalar_type(), torch::kFloat);
      EXPECT_TRUE(torch::equal(r.ids, ids)) << r.ids << ids;
      const auto expect = m == Metric::kL2 ? -best : best;
      EXPECT_TRUE(torch::allclose(r.scores.to(torch::kDouble), expect, 1e-4, 1e-4));
    }
  }
}

TEST(ExactSearch, TiesGoToTheLowerRowAcrossChunks) {
  // Rows 0..11: three copies each of four vectors; every query ties three rows at a time.
  auto base = torch::eye(4);
  const auto db = base.repeat({3, 1});  // row r = e_{r % 4}
  const auto q = torch::tensor({{1.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 1.0f, 0.0f}});
  for (int64_t chunk : {int64_t(1), int64_t(3), int64_t(5), int64_t(100)}) {
    SCOPED_TRACE(chunk);
    auto r = exact_search(db, q, 5, Metric::kInnerProduct, chunk);
    EXPECT_TRUE(torch::equal(r.ids, torch::tensor({{0, 4, 8, 1, 2}, {2, 6, 10, 0, 1}}, torch::kLong)))
        << r.ids;
    // A constant database: all N tie; the lowest rows come first.
    r = exact_search(torch::ones({50, 4}), q, 4, Metric::kL2, chunk);
    EXPECT_TRUE(torch::equal(r.ids, torch::arange(4, torch::kLong).repeat({2, 1}))) << r.ids;
    EXPECT_TRUE(torch::allclose(r.scores, torch::full({2, 4}, 3.0f)));
  }
}

TEST(ExactSearch, KAboveNIsClampedAndBadInputIsAnError) {
  const auto db = torch::randn({4, 3}), q = torch::randn({2, 3});
  auto r = exact_search(db, q, 10, Metric::kCosine);
  EXPECT_EQ(r.ids.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(std::get<0>(r.ids.sort(1)).equal(torch::arange(4, torch::kLong).repeat({2, 1})), true);
  EXPECT_EQ(exact_search(db, torch::empty({0, 3}), 2, Metric::kL2).ids.sizes(),
            (std::vector<int64_t>{0, 2}));
  expect_error([&] { exact_search(db, q, 0, Metric::kL2); }, "k must be at least 1, got 0");
  expect_error([&] { exact_search(db, torch::randn({2, 5}), 1, Metric::kL2); },
               "index built on dimension 3, queries have dimension 5");
  expect_error([&] { exact_search(torch::empty({0, 3}), q, 1, Metric::kL2); }, "empty database");
  expect_error([&] { exact_search(db, q.to(torch::kLong), 1, Metric::kL2); }, "floating point");
}

TEST(ExactSearch, NpyStreamingMatchesInMemory) {
  const auto dir = contra::test_support::temp_dir("exact_npy");
  std::filesystem::create_directories(dir);
  torch::manual_seed(2);
  const auto db = torch::randn({100, 8}), q = torch::randn({5, 8});
  {
    contra::index::NpyWriter w(dir + "/db.npy", 8);
    w.append(db);
    w.close();
  }
  for (Metric m : {Metric::kInnerProduct, Metric::kL2, Metric::kCosine}) {
    const auto a = exact_search(db, q, 7, m);
    const auto b = contra::index::exact_search_npy(dir + "/db.npy", q, 7, m, 13);
    EXPECT_TRUE(torch::equal(a.ids, b.ids));
    EXPECT_TRUE(torch::allclose(a.scores, b.scores, 1e-5, 1e-5));
  }
  expect_error([&] { contra::index::exact_search_npy(dir + "/db.npy", torch::randn({1, 4}), 1, Metric::kL2); },
               "index built on dimension 8, queries have dimension 4 (" + dir + "/db.npy)");
}

TEST(ExactSearch, DatabaseLargerThanOneProductBlock) {
  // More rows than one internal product block (4,096), chunk not a multiple of it.
  torch::manual_seed(4);
  const auto db = torch::randn({9000, 8}), q = torch::randn({6, 8});
  for (Metric m : {Metric::kInnerProduct, Metric::kL2}) {
    auto [best, ids] = exact_test_full_scores(db, q, m).topk(10, 1);
    for (int64_t chunk : {int64_t(5000), int64_t(65536)}) {
      const auto r = exact_search(db, q, 10, m, chunk);
      EXPECT_TRUE(torch::equal(r.ids, ids)) << r.ids << ids;
      EXPECT_TRUE(torch::allclose(r.scores.to(torch::kDouble), m == Metric::kL2 ? -best : best, 1e-4, 1e-4));
    }
  }
}
