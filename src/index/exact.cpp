#include "contra/index/exact.h"

#include <algorithm>
#include <tuple>

#include <ATen/ATen.h>

#include "contra/core/error.h"
#include "contra/index/npy.h"

namespace contra::index {

namespace {

at::Tensor exact_prepare_rows(const at::Tensor& x, Metric metric, const at::Device& device) {
  auto f = x.detach().to(device, at::kFloat);
  if (metric == Metric::kCosine) f = f / f.norm(2, {1}, true).clamp_min(1e-12);
  return f.contiguous();
}

/// The running top-k of every query over database chunks seen in row order. Scores are kept as
/// "higher is better" (l2: 2 q.x - |x|^2, which ranks as -|q - x|^2), ordered by score then row.
class ExactTopK {
 public:
  ExactTopK(const at::Tensor& queries, int64_t k, Metric metric)
      : q_(queries), k_(k), metric_(metric) {}

  /// Scores database rows [first, first + x.size(0)) (x already prepared).
  void add(const at::Tensor& x, int64_t first) {
    const int64_t c = x.size(0);
    if (c == 0) return;
    auto s = at::matmul(q_, x.t());  // [Q, c]
    if (metric_ == Metric::kL2) s = s.mul_(2).sub_(x.pow(2).sum(1).unsqueeze(0));
    const int64_t kk = std::min(k_, c);
    at::Tensor v, i;
    if (kk < c) {
      // One more than needed: where the (k+1)-th equals the k-th, a tie crosses the boundary.
      std::tie(v, i) = s.topk(kk + 1, 1, /*largest=*/true, /*sorted=*/true);
      auto crowded = v.select(1, kk).eq(v.select(1, kk - 1));
      v = v.narrow(1, 0, kk).contiguous();
      i = i.narrow(1, 0, kk).contiguous();
      fix_boundary_ties(s, v, i, kk, crowded);
    } else {
      std::tie(v, i) = s.topk(kk, 1, /*largest=*/true, /*sorted=*/true);
    }
    // Within the chunk: by score, equal scores by row (sort by row, then a stable sort by score).
    at::Tensor by_row, perm;
    std::tie(by_row, perm) = i.sort(1);
    v = v.gather(1, perm);
    at::Tensor sv, sp;
    std::tie(sv, sp) = v.sort(/*stable=*/true, 1, /*descending=*/true);
    at::Tensor ids = by_row.gather(1, sp).add_(first);
    if (!best_.defined()) {
      best_ = sv, best_ids_ = ids;
      return;
    }
    // Earlier chunks hold lower rows: a stable sort of [running, chunk] keeps ties by row.
    auto all = at::cat({best_, sv}, 1), all_ids = at::cat({best_ids_, ids}, 1);
    std::tie(sv, sp) = all.sort(/*stable=*/true, 1, /*descending=*/true);
    const int64_t keep = std::min(k_, all.size(1));
    best_ = sv.narrow(1, 0, keep).contiguous();
    best_ids_ = all_ids.gather(1, sp.narrow(1, 0, keep)).contiguous();
  }

  SearchResult finish() {
    SearchResult r;
    auto s = best_;
    if (metric_ == Metric::kL2) s = (q_.pow(2).sum(1, true) - s).clamp_min(0);
    r.scores = s.to(at::kCPU).contiguous();
    r.ids = best_ids_.to(at::kCPU).contiguous();
    return r;
  }

 private:
  /// topk picks any of the rows whose score equals the k-th best; where more rows share it than
  /// fit, take the lowest rows instead (rare on real data: only the affected queries are redone).
  static void fix_boundary_ties(const at::Tensor& s, at::Tensor& v, at::Tensor& i, int64_t kk,
                                const at::Tensor& crowded_rows) {
    if (!crowded_rows.any().item<bool>()) return;
    auto threshold = v.select(1, kk - 1).unsqueeze(1);
    auto crowded = crowded_rows.nonzero().view({-1}).to(at::kCPU);
    const int64_t* rows = crowded.data_ptr<int64_t>();
    for (int64_t n = 0; n < crowded.numel(); ++n) {
      const int64_t r = rows[n];
      auto row = s[r];
      auto cand = (row >= threshold[r]).nonzero().view({-1});  // ascending rows
      at::Tensor cv, order;
      std::tie(cv, order) = row.index_select(0, cand).sort(/*stable=*/true, 0, /*descending=*/true);
      v[r].copy_(cv.narrow(0, 0, kk));
      i[r].copy_(cand.index_select(0, order.narrow(0, 0, kk)));
    }
  }

  at::Tensor q_;
  int64_t k_;
  Metric metric_;
  at::Tensor best_, best_ids_;
};

void exact_check(int64_t n, int64_t d, const at::Tensor& queries, int64_t k, int64_t chunk,
                 const std::string& what) {
  CONTRA_CHECK(k >= 1, "k must be at least 1, got ", k);
  CONTRA_CHECK(chunk >= 1, "exact search chunk must be at least 1, got ", chunk);
  CONTRA_CHECK(n >= 1, "exact search over an empty database", what);
  CONTRA_CHECK(queries.dim() == 2, "queries must be [Q, d], got ", queries.sizes());
  CONTRA_CHECK(queries.is_floating_point(), "queries must be floating point, got ",
               queries.scalar_type());
  CONTRA_CHECK(queries.size(1) == d, "index built on dimension ", d, ", queries have dimension ",
               queries.size(1), what);
}

SearchResult exact_empty_result(int64_t k) {
  return {at::empty({0, k}, at::kFloat), at::empty({0, k}, at::kLong)};
}

}  // namespace

SearchResult exact_search(const at::Tensor& database, const at::Tensor& queries, int64_t k,
                          Metric metric, int64_t chunk) {
  CONTRA_CHECK(database.dim() == 2, "database must be [N, d], got ", database.sizes());
  CONTRA_CHECK(database.is_floating_point(), "database must be floating point, got ",
               database.scalar_type());
  const int64_t n = database.size(0);
  exact_check(n, database.size(1), queries, k, chunk, "");
  k = std::min(k, n);
  if (queries.size(0) == 0) return exact_empty_result(k);
  const auto device = database.device();
  ExactTopK top(exact_prepare_rows(queries, metric, device), k, metric);
  for (int64_t b = 0; b < n; b += chunk)
    top.add(exact_prepare_rows(database.narrow(0, b, std::min(chunk, n - b)), metric, device), b);
  return top.finish();
}

SearchResult exact_search_npy(const std::string& path, const at::Tensor& queries, int64_t k,
                              Metric metric, int64_t chunk) {
  const auto [n, d] = npy_shape(path);
  exact_check(n, d, queries, k, chunk, " (" + path + ")");
  k = std::min(k, n);
  if (queries.size(0) == 0) return exact_empty_result(k);
  const at::Device cpu(at::kCPU);
  ExactTopK top(exact_prepare_rows(queries, metric, cpu), k, metric);
  for (int64_t b = 0; b < n; b += chunk)
    top.add(exact_prepare_rows(read_npy_rows(path, b, std::min(n, b + chunk)), metric, cpu), b);
  return top.finish();
}

}  // namespace contra::index
