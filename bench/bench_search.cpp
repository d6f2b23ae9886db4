// Nearest-neighbour search: LibTorch exact search against FAISS flat, HNSW and IVF, on synthetic
// clustered unit vectors (seeded), one database size after another.
//
//   bench_search [--sizes 10000,100000,1000000] [--dim 128] [--centroids 2000] [--noise 0.5]
//                [--queries 1000] [-k 10] [--hnsw-m 32] [--ef-construction 200] [--ef-search 128]
//                [--nlist 0] [--nprobe 0] [--threads 0] [--seed 0] [--methods exact,flat,hnsw,ivf]
//                [--json] [--embeddings FILE.npy]
//
// --embeddings: real vectors instead (e.g. contra embed's output): its last `queries` rows are the
// queries, the others the one database searched (--sizes is ignored).
//
// Data: `centroids` random unit vectors; each point is a centroid plus Gaussian noise of norm
// about `noise`, normalised. The queries are further points of the same distribution (not in the
// database). Metric: cosine. For each size: queries/s of exact_search (all queries in one call),
// of FAISS flat, HNSW and IVF (all queries in one call, FAISS's OpenMP threads), build times, and
// recall@k of HNSW and IVF against the exact top k (share of the exact ids found).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench_cli.h"
#include "contra/core/error.h"
#include "contra/core/runtime.h"
#include "contra/index/exact.h"
#include "contra/index/faiss_index.h"
#include "contra/index/npy.h"

namespace {

namespace ci = contra::index;
using BenchClock = std::chrono::steady_clock;

struct SearchBenchArgs {
  std::vector<int64_t> sizes = {10000, 100000, 1000000};
  int64_t dim = 128, centroids = 2000, queries = 1000, k = 10;
  double noise = 0.5;
  int64_t hnsw_m = 32, ef_construction = 200, ef_search = 128, nlist = 0, nprobe = 0;
  int threads = 0;
  uint64_t seed = 0;
  bool json = false;
  std::string embeddings;
  std::vector<std::string> methods = {"exact", "flat", "hnsw", "ivf"};
  bool has(const std::string& m) const {
    return std::find(methods.begin(), methods.end(), m) != methods.end();
  }
};

SearchBenchArgs parse_search_bench(int argc, char** argv) {
  SearchBenchArgs a;
  CLI::App app{"Nearest-neighbour search: exact (LibTorch) against FAISS flat, HNSW, IVF"};
  app.add_option("--sizes", a.sizes, "database sizes")->delimiter(',')->capture_default_str()
      ->check(contra::bench::at_least(1));
  app.add_option("--dim", a.dim, "dimension")->capture_default_str()->check(contra::bench::at_least(1));
  app.add_option("--centroids", a.centroids, "cluster centres")->capture_default_str()
      ->check(contra::bench::at_least(1));
  app.add_option("--noise", a.noise, "norm of the noise around a centre")->capture_default_str()
      ->check(contra::bench::positive_real());
  app.add_option("--queries", a.queries, "held-out query points")->capture_default_str()
      ->check(contra::bench::at_least(1));
  app.add_option("-k", a.k, "neighbours per query")->capture_default_str()->check(contra::bench::at_least(1));
  app.add_option("--hnsw-m", a.hnsw_m, "HNSW neighbours per node")->capture_default_str()
      ->check(contra::bench::at_least(2));
  app.add_option("--ef-construction", a.ef_construction, "HNSW build candidate list")
      ->capture_default_str()->check(contra::bench::at_least(1));
  app.add_option("--ef-search", a.ef_search, "HNSW search candidate list")->capture_default_str()
      ->check(contra::bench::at_least(1));
  app.add_option("--nlist", a.nlist, "IVF cells (0: round(sqrt(N)))")->capture_default_str()
      ->check(contra::bench::at_least(0));
  app.add_option("--nprobe", a.nprobe, "IVF cells probed (0: nlist / 16)")->capture_default_str()
      ->check(contra::bench::at_least(0));
  app.add_option("--threads", a.threads, "threads, LibTorch and FAISS (0: all cores)")
      ->capture_default_str()->check(contra::bench::at_least(0));
  app.add_option("--seed", a.seed, "data seed")->capture_default_str();
  app.add_option("--methods", a.methods, "what to measure (exact is always run: the reference)")
      ->delimiter(',')->capture_default_str()
      ->check(CLI::IsMember({"exact", "flat", "hnsw", "ivf"}));
  app.add_option("--embeddings", a.embeddings, "real vectors (.npy): last --queries rows query the rest");
  app.add_flag("--json", a.json, "one JSON object per size instead of the table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e) == 0 ? 0 : 2);
  }
  return a;
}

/// n points around the centres (rows of `centres`, unit), unit-normalised, made 65,536 at a time.
torch::Tensor bench_clustered_points(const torch::Tensor& centres, int64_t n, double noise) {
  const int64_t d = centres.size(1);
  auto out = torch::empty({n, d});
  const double sigma = noise / std::sqrt(double(d));
  for (int64_t b = 0; b < n; b += 65536) {
    const int64_t m = std::min<int64_t>(65536, n - b);
    auto which = torch::randint(centres.size(0), {m}, torch::kLong);
    auto x = centres.index_select(0, which).add_(torch::randn({m, d}).mul_(sigma));
    out.narrow(0, b, m).copy_(x.div_(x.norm(2, {1}, true)));
  }
  return out;
}

double bench_recall(const torch::Tensor& approx, const torch::Tensor& exact) {
  int64_t hit = 0;
  for (int64_t q = 0; q < exact.size(0); ++q)
    hit += torch::isin(exact[q], approx[q]).sum().item<int64_t>();
  return double(hit) / double(exact.numel());
}

double seconds_since(BenchClock::time_point t0) {
  return std::chrono::duration<double>(BenchClock::now() - t0).count();
}

struct SearchBenchRow {
  int64_t n = 0;
  double exact_qps = 0, flat_build_s = 0, flat_qps = 0, flat_recall = 0;
  double hnsw_build_s = 0, hnsw_qps = 0, hnsw_recall = 0;
  double ivf_build_s = 0, ivf_qps = 0, ivf_recall = 0;
  int64_t nlist = 0, nprobe = 0;
};

/// Builds `o` over db, searches q, returns {build s, queries/s, recall}; fills nlist / nprobe.
void bench_faiss(const torch::Tensor& db, const torch::Tensor& q, const torch::Tensor& exact_ids,
                 int64_t k, const ci::IndexOptions& o, double& build_s, double& qps,
                 double& recall, SearchBenchRow* row = nullptr) {
  auto t0 = BenchClock::now();
  auto index = ci::FaissIndex::build(db, o);
  build_s = seconds_since(t0);
  (void)index.search(q.narrow(0, 0, std::min<int64_t>(10, q.size(0))), k);  // warm-up
  t0 = BenchClock::now();
  const auto r = index.search(q, k);
  qps = double(q.size(0)) / seconds_since(t0);
  recall = bench_recall(r.ids, exact_ids);
  if (row) row->nlist = index.info().options.nlist, row->nprobe = index.info().options.nprobe;
}

}  // namespace

int main(int argc, char** argv) try {
  const auto a = parse_search_bench(argc, argv);
  const int threads = contra::set_threads(a.threads);
  const int faiss_threads = ci::set_faiss_threads(a.threads);
  torch::manual_seed(int64_t(a.seed));
  auto centres = torch::randn({a.centroids, a.dim});
  centres = centres / centres.norm(2, {1}, true);
  torch::Tensor queries = bench_clustered_points(centres, a.queries, a.noise), real;
  std::vector<int64_t> sizes = a.sizes;
  if (!a.embeddings.empty()) {
    real = contra::index::read_npy(a.embeddings);
    CONTRA_CHECK(real.size(0) > a.queries, a.embeddings, " has ", real.size(0), " rows; need more than --queries ", a.queries);
    queries = real.narrow(0, real.size(0) - a.queries, a.queries);
    sizes = {real.size(0) - a.queries};
  }
  if (!a.json && real.defined())
    std::printf("vectors from %s: dim %lld, the last %lld rows query the other %lld\n", a.embeddings.c_str(),
                (long long)real.size(1), (long long)a.queries, (long long)sizes[0]);
  if (!a.json) {
    std::printf("search: dim %lld, %lld centroids, noise %.2f, %lld queries, k %lld, cosine; "
                "threads %d (LibTorch) / %d (FAISS); HNSW M %lld efConstruction %lld efSearch "
                "%lld\n",
                (long long)a.dim, (long long)a.centroids, a.noise, (long long)a.queries,
                (long long)a.k, threads, faiss_threads, (long long)a.hnsw_m,
                (long long)a.ef_construction, (long long)a.ef_search);
    std::printf("%9s | %9s | %9s | %8s %9s %7s | %10s %8s %7s %7s\n", "vectors", "exact q/s",
                "flat q/s", "hnsw bld", "hnsw q/s", "R@k", "ivf nl/np", "ivf bld", "ivf q/s",
                "R@k");
  }
  for (int64_t n : sizes) {
    SearchBenchRow row;
    row.n = n;
    const auto db = real.defined() ? real.narrow(0, 0, n) : bench_clustered_points(centres, n, a.noise);
    // Exact (LibTorch), the reference.
    (void)ci::exact_search(db, queries.narrow(0, 0, std::min<int64_t>(10, a.queries)), a.k,
                           ci::Metric::kCosine);
    auto t0 = BenchClock::now();
    const auto exact = ci::exact_search(db, queries, a.k, ci::Metric::kCosine);
    row.exact_qps = double(a.queries) / seconds_since(t0);

    ci::IndexOptions o;
    o.metric = ci::Metric::kCosine;
    o.kind = ci::IndexKind::kFlat;
    if (a.has("flat"))
      bench_faiss(db, queries, exact.ids, a.k, o, row.flat_build_s, row.flat_qps, row.flat_recall);
    o.kind = ci::IndexKind::kHnsw;
    o.hnsw_m = a.hnsw_m;
    o.ef_construction = a.ef_construction;
    o.ef_search = a.ef_search;
    if (a.has("hnsw"))
      bench_faiss(db, queries, exact.ids, a.k, o, row.hnsw_build_s, row.hnsw_qps, row.hnsw_recall);
    o.kind = ci::IndexKind::kIvf;
    o.nlist = a.nlist;
    o.nprobe = a.nprobe;
    o.seed = a.seed;
    if (a.has("ivf"))
      bench_faiss(db, queries, exact.ids, a.k, o, row.ivf_build_s, row.ivf_qps, row.ivf_recall, &row);

    if (a.json) {
      const nlohmann::json j = {
          {"vectors", n}, {"dim", db.size(1)}, {"source", a.embeddings.empty() ? "synthetic" : a.embeddings}, {"centroids", a.centroids}, {"queries", a.queries},
          {"k", a.k}, {"threads", threads}, {"faiss_threads", faiss_threads},
          {"exact_qps", row.exact_qps}, {"flat_qps", row.flat_qps},
          {"flat_recall", row.flat_recall}, {"hnsw_m", a.hnsw_m},
          {"ef_construction", a.ef_construction}, {"ef_search", a.ef_search},
          {"hnsw_build_s", row.hnsw_build_s}, {"hnsw_qps", row.hnsw_qps},
          {"hnsw_recall", row.hnsw_recall}, {"nlist", row.nlist}, {"nprobe", row.nprobe},
          {"ivf_build_s", row.ivf_build_s}, {"ivf_qps", row.ivf_qps},
          {"ivf_recall", row.ivf_recall}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      // Methods left out (--methods) print as "-".
      auto num = [](bool on, const char* fmt, double v) {
        char b[32];
        std::snprintf(b, sizeof b, fmt, v);
        return on ? std::string(b) : std::string("-");
      };
      const bool fl = a.has("flat"), hn = a.has("hnsw"), iv = a.has("ivf");
      const std::string nl =
          iv ? std::to_string(row.nlist) + "/" + std::to_string(row.nprobe) : std::string("-");
      std::printf("%9lld | %9.0f | %9s | %8s %9s %7s | %10s %8s %7s %7s\n", (long long)n,
                  row.exact_qps, num(fl, "%.0f", row.flat_qps).c_str(),
                  num(hn, "%.1fs", row.hnsw_build_s).c_str(), num(hn, "%.0f", row.hnsw_qps).c_str(),
                  num(hn, "%.4f", row.hnsw_recall).c_str(), nl.c_str(),
                  num(iv, "%.1fs", row.ivf_build_s).c_str(), num(iv, "%.0f", row.ivf_qps).c_str(),
                  num(iv, "%.4f", row.ivf_recall).c_str());
    }
    std::fflush(stdout);
  }
  return 0;
} catch (const contra::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 2;
}
