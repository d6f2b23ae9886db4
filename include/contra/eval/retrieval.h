#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace contra::eval {

/// Retrieval quality: each query has one relevant document (its target).
struct RetrievalMetrics {
  double recall_at_1 = 0, recall_at_10 = 0;  ///< share of queries whose target ranks <= k
  double mrr = 0;                            ///< mean of 1 / rank
  int64_t queries = 0, documents = 0;
};

/// Metrics from the 1-based rank of each query's target.
RetrievalMetrics metrics_from_ranks(const std::vector<int64_t>& ranks, int64_t documents);

/// Ranks documents by cosine similarity. queries: [Q, d], documents: [D, d], targets: [Q] int64 in
/// [0, D). A target's rank is 1 + the number of other documents scoring at least as high, so ties
/// count against the query (a constant embedding scores rank D, not 1). Processes queries in
/// chunks of `chunk` rows.
RetrievalMetrics retrieval_metrics(const at::Tensor& queries, const at::Tensor& documents,
                                   const at::Tensor& targets, int64_t chunk = 1024);

/// Retrieval by class (metric learning's protocol, Musgrave et al. 2020): every item queries all
/// the others (itself left out); the relevant ones share its label.
struct ClassRetrievalMetrics {
  /// Share of queries with at least one relevant item in their top k.
  double recall_at_1 = 0, recall_at_5 = 0, recall_at_10 = 0;
  /// Mean over queries of AP@R: with R the query's relevant items, (1/R) sum over ranks i <= R
  /// of precision@i at each relevant rank i.
  double map_at_r = 0;
  /// Queries counted: items whose class has at least one other item (the rest have nothing to
  /// find and are left out).
  int64_t queries = 0;
};

/// ClassRetrievalMetrics of `features` [N, d] (cosine similarity) with `labels` [N] (>= 0).
/// Ties count against the query: among items scoring the same, the irrelevant ones rank first
/// (a constant embedding finds nothing). Processes `chunk` queries at a time: memory O(chunk x N).
ClassRetrievalMetrics class_retrieval(const at::Tensor& features, const at::Tensor& labels,
                                      int64_t chunk = 512);

/// Word-level TF-IDF with cosine similarity. Words: maximal runs of ASCII letters and digits or
/// non-ASCII (UTF-8) bytes, ASCII lower-cased. tf = count in the text; idf over the documents,
/// smoothed as scikit-learn's: ln((1 + D) / (1 + df)) + 1; vectors L2-normalised. Query words
/// absent from every document are ignored.
class TfIdf {
 public:
  explicit TfIdf(const std::vector<std::string>& documents);
  /// Sparse L2-normalised vector of `text`: (word id, weight) pairs sorted by id.
  std::vector<std::pair<int64_t, float>> vector(const std::string& text) const;
  /// Cosine similarity of `text` to every document: [D].
  std::vector<float> scores(const std::string& text) const;
  int64_t vocabulary() const { return int64_t(idf_.size()); }
  static std::vector<std::string> words(const std::string& text);

 private:
  std::unordered_map<std::string, int64_t> ids_;
  std::vector<float> idf_;
  /// Inverted index: word id -> (document, weight) of each document holding it.
  std::vector<std::vector<std::pair<int64_t, float>>> postings_;
  int64_t documents_ = 0;
};

/// TF-IDF retrieval baseline on the same task and with the same rank rule as retrieval_metrics.
RetrievalMetrics tfidf_retrieval(const std::vector<std::string>& queries,
                                 const std::vector<std::string>& documents,
                                 const std::vector<int64_t>& targets);

}  // namespace contra::eval
