#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include "contra/losses/nt_xent.h"
#include "contra/losses/similarity.h"

namespace contra::losses {

/// How per-query losses are combined.
enum class Reduction {
  kMean,  ///< scalar, mean over the N queries
  kSum,   ///< scalar, sum over the N queries
  kNone,  ///< [N], one loss per query
};

/// InfoNCE: "Representation Learning with Contrastive Predictive Coding" (van den Oord et al.,
/// 2018). Query i's positive is key i; its negatives are any of: the other keys of the batch
/// (in_batch), the other queries of the batch (in_batch_queries), a shared bank [M, d] (queue or
/// memory bank) and per-query negatives [N, K, d]. All of them are pooled into one set of
/// Nneg negatives per query.
///
/// Two estimators of the negative term are options of the same loss:
///  - debiased: "Debiased Contrastive Learning" (Chuang et al., 2020), class prior tau_plus;
///  - hard-negative weighting: "Contrastive Learning with Hard Negative Samples" (Robinson et
///    al., 2021), concentration beta.
/// With p = exp(s+/t), n_i = exp(s_i/t), w_i = exp(beta s_i/t) / mean_j exp(beta s_j/t):
///   Ng   = Nneg * max((mean_i(w_i n_i) - tau_plus p) / (1 - tau_plus), exp(-1/t))
///   loss = -log(p / (p + Ng)).
/// The floor exp(-1/t) is the paper's: the smallest exp(s/t) a cosine similarity can give; it
/// keeps the debiased estimate positive. It is applied only when debias_tau_plus > 0 (with
/// tau_plus = 0 the estimate is a mean of positive terms and needs none), so tau_plus = 0 and
/// beta = 0 give plain InfoNCE, -log(p / (p + sum_i n_i)), for every similarity. Note the floor
/// assumes cosine similarity; with dot or euclidean similarity it is only a positivity guard.
/// Everything is computed in log space (log-sum-exp), so t = 0.01 with logits ~100 stays finite.
///
/// Decoupled contrastive learning: "Decoupled Contrastive Learning" (Yeh et al., 2022) drops the
/// positive from the denominator, loss = -w s+/t + log Ng, with w = 1 (DCL) or, for
/// decoupled_sigma > 0, the DCLW weight w_i = 2 - exp(s+_i/sigma) / mean_j exp(s+_j/sigma)
/// (treated as a constant: no gradient flows through the weight).
///
/// A negative mask (what a miner of negatives/ chose) picks which of the pooled negatives each
/// query uses; Nneg is then that query's own count. A query left with no negative is left out
/// of the loss (and of the mean); the share of queries that entered is reported as `active`.
struct InfoNCEOptions {
  /// Softmax temperature, > 0 (default 0.1).
  TORCH_ARG(double, temperature) = 0.1;
  /// Similarity between embeddings (default cosine).
  TORCH_ARG(Similarity, similarity) = Similarity::kCosine;
  /// Use the other N - 1 keys of the batch as negatives (default true).
  TORCH_ARG(bool, in_batch) = true;
  /// Also use the other N - 1 queries as negatives, as NT-Xent does (default false).
  TORCH_ARG(bool, in_batch_queries) = false;
  /// How per-query losses are combined (default mean).
  TORCH_ARG(Reduction, reduction) = Reduction::kMean;
  /// Debiasing class prior tau_plus in [0, 1) (default 0: no debiasing).
  TORCH_ARG(double, debias_tau_plus) = 0.0;
  /// Hard-negative concentration beta >= 0 (default 0: uniform weights).
  TORCH_ARG(double, hard_beta) = 0.0;
  /// Leave the positive out of the denominator (decoupled contrastive loss) (default false).
  TORCH_ARG(bool, decoupled) = false;
  /// Decoupled: DCLW weighting width sigma >= 0 (default 0: unweighted DCL).
  TORCH_ARG(double, decoupled_sigma) = 0.0;
  /// Score only queries [anchor_begin, anchor_end) (anchor_end -1: to the last); all queries and
  /// keys stay candidates (in-batch negatives, DCLW's normalisation). With several processes each
  /// scoring its own queries' rows, the mean of their losses is the whole batch's when every
  /// row enters the loss (default: all rows).
  TORCH_ARG(int64_t, anchor_begin) = 0;
  TORCH_ARG(int64_t, anchor_end) = -1;
};

/// Each query's similarity to its positive and to its pooled negatives (before temperature).
struct PooledSimilarities {
  at::Tensor positive;  ///< [N]
  at::Tensor negative;  ///< [N, Nneg]: other keys, other queries, bank, per-query, in that order
};

namespace functional {
/// queries: [N, d]; keys: [N, d], key i is the positive of query i.
/// bank: optional [M, d] negatives shared by all queries (undefined tensor: none).
/// per_query_negatives: optional [N, K, d], row i holds query i's own negatives.
/// At least one negative per query is required. The result's loss is a scalar for kMean and
/// kSum and [N] for kNone; positive_sim / negative_sim are the mean positive and mean negative
/// similarity over the negatives used (unweighted, before temperature); top1 is the share of
/// queries whose positive scores at least as high as every candidate negative (before negative
/// sampling, so that it stays comparable across samplers).
/// negative_mask: optional [N, Nneg] bool over the pooled negatives, true = used.
/// With an anchor range [b, e), N in the shapes of the result, the mask and per-query
/// negatives' rows is e - b, and the mean runs over those rows.
ContrastiveOutput info_nce(const at::Tensor& queries, const at::Tensor& keys,
                           const InfoNCEOptions& options = {}, const at::Tensor& bank = {},
                           const at::Tensor& per_query_negatives = {},
                           const at::Tensor& negative_mask = {});

/// The similarities info_nce works on, in its pooling order (for miners; differentiable).
/// Checks the inputs as info_nce does.
PooledSimilarities pooled_similarities(const at::Tensor& queries, const at::Tensor& keys,
                                       const InfoNCEOptions& options = {},
                                       const at::Tensor& bank = {},
                                       const at::Tensor& per_query_negatives = {});
}  // namespace functional

}  // namespace contra::losses
