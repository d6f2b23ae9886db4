#include "contra/index/faiss_index.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <vector>

#include <ATen/ATen.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_io.h>
#include <nlohmann/json.hpp>

#include "contra/core/error.h"
#include "contra/core/files.h"
#include "contra/core/runtime.h"
#include "contra/index/npy.h"

namespace contra::index {

namespace {

namespace fs = std::filesystem;

constexpr const char* kFaissFileName = "index.faiss";
constexpr const char* kFaissInfoName = "index.json";
constexpr int kFaissInfoVersion = 1;

faiss::MetricType faiss_metric_of(Metric m) {
  return m == Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
}

/// CPU float32 contiguous copy, L2-normalised rows for cosine.
at::Tensor faiss_prepare_rows(const at::Tensor& x, Metric metric) {
  auto f = x.detach().to(at::kCPU, at::kFloat);
  if (metric == Metric::kCosine) f = f / f.norm(2, {1}, true).clamp_min(1e-12);
  return f.contiguous();
}

/// nlist, nprobe and the training sample size, resolved for n vectors.
void faiss_resolve_ivf(IndexOptions& o, int64_t n) {
  const int64_t cap = std::max<int64_t>(1, n / 39);  // FAISS wants >= 39 points per cell
  if (o.nlist <= 0) o.nlist = std::clamp<int64_t>(std::llround(std::sqrt(double(n))), 1, cap);
  CONTRA_CHECK(o.nlist <= n, "ivf: nlist ", o.nlist, " is more than the ", n, " vectors");
  if (o.nprobe <= 0) o.nprobe = std::max<int64_t>(1, o.nlist / 16);
  o.nprobe = std::min(o.nprobe, o.nlist);
  if (o.train_points <= 0) o.train_points = std::min<int64_t>(n, 64 * o.nlist);
  o.train_points = std::clamp<int64_t>(o.train_points, o.nlist, n);
}

void faiss_check_options(const IndexOptions& o) {
  CONTRA_CHECK(o.hnsw_m >= 2 && o.hnsw_m <= 512, "hnsw M must be in [2, 512], got ", o.hnsw_m);
  CONTRA_CHECK(o.ef_construction >= 1, "hnsw efConstruction must be at least 1, got ",
               o.ef_construction);
  CONTRA_CHECK(o.ef_search >= 1, "hnsw efSearch must be at least 1, got ", o.ef_search);
  CONTRA_CHECK(o.nlist >= 0, "ivf nlist must be at least 1 (0: automatic), got ", o.nlist);
  CONTRA_CHECK(o.nprobe >= 0, "ivf nprobe must be at least 1 (0: automatic), got ", o.nprobe);
}

/// Rows picked without replacement by a seeded generator, in ascending order.
std::vector<int64_t> faiss_sample_rows(int64_t n, int64_t m, uint64_t seed) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  if (m >= n) return rows;
  std::mt19937_64 gen(seed);
  for (int64_t i = 0; i < m; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(rows[size_t(i)], rows[size_t(pick(gen))]);
  }
  rows.resize(size_t(m));
  std::sort(rows.begin(), rows.end());
  return rows;
}

void faiss_apply_search_params(faiss::Index* index, IndexKind kind, int64_t ef_search,
                               int64_t nprobe) {
  if (kind == IndexKind::kHnsw)
    static_cast<faiss::IndexHNSWFlat*>(index)->hnsw.efSearch = int(ef_search);
  if (kind == IndexKind::kIvf) static_cast<faiss::IndexIVFFlat*>(index)->nprobe = size_t(nprobe);
}

nlohmann::json faiss_info_to_json(const IndexInfo& info) {
  const auto& o = info.options;
  nlohmann::json params = nlohmann::json::object();
  if (o.kind == IndexKind::kHnsw)
    params = {{"hnsw_m", o.hnsw_m}, {"ef_construction", o.ef_construction},
              {"ef_search", o.ef_search}};
  if (o.kind == IndexKind::kIvf)
    params = {{"nlist", o.nlist}, {"nprobe", o.nprobe}, {"train_points", o.train_points},
              {"seed", o.seed}};
  return {{"format", "contra-index"},
          {"version", kFaissInfoVersion},
          {"kind", name_of(kIndexKindNames, o.kind)},
          {"metric", name_of(kMetricNames, o.metric)},
          {"dim", info.dim},
          {"count", info.count},
          {"parameters", params},
          {"embeddings", info.embeddings.empty() ? nlohmann::json() : nlohmann::json(info.embeddings)},
          {"ids", info.ids.empty() ? nlohmann::json() : nlohmann::json(info.ids)},
          {"faiss_file", kFaissFileName},
          {"build_seconds", info.build_seconds}};
}

IndexInfo faiss_info_from_json(const nlohmann::json& j, const std::string& file) {
  IndexInfo info;
  try {
    CONTRA_CHECK(j.value("format", "") == "contra-index", file, " is not a contra index description");
    CONTRA_CHECK(j.at("version").get<int>() == kFaissInfoVersion, file, ": index format version ",
                 j.at("version").dump(), " is not supported (this build reads ", kFaissInfoVersion,
                 ")");
    auto& o = info.options;
    o.kind = from_name(kIndexKindNames, j.at("kind").get<std::string>(), "index kind");
    o.metric = from_name(kMetricNames, j.at("metric").get<std::string>(), "metric");
    info.dim = j.at("dim").get<int64_t>();
    info.count = j.at("count").get<int64_t>();
    const auto& p = j.at("parameters");
    if (o.kind == IndexKind::kHnsw) {
      o.hnsw_m = p.at("hnsw_m").get<int64_t>();
      o.ef_construction = p.at("ef_construction").get<int64_t>();
      o.ef_search = p.at("ef_search").get<int64_t>();
    }
    if (o.kind == IndexKind::kIvf) {
      o.nlist = p.at("nlist").get<int64_t>();
      o.nprobe = p.at("nprobe").get<int64_t>();
      o.train_points = p.at("train_points").get<int64_t>();
      o.seed = p.at("seed").get<uint64_t>();
    }
    if (j.contains("embeddings") && j["embeddings"].is_string())
      info.embeddings = j["embeddings"].get<std::string>();
    if (j.contains("ids") && j["ids"].is_string()) info.ids = j["ids"].get<std::string>();
    info.build_seconds = j.value("build_seconds", 0.0);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file + ": " + e.what());
  }
  return info;
}

}  // namespace

std::string items_path_for(const std::string& embeddings_path) {
  fs::path p(embeddings_path);
  if (p.extension() == ".npy") return p.replace_extension(".jsonl").string();
  return embeddings_path + ".jsonl";
}

int set_faiss_threads(int n) {
  if (n <= 0) n = available_cores();
  omp_set_num_threads(n);
  return omp_get_max_threads();
}

FaissIndex::FaissIndex() = default;
FaissIndex::FaissIndex(FaissIndex&&) noexcept = default;
FaissIndex& FaissIndex::operator=(FaissIndex&&) noexcept = default;
FaissIndex::~FaissIndex() = default;

FaissIndex FaissIndex::build(const std::string& embeddings_path, const IndexOptions& options) {
  auto index = build(read_npy(embeddings_path), options);
  index.info_.embeddings = fs::absolute(embeddings_path).lexically_normal().string();
  const std::string items = items_path_for(index.info_.embeddings);
  if (fs::is_regular_file(items)) index.info_.ids = items;
  return index;
}

FaissIndex FaissIndex::build(const at::Tensor& vectors, const IndexOptions& options) {
  CONTRA_CHECK(vectors.dim() == 2 && vectors.is_floating_point(),
               "an index needs float vectors [N, d], got ", vectors.scalar_type(), " ",
               vectors.sizes());
  const int64_t n = vectors.size(0), d = vectors.size(1);
  CONTRA_CHECK(n >= 1, "an index needs at least one vector");
  CONTRA_CHECK(d >= 1, "an index needs dimension at least 1");
  faiss_check_options(options);
  const auto t0 = std::chrono::steady_clock::now();
  FaissIndex out;
  IndexOptions o = options;
  if (o.kind == IndexKind::kIvf) faiss_resolve_ivf(o, n);
  const auto x = faiss_prepare_rows(vectors, o.metric);
  const float* data = x.data_ptr<float>();
  const auto metric = faiss_metric_of(o.metric);
  try {
    switch (o.kind) {
      case IndexKind::kFlat:
        out.index_ = std::make_unique<faiss::IndexFlat>(int(d), metric);
        break;
      case IndexKind::kHnsw: {
        auto h = std::make_unique<faiss::IndexHNSWFlat>(int(d), int(o.hnsw_m), metric);
        h->hnsw.efConstruction = int(o.ef_construction);
        h->hnsw.efSearch = int(o.ef_search);
        out.index_ = std::move(h);
        break;
      }
      case IndexKind::kIvf: {
        auto* quantizer = new faiss::IndexFlat(int(d), metric);
        auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, size_t(d), size_t(o.nlist), metric);
        ivf->own_fields = true;
        ivf->cp.seed = int(o.seed % 2147483647u);
        ivf->cp.max_points_per_centroid = int(std::max<int64_t>(1, o.train_points / o.nlist) + 1);
        ivf->verbose = false;
        const auto rows = faiss_sample_rows(n, o.train_points, o.seed);
        if (int64_t(rows.size()) == n) {
          ivf->train(n, data);
        } else {
          auto idx = at::from_blob(const_cast<int64_t*>(rows.data()), {int64_t(rows.size())},
                                   at::kLong);
          auto sample = x.index_select(0, idx).contiguous();
          ivf->train(sample.size(0), sample.data_ptr<float>());
        }
        ivf->nprobe = size_t(o.nprobe);
        out.index_ = std::move(ivf);
        break;
      }
    }
    out.index_->add(n, data);
  } catch (const faiss::FaissException& e) {
    throw Error(std::string("FAISS could not build the index: ") + e.what());
  }
  out.info_.options = o;
  out.info_.dim = d;
  out.info_.count = n;
  out.info_.build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

void FaissIndex::save(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  CONTRA_CHECK(!ec && fs::is_directory(dir), "cannot create index folder ", dir,
               ec ? ": " + ec.message() : std::string());
  const std::string file = (fs::path(dir) / kFaissFileName).string();
  const std::string tmp = file + ".tmp";
  try {
    faiss::write_index(index_.get(), tmp.c_str());
  } catch (const faiss::FaissException& e) {
    fs::remove(tmp, ec);
    throw Error("cannot write " + tmp + ": " + e.what());
  }
  fs::rename(tmp, file, ec);
  CONTRA_CHECK(!ec, "cannot rename ", tmp, " to ", file, ": ", ec.message());
  write_file_atomically((fs::path(dir) / kFaissInfoName).string(),
                          faiss_info_to_json(info_).dump(2) + "\n");
}

FaissIndex FaissIndex::load(const std::string& dir) {
  CONTRA_CHECK(fs::is_directory(dir), "missing index folder ", dir,
               " (build one with contra index --embeddings FILE.npy --out DIR)");
  const std::string file = (fs::path(dir) / kFaissFileName).string();
  const std::string json_file = (fs::path(dir) / kFaissInfoName).string();
  CONTRA_CHECK(fs::is_regular_file(file), "missing FAISS file ", file);
  CONTRA_CHECK(fs::is_regular_file(json_file), "missing ", json_file,
               " (not a folder written by contra index?)");
  nlohmann::json j;
  {
    std::ifstream in(json_file);
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw Error(json_file + " is not valid JSON: " + e.what());
    }
  }
  FaissIndex out;
  out.info_ = faiss_info_from_json(j, json_file);
  try {
    out.index_.reset(faiss::read_index(file.c_str()));
  } catch (const faiss::FaissException& e) {
    throw Error("cannot read FAISS file " + file + ": " + e.what());
  }
  const auto& info = out.info_;
  CONTRA_CHECK(out.index_->d == info.dim && out.index_->ntotal == info.count, file, " holds ",
               out.index_->ntotal, " vectors of dimension ", out.index_->d, " but ", json_file,
               " says ", info.count, " of dimension ", info.dim);
  const bool kind_ok =
      (info.options.kind == IndexKind::kFlat && dynamic_cast<faiss::IndexFlat*>(out.index_.get())) ||
      (info.options.kind == IndexKind::kHnsw && dynamic_cast<faiss::IndexHNSWFlat*>(out.index_.get())) ||
      (info.options.kind == IndexKind::kIvf && dynamic_cast<faiss::IndexIVFFlat*>(out.index_.get()));
  CONTRA_CHECK(kind_ok, file, " is not the ", name_of(kIndexKindNames, info.options.kind),
               " index that ", json_file, " describes");
  faiss_apply_search_params(out.index_.get(), info.options.kind, info.options.ef_search,
                            info.options.nprobe);
  return out;
}

SearchResult FaissIndex::search(const at::Tensor& queries, int64_t k,
                                const SearchOverrides& overrides) {
  CONTRA_CHECK(k >= 1, "k must be at least 1, got ", k);
  CONTRA_CHECK(queries.dim() == 2, "queries must be [Q, d], got ", queries.sizes());
  CONTRA_CHECK(queries.is_floating_point(), "queries must be floating point, got ",
               queries.scalar_type());
  CONTRA_CHECK(queries.size(1) == info_.dim, "index built on dimension ", info_.dim,
               ", queries have dimension ", queries.size(1));
  CONTRA_CHECK(overrides.ef_search >= 0 && overrides.nprobe >= 0,
               "efSearch and nprobe overrides must be at least 1 (0: the index's own)");
  k = std::min(k, info_.count);
  const auto& o = info_.options;
  const int64_t ef = std::max(overrides.ef_search > 0 ? overrides.ef_search : o.ef_search, k);
  const int64_t nprobe = std::min(overrides.nprobe > 0 ? overrides.nprobe : o.nprobe,
                                  std::max<int64_t>(1, o.nlist));
  faiss_apply_search_params(index_.get(), o.kind, ef, nprobe);
  const auto q = faiss_prepare_rows(queries, o.metric);
  const int64_t nq = q.size(0);
  SearchResult r{at::empty({nq, k}, at::kFloat), at::empty({nq, k}, at::kLong)};
  if (nq > 0) {
    try {
      index_->search(nq, q.data_ptr<float>(), k, r.scores.data_ptr<float>(),
                     r.ids.data_ptr<int64_t>());
    } catch (const faiss::FaissException& e) {
      throw Error(std::string("FAISS search failed: ") + e.what());
    }
  }
  // Restore the index's own values (the overrides are for this search only).
  faiss_apply_search_params(index_.get(), o.kind, o.ef_search, o.nprobe);
  return r;
}

}  // namespace contra::index
