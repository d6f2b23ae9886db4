#pragma once
// A FAISS index over an embeddings file, saved to a folder:
//   DIR/index.faiss  the FAISS index (faiss::write_index)
//   DIR/index.json   what it is: kind, metric, dim, count, parameters, the source embeddings file
//                    and its items file (ids), build time
// Both are written to a temp name and renamed (index.faiss first, index.json last).
#include <cstdint>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

#include "contra/core/names.h"
#include "contra/index/exact.h"

namespace faiss {
struct Index;
}

namespace contra::index {

/// flat: exact (IndexFlatIP / IndexFlatL2); hnsw: graph (IndexHNSWFlat); ivf: inverted lists over
/// k-means cells (IndexIVFFlat).
enum class IndexKind { kFlat, kHnsw, kIvf };
inline constexpr NameTable<IndexKind, 3> kIndexKindNames = {
    {"flat", IndexKind::kFlat}, {"hnsw", IndexKind::kHnsw}, {"ivf", IndexKind::kIvf}};

/// What to build. cosine normalises the vectors and uses the inner-product metric (queries are
/// normalised at search time).
struct IndexOptions {
  IndexKind kind = IndexKind::kFlat;
  Metric metric = Metric::kCosine;
  // hnsw
  int64_t hnsw_m = 32;            ///< graph neighbours per node
  int64_t ef_construction = 200;  ///< candidate list while building
  int64_t ef_search = 128;        ///< candidate list while searching (raised to k if lower)
  // ivf
  int64_t nlist = 0;         ///< k-means cells; 0: round(sqrt(N)), at most N / 39 (at least 1)
  int64_t nprobe = 0;        ///< cells visited per query; 0: max(1, nlist / 16)
  int64_t train_points = 0;  ///< k-means training sample; 0: min(N, 64 * nlist)
  uint64_t seed = 0;         ///< picks the training sample (and FAISS's k-means seed)
};

/// Search-time overrides (0: keep the index's value).
struct SearchOverrides {
  int64_t ef_search = 0;
  int64_t nprobe = 0;
};

/// index.json's content.
struct IndexInfo {
  IndexOptions options;  ///< with nlist / nprobe / train_points resolved
  int64_t dim = 0, count = 0;
  std::string embeddings;  ///< absolute path of the source .npy ("" when built from a tensor)
  std::string ids;         ///< absolute path of its items file (JSON lines), "" when there was none
  double build_seconds = 0;
};

/// The items file that goes with an embeddings file: OUT.npy -> OUT.jsonl (one JSON object per row:
/// {"index": i, "id": ..., "path": ..., "label": ...}); other names get ".jsonl" appended.
std::string items_path_for(const std::string& embeddings_path);

/// Sets FAISS's OpenMP threads (n <= 0: all available cores); returns the count in effect.
int set_faiss_threads(int n);

class FaissIndex {
 public:
  /// Builds over the rows of a .npy file (read_npy); records the file and its items file.
  static FaissIndex build(const std::string& embeddings_path, const IndexOptions& options);
  /// Builds over vectors [N, d] (any float dtype/device).
  static FaissIndex build(const at::Tensor& vectors, const IndexOptions& options);
  /// Reads DIR/index.json and DIR/index.faiss; contra::Error for a missing folder or file, or
  /// files that disagree.
  static FaissIndex load(const std::string& dir);

  FaissIndex(FaissIndex&&) noexcept;
  FaissIndex& operator=(FaissIndex&&) noexcept;
  ~FaissIndex();

  /// Writes DIR/index.faiss and DIR/index.json (creating DIR).
  void save(const std::string& dir) const;

  /// The k best rows per query [Q, d] (k > count is clamped to count). contra::Error when k < 1
  /// or d differs from the index's. HNSW / IVF may return fewer than k hits: ids -1 at the end.
  SearchResult search(const at::Tensor& queries, int64_t k, const SearchOverrides& overrides = {});

  const IndexInfo& info() const { return info_; }

 private:
  FaissIndex();
  std::unique_ptr<faiss::Index> index_;
  IndexInfo info_;
};

}  // namespace contra::index
