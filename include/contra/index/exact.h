#pragma once
// Exact k-nearest-neighbour search with LibTorch alone (the reference for the FAISS indexes).
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "contra/core/names.h"

namespace contra::index {

/// How vectors are compared. kCosine = inner product of L2-normalised vectors (zero vectors stay
/// zero); kL2 ranks the smallest squared Euclidean distance first and reports it squared, as
/// FAISS does.
enum class Metric { kCosine, kInnerProduct, kL2 };
inline constexpr NameTable<Metric, 3> kMetricNames = {
    {"cosine", Metric::kCosine}, {"ip", Metric::kInnerProduct}, {"l2", Metric::kL2}};

/// The k best database rows of each query, best first.
struct SearchResult {
  at::Tensor scores;  ///< [Q, k] float32: similarity (cosine, ip) or squared distance (l2)
  at::Tensor ids;     ///< [Q, k] int64: database row numbers (-1: no result, FAISS only)
};

/// Exact k-NN of `queries` [Q, d] among `database` [N, d] (any float dtype; the products in float32
/// on the database's device, the selection and the results on the CPU). The database is scored
/// `chunk` rows at a time (one [Q, chunk] matrix product, scanned into a running top-k heap per
/// query), so memory is O(Q * chunk), not O(Q * N). Equal scores rank the lower row number first. k > N returns all N rows (k is
/// clamped to N); k < 1, an empty database or mismatched dimensions are contra::Error.
SearchResult exact_search(const at::Tensor& database, const at::Tensor& queries, int64_t k,
                          Metric metric, int64_t chunk = 65536);

/// exact_search over the rows of a .npy embeddings file, read `chunk` rows at a time (the whole
/// file is never in memory). Same results as exact_search(read_npy(path), ...).
SearchResult exact_search_npy(const std::string& path, const at::Tensor& queries, int64_t k,
                              Metric metric, int64_t chunk = 65536);

}  // namespace contra::index
