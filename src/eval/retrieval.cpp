#include "contra/eval/retrieval.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>

#include "contra/core/error.h"

namespace contra::eval {

RetrievalMetrics metrics_from_ranks(const std::vector<int64_t>& ranks, int64_t documents) {
  RetrievalMetrics m;
  m.queries = int64_t(ranks.size());
  m.documents = documents;
  if (ranks.empty()) return m;
  double r1 = 0, r10 = 0, rr = 0;
  for (int64_t r : ranks) {
    TORCH_INTERNAL_ASSERT(r >= 1, "ranks are 1-based");
    r1 += r <= 1;
    r10 += r <= 10;
    rr += 1.0 / double(r);
  }
  const double q = double(ranks.size());
  m.recall_at_1 = r1 / q;
  m.recall_at_10 = r10 / q;
  m.mrr = rr / q;
  return m;
}

RetrievalMetrics retrieval_metrics(const at::Tensor& queries, const at::Tensor& documents,
                                   const at::Tensor& targets, int64_t chunk) {
  CONTRA_CHECK(queries.dim() == 2 && documents.dim() == 2 && queries.size(1) == documents.size(1),
               "retrieval needs queries [Q, d] and documents [D, d], got ", queries.sizes(),
               " and ", documents.sizes());
  CONTRA_CHECK(targets.dim() == 1 && targets.size(0) == queries.size(0),
               "retrieval needs one target per query, got ", targets.sizes(), " for ",
               queries.size(0), " queries");
  const int64_t d = documents.size(0);
  CONTRA_CHECK(d >= 1, "retrieval needs at least one document");
  auto t = targets.to(at::kLong).cpu();
  CONTRA_CHECK(t.numel() == 0 || (t.min().item<int64_t>() >= 0 && t.max().item<int64_t>() < d),
               "retrieval targets must be in [0, ", d, ")");
  auto unit = [](const at::Tensor& x) {
    auto f = x.to(at::kFloat).cpu();
    return f / f.norm(2, {1}, true).clamp_min(1e-12);
  };
  auto q = unit(queries), docs = unit(documents);
  std::vector<int64_t> ranks;
  ranks.reserve(size_t(q.size(0)));
  for (int64_t b = 0; b < q.size(0); b += std::max<int64_t>(1, chunk)) {
    const int64_t e = std::min(q.size(0), b + std::max<int64_t>(1, chunk));
    auto s = at::matmul(q.slice(0, b, e), docs.t());              // [n, D]
    auto tgt = t.slice(0, b, e);
    auto own = s.gather(1, tgt.unsqueeze(1));                     // [n, 1]
    auto ahead = (s >= own).sum(1) - 1;                           // others at least as high
    auto a = ahead.contiguous();
    const int64_t* p = a.data_ptr<int64_t>();
    for (int64_t i = 0; i < e - b; ++i) ranks.push_back(p[i] + 1);
  }
  return metrics_from_ranks(ranks, d);
}

ClassRetrievalMetrics class_retrieval(const at::Tensor& features, const at::Tensor& labels,
                                      int64_t chunk) {
  CONTRA_CHECK(features.dim() == 2, "class retrieval needs features [N, d], got ", features.sizes());
  CONTRA_CHECK(labels.dim() == 1 && labels.size(0) == features.size(0),
               "class retrieval needs one label per item, got ", labels.sizes(), " for ",
               features.size(0), " items");
  const int64_t n = features.size(0);
  ClassRetrievalMetrics m;
  if (n < 2) return m;
  auto y = labels.to(at::kLong).cpu().contiguous();
  CONTRA_CHECK(y.min().item<int64_t>() >= 0, "class retrieval needs a label (>= 0) for every item");
  auto f = features.to(at::kFloat).cpu();
  f = f / f.norm(2, {1}, true).clamp_min(1e-12);
  const auto counts = at::bincount(y);
  const int64_t step = std::max<int64_t>(1, chunk);
  double r1 = 0, r5 = 0, r10 = 0, ap = 0;
  for (int64_t b = 0; b < n; b += step) {
    const int64_t e = std::min(n, b + step);
    auto s = at::matmul(f.slice(0, b, e), f.t());                                  // [e - b, n]
    auto self = at::arange(b, e, at::kLong).unsqueeze(1);
    s.scatter_(1, self, -std::numeric_limits<float>::infinity());                  // never itself
    auto yq = y.slice(0, b, e);
    auto rel = y.unsqueeze(0).eq(yq.unsqueeze(1));
    rel.scatter_(1, self, false);
    // Ties against the query: irrelevant items first, then a stable sort by score keeps that.
    auto by_rel = std::get<1>(at::sort(rel.to(at::kByte), /*stable=*/true, 1, /*descending=*/false));
    auto order = std::get<1>(at::sort(s.gather(1, by_rel), /*stable=*/true, 1, /*descending=*/true));
    auto ranked = rel.gather(1, by_rel.gather(1, order)).to(at::kFloat);          // [e - b, n]
    auto r = counts.index_select(0, yq) - 1;                                        // relevant per query
    auto valid = r.gt(0);
    auto hits = ranked.cumsum(1);
    auto hit_within = [&](int64_t k) {
      return hits.select(1, std::min(k, n) - 1).gt(0).logical_and(valid).sum().item<double>();
    };
    r1 += hit_within(1);
    r5 += hit_within(5);
    r10 += hit_within(10);
    auto positions = at::arange(1, n + 1, at::kFloat).unsqueeze(0);                // 1-based ranks
    auto within_r = positions.le(r.unsqueeze(1).to(at::kFloat));
    auto precision = (hits / positions) * ranked * within_r.to(at::kFloat);
    auto ap_rows = precision.sum(1) / r.clamp_min(1).to(at::kFloat);
    ap += (ap_rows * valid.to(at::kFloat)).sum().item<double>();
    m.queries += valid.sum().item<int64_t>();
  }
  if (m.queries == 0) return m;
  const double q = double(m.queries);
  m.recall_at_1 = r1 / q;
  m.recall_at_5 = r5 / q;
  m.recall_at_10 = r10 / q;
  m.map_at_r = ap / q;
  return m;
}

std::vector<std::string> TfIdf::words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c >= 0x80) {
      cur += char(c < 0x80 ? std::tolower(c) : c);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

TfIdf::TfIdf(const std::vector<std::string>& documents) : documents_(int64_t(documents.size())) {
  CONTRA_CHECK(!documents.empty(), "TF-IDF needs at least one document");
  std::vector<std::unordered_map<int64_t, float>> counts(documents.size());
  std::vector<int64_t> df;
  for (size_t i = 0; i < documents.size(); ++i) {
    for (const auto& w : words(documents[i])) {
      auto [it, added] = ids_.emplace(w, int64_t(df.size()));
      if (added) df.push_back(0);
      if (counts[i][it->second]++ == 0) ++df[size_t(it->second)];
    }
  }
  idf_.resize(df.size());
  for (size_t w = 0; w < df.size(); ++w)
    idf_[w] = float(std::log((1.0 + double(documents_)) / (1.0 + double(df[w]))) + 1.0);
  postings_.resize(df.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    double norm = 0;
    for (auto& [w, c] : counts[i]) c *= idf_[size_t(w)], norm += double(c) * c;
    norm = std::sqrt(norm);
    for (const auto& [w, c] : counts[i])
      postings_[size_t(w)].emplace_back(int64_t(i), float(double(c) / norm));
  }
}

std::vector<std::pair<int64_t, float>> TfIdf::vector(const std::string& text) const {
  std::unordered_map<int64_t, float> tf;
  for (const auto& w : words(text)) {
    auto it = ids_.find(w);
    if (it != ids_.end()) tf[it->second] += 1;
  }
  std::vector<std::pair<int64_t, float>> v(tf.begin(), tf.end());
  double norm = 0;
  for (auto& [w, x] : v) x *= idf_[size_t(w)], norm += double(x) * x;
  norm = std::sqrt(norm);
  for (auto& [w, x] : v) x = float(double(x) / norm);
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<float> TfIdf::scores(const std::string& text) const {
  std::vector<float> s(size_t(documents_), 0.0f);
  for (const auto& [w, x] : vector(text))
    for (const auto& [doc, y] : postings_[size_t(w)]) s[size_t(doc)] += x * y;
  return s;
}

RetrievalMetrics tfidf_retrieval(const std::vector<std::string>& queries,
                                 const std::vector<std::string>& documents,
                                 const std::vector<int64_t>& targets) {
  CONTRA_CHECK(queries.size() == targets.size(), "TF-IDF retrieval needs one target per query");
  TfIdf tfidf(documents);
  std::vector<int64_t> ranks;
  ranks.reserve(queries.size());
  for (size_t q = 0; q < queries.size(); ++q) {
    const int64_t t = targets[q];
    CONTRA_CHECK(t >= 0 && t < int64_t(documents.size()), "retrieval targets must be in [0, ",
                 documents.size(), ")");
    const auto s = tfidf.scores(queries[q]);
    const float own = s[size_t(t)];
    int64_t ahead = 0;
    for (size_t d = 0; d < s.size(); ++d) ahead += int64_t(d) != t && s[d] >= own;
    ranks.push_back(ahead + 1);
  }
  return metrics_from_ranks(ranks, int64_t(documents.size()));
}

}  // namespace contra::eval
