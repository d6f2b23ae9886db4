#include "contra/index/exact.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "contra/core/error.h"
#include "contra/index/npy.h"

namespace contra::index {

namespace {

at::Tensor exact_prepare_rows(const at::Tensor& x, Metric metric, const at::Device& device) {
  auto f = x.detach().to(device, at::kFloat);
  if (metric == Metric::kCosine) f = f / f.norm(2, {1}, true).clamp_min(1e-12);
  return f.contiguous();
}

/// The running top-k of every query over database chunks seen in row order: one min-heap of k
/// (score, row) per query, its root the worst kept. Scores are "higher is better" (l2:
/// 2 q.x - |x|^2, which ranks as -|q - x|^2). Rows arrive in increasing order, so a row enters
/// only with a strictly higher score than the root: equal scores keep the lower row. Most scores
/// fail that one comparison, which makes the scan far cheaper than a top-k sort of each chunk.
class ExactTopK {
 public:
  ExactTopK(const at::Tensor& queries, int64_t k, Metric metric)
      : q_(queries), k_(k), metric_(metric), nq_(queries.size(0)),
        score_(size_t(nq_ * k)), row_(size_t(nq_ * k)), filled_(size_t(nq_), 0) {}

  /// Scores database rows [first, first + x.size(0)) (x already prepared), kBlock rows at a time
  /// into one reused buffer (a fresh [Q, chunk] result per product costs more in page faults than
  /// the product itself).
  void add(const at::Tensor& x, int64_t first) {
    for (int64_t b = 0; b < x.size(0); b += kBlock) {
      const int64_t c = std::min(kBlock, x.size(0) - b);
      const auto xb = x.narrow(0, b, c);
      if (!buf_.defined()) buf_ = at::empty({nq_ * std::min(kBlock, x.size(0))}, q_.options());
      if (buf_.numel() < nq_ * c) buf_ = at::empty({nq_ * c}, q_.options());
      auto s = buf_.narrow(0, 0, nq_ * c).view({nq_, c});
      at::mm_out(s, q_, xb.t());  // [Q, c]
      if (metric_ == Metric::kL2) s.mul_(2).sub_(xb.pow(2).sum(1).unsqueeze(0));
      const auto cpu = s.device().is_cpu() ? s : s.to(at::kCPU);
      const float* sp = cpu.data_ptr<float>();
      at::parallel_for(0, nq_, 1, [&](int64_t begin, int64_t end) {
        for (int64_t q = begin; q < end; ++q) scan_row(q, sp + q * c, c, first + b);
      });
    }
  }

  SearchResult finish() {
    const int64_t k = nq_ > 0 ? filled_[0] : k_;
    SearchResult r{at::empty({nq_, k}, at::kFloat), at::empty({nq_, k}, at::kLong)};
    float* out_s = r.scores.data_ptr<float>();
    int64_t* out_i = r.ids.data_ptr<int64_t>();
    std::vector<std::pair<float, int64_t>> kept(static_cast<size_t>(k));
    for (int64_t q = 0; q < nq_; ++q) {
      TORCH_INTERNAL_ASSERT(filled_[size_t(q)] == k, "every query sees every row");
      for (int64_t j = 0; j < k; ++j)
        kept[size_t(j)] = {score_[size_t(q * k_ + j)], row_[size_t(q * k_ + j)]};
      std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      for (int64_t j = 0; j < k; ++j) {
        out_s[q * k + j] = kept[size_t(j)].first;
        out_i[q * k + j] = kept[size_t(j)].second;
      }
    }
    if (metric_ == Metric::kL2)
      r.scores = (q_.to(at::kCPU).pow(2).sum(1, true) - r.scores).clamp_min(0);
    return r;
  }

 private:
  void scan_row(int64_t q, const float* s, int64_t c, int64_t first) {
    float* hs = score_.data() + q * k_;
    int64_t* hr = row_.data() + q * k_;
    int64_t& n = filled_[size_t(q)];
    int64_t j = 0;
    for (; j < c && n < k_; ++j) {  // filling: sift up
      int64_t at = n++;
      while (at > 0) {
        const int64_t parent = (at - 1) / 2;
        if (!worse(s[j], first + j, hs[parent], hr[parent])) break;
        hs[at] = hs[parent], hr[at] = hr[parent];
        at = parent;
      }
      hs[at] = s[j], hr[at] = first + j;
    }
    for (; j < c; ++j) {
      if (!(s[j] > hs[0])) continue;  // the common case
      const float v = s[j];
      const int64_t row = first + j;
      int64_t at = 0;  // sift the new root down
      for (;;) {
        int64_t child = 2 * at + 1;
        if (child >= k_) break;
        if (child + 1 < k_ && worse(hs[child + 1], hr[child + 1], hs[child], hr[child])) ++child;
        if (!worse(hs[child], hr[child], v, row)) break;
        hs[at] = hs[child], hr[at] = hr[child];
        at = child;
      }
      hs[at] = v, hr[at] = row;
    }
  }

  /// (a, ra) ranks below (b, rb): a lower score, or the same score and a higher row.
  static bool worse(float a, int64_t ra, float b, int64_t rb) {
    return a < b || (a == b && ra > rb);
  }

  static constexpr int64_t kBlock = 4096;  ///< database rows per product
  at::Tensor q_, buf_;
  int64_t k_;
  Metric metric_;
  int64_t nq_;
  std::vector<float> score_;
  std::vector<int64_t> row_;
  std::vector<int64_t> filled_;
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
