// FAISS indexes: flat equals exact_search, HNSW and IVF recall on clustered data, save / load.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "contra/index/exact.h"
#include "contra/index/faiss_index.h"
#include "contra/index/npy.h"
#include "../support/expect_error.h"
#include "../support/process.h"

namespace ci = contra::index;
using contra::test_support::expect_error;
using contra::test_support::temp_dir;

namespace {

/// n unit vectors drawn around `centers` random unit centroids (seeded).
torch::Tensor faiss_test_clustered(int64_t n, int64_t d, int64_t centers, uint64_t seed) {
  torch::manual_seed(seed);
  auto c = torch::randn({centers, d});
  c = c / c.norm(2, {1}, true);
  auto which = torch::randint(centers, {n}, torch::kLong);
  auto x = c.index_select(0, which) + 0.25 / std::sqrt(double(d)) * torch::randn({n, d});
  return x / x.norm(2, {1}, true);
}

/// Share of the exact top-k ids that the approximate search found.
double faiss_test_recall(const torch::Tensor& approx, const torch::Tensor& exact) {
  int64_t hit = 0;
  for (int64_t q = 0; q < exact.size(0); ++q)
    hit += torch::isin(exact[q], approx[q]).sum().item<int64_t>();
  return double(hit) / double(exact.numel());
}

}  // namespace

TEST(FaissIndex, FlatEqualsExactForEveryMetric) {
  torch::manual_seed(3);
  const auto db = torch::randn({500, 24}), q = torch::randn({20, 24});
  for (auto m : {ci::Metric::kInnerProduct, ci::Metric::kL2, ci::Metric::kCosine}) {
    SCOPED_TRACE(int(m));
    ci::IndexOptions o;
    o.kind = ci::IndexKind::kFlat;
    o.metric = m;
    auto index = ci::FaissIndex::build(db, o);
    const auto a = index.search(q, 10);
    const auto b = ci::exact_search(db, q, 10, m);
    EXPECT_TRUE(torch::equal(a.ids, b.ids));
    EXPECT_TRUE(torch::allclose(a.scores, b.scores, 1e-4, 1e-4));
    EXPECT_EQ(index.search(q, 1000).ids.size(1), 500) << "k above the count is clamped";
  }
}

TEST(FaissIndex, HnswAndIvfRecallOnClusteredData) {
  ci::set_faiss_threads(0);
  const auto all = faiss_test_clustered(20200, 32, 500, 7);
  const auto db = all.slice(0, 0, 20000), q = all.slice(0, 20000);
  const auto exact = ci::exact_search(db, q, 10, ci::Metric::kCosine);
  ci::IndexOptions o;
  o.kind = ci::IndexKind::kHnsw;
  o.hnsw_m = 16;
  o.ef_construction = 80;
  o.ef_search = 64;
  auto hnsw = ci::FaissIndex::build(db, o);
  const double r_hnsw = faiss_test_recall(hnsw.search(q, 10).ids, exact.ids);
  EXPECT_GE(r_hnsw, 0.95);
  // A tiny efSearch for this call only loses recall; the index's own value comes back after.
  const double r_low = faiss_test_recall(hnsw.search(q, 10, {/*ef_search=*/10, 0}).ids, exact.ids);
  EXPECT_LE(r_low, r_hnsw);
  EXPECT_EQ(faiss_test_recall(hnsw.search(q, 10).ids, exact.ids), r_hnsw);

  o.kind = ci::IndexKind::kIvf;
  auto ivf = ci::FaissIndex::build(db, o);
  EXPECT_EQ(ivf.info().options.nlist, 141);  // round(sqrt(20000))
  EXPECT_EQ(ivf.info().options.nprobe, 8);
  EXPECT_EQ(ivf.info().options.train_points, 64 * 141);
  const double r_ivf = faiss_test_recall(ivf.search(q, 10, {0, /*nprobe=*/24}).ids, exact.ids);
  EXPECT_GE(r_ivf, 0.95);
  std::printf("recall@10: hnsw %.4f (efSearch 10: %.4f), ivf nprobe 24 %.4f\n", r_hnsw, r_low, r_ivf);
}

TEST(FaissIndex, SaveAndLoadKeepResultsAndSource) {
  const auto dir = temp_dir("faiss_save");
  std::filesystem::create_directories(dir);
  const auto x = faiss_test_clustered(3000, 16, 30, 11);
  {
    ci::NpyWriter w(dir + "/emb.npy", 16);
    w.append(x);
    w.close();
  }
  std::ofstream(dir + "/emb.jsonl") << "{}\n";
  for (auto kind : {ci::IndexKind::kFlat, ci::IndexKind::kHnsw, ci::IndexKind::kIvf}) {
    SCOPED_TRACE(int(kind));
    ci::IndexOptions o;
    o.kind = kind;
    o.metric = ci::Metric::kL2;
    o.nlist = 20;
    o.nprobe = 3;
    auto built = ci::FaissIndex::build(dir + "/emb.npy", o);
    const std::string out = dir + "/index_" + std::to_string(int(kind));
    built.save(out);
    EXPECT_FALSE(std::filesystem::exists(out + "/index.faiss.tmp"));
    EXPECT_FALSE(std::filesystem::exists(out + "/index.json.tmp"));
    auto loaded = ci::FaissIndex::load(out);
    const auto& info = loaded.info();
    EXPECT_EQ(info.options.kind, kind);
    EXPECT_EQ(info.options.metric, ci::Metric::kL2);
    EXPECT_EQ(info.dim, 16);
    EXPECT_EQ(info.count, 3000);
    EXPECT_EQ(info.embeddings, std::filesystem::absolute(dir + "/emb.npy").lexically_normal().string());
    EXPECT_EQ(info.ids, std::filesystem::absolute(dir + "/emb.jsonl").lexically_normal().string());
    if (kind == ci::IndexKind::kIvf) EXPECT_EQ(info.options.nprobe, 3);
    const auto q = x.slice(0, 0, 25);
    const auto a = built.search(q, 5), b = loaded.search(q, 5);
    EXPECT_TRUE(torch::equal(a.ids, b.ids));
    EXPECT_TRUE(torch::equal(a.scores, b.scores));
    // Each vector is its own nearest neighbour at squared distance 0.
    EXPECT_TRUE(torch::equal(b.ids.select(1, 0), torch::arange(25, torch::kLong)));
    EXPECT_LT(b.scores.select(1, 0).abs().max().item<float>(), 1e-4f);
    const auto j = nlohmann::json::parse(contra::test_support::slurp(out + "/index.json"));
    EXPECT_EQ(j["kind"], ci::kIndexKindNames[int(kind)].first);
    EXPECT_EQ(j["metric"], "l2");
  }
  EXPECT_EQ(ci::items_path_for("/a/b.npy"), "/a/b.jsonl");
  EXPECT_EQ(ci::items_path_for("/a/b.bin"), "/a/b.bin.jsonl");
}

TEST(FaissIndex, MissingAndMismatchedFilesAreErrors) {
  const auto dir = temp_dir("faiss_errors");
  expect_error([&] { ci::FaissIndex::load(dir); }, "missing index folder " + dir);
  std::filesystem::create_directories(dir);
  expect_error([&] { ci::FaissIndex::load(dir); }, "missing FAISS file " + dir + "/index.faiss");
  auto index = ci::FaissIndex::build(torch::randn({10, 4}), {});
  index.save(dir);
  expect_error([&] { index.search(torch::randn({2, 5}), 3); },
               "index built on dimension 4, queries have dimension 5");
  expect_error([&] { index.search(torch::randn({2, 4}), 0); }, "k must be at least 1, got 0");
  std::ofstream(dir + "/index.faiss") << "not a faiss file";
  expect_error([&] { ci::FaissIndex::load(dir); }, "cannot read FAISS file " + dir + "/index.faiss");
  index.save(dir);
  std::ofstream(dir + "/index.json") << "{\"format\": \"contra-index\"";
  expect_error([&] { ci::FaissIndex::load(dir); }, dir + "/index.json is not valid JSON");
  ci::IndexOptions bad;
  bad.hnsw_m = 1;
  expect_error([&] { ci::FaissIndex::build(torch::randn({10, 4}), bad); }, "hnsw M must be in [2, 512]");
  bad = {};
  bad.kind = ci::IndexKind::kIvf;
  bad.nlist = 11;
  expect_error([&] { ci::FaissIndex::build(torch::randn({10, 4}), bad); }, "nlist 11 is more than the 10 vectors");
}
