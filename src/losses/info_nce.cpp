#include "contra/losses/info_nce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::losses::functional {
namespace {

/// Similarity of each query to its own set of candidates. q: [N, d], c: [N, K, d] -> [N, K].
/// Same formulas as similarity_matrix, so a shared set gives the same values as a bank.
at::Tensor paired_similarity(const at::Tensor& q, const at::Tensor& c, Similarity kind) {
  switch (kind) {
    case Similarity::kCosine: {
      namespace F = torch::nn::functional;
      auto qn = F::normalize(q, F::NormalizeFuncOptions().dim(1).eps(1e-12));
      auto cn = F::normalize(c, F::NormalizeFuncOptions().dim(2).eps(1e-12));
      return torch::bmm(cn, qn.unsqueeze(2)).squeeze(2);
    }
    case Similarity::kDot:
      return torch::bmm(c, q.unsqueeze(2)).squeeze(2);
    case Similarity::kNegSquaredEuclidean:
    case Similarity::kNegEuclidean: {
      auto qq = q.pow(2).sum(1, true);                          // [N, 1]
      auto cc = c.pow(2).sum(2);                                // [N, K]
      auto dot = torch::bmm(c, q.unsqueeze(2)).squeeze(2);      // [N, K]
      auto d2 = (qq + cc - 2 * dot).clamp_min(0);
      return kind == Similarity::kNegEuclidean ? -d2.clamp_min(1e-12).sqrt() : -d2;
    }
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled Similarity");
}

/// The entries of s [m, N] except (i, offset + i), row by row: [m, N - 1] (offset 0 and m = N:
/// the off-diagonal entries of a square matrix).
at::Tensor off_diagonal(const at::Tensor& s, int64_t offset = 0) {
  const int64_t m = s.size(0), n = s.size(1);
  auto cols = torch::arange(offset, offset + m, s.options().dtype(torch::kLong)).unsqueeze(1);
  auto keep = torch::ones({m, n}, s.options().dtype(torch::kBool)).scatter_(1, cols, false);
  return s.masked_select(keep).view({m, n - 1});
}

/// The scored rows [begin, end) of InfoNCE's queries.
std::pair<int64_t, int64_t> anchor_rows(const InfoNCEOptions& o, int64_t n) {
  const int64_t b = o.anchor_begin(), e = o.anchor_end() < 0 ? n : o.anchor_end();
  CONTRA_CHECK(0 <= b && b < e && e <= n, "InfoNCE anchor rows [", b, ", ", e,
               ") must be a non-empty range within [0, ", n, ")");
  return {b, e};
}

bool finite_everywhere(const at::Tensor& t) { return torch::isfinite(t).all().item<bool>(); }

}  // namespace

PooledSimilarities pooled_similarities(const at::Tensor& queries, const at::Tensor& keys,
                                       const InfoNCEOptions& options, const at::Tensor& bank,
                                       const at::Tensor& per_query_negatives) {
  const double t = options.temperature();
  const double tau_plus = options.debias_tau_plus();
  const double beta = options.hard_beta();
  CONTRA_CHECK(t > 0 && std::isfinite(t), "loss.temperature must be > 0, got ", t);
  CONTRA_CHECK(tau_plus >= 0 && tau_plus < 1, "loss.debias_tau_plus must be in [0, 1), got ",
               tau_plus);
  CONTRA_CHECK(beta >= 0 && std::isfinite(beta), "loss.hard_beta must be >= 0, got ", beta);
  CONTRA_CHECK(queries.defined() && keys.defined() && queries.dim() == 2 &&
                   queries.sizes() == keys.sizes(),
               "InfoNCE needs queries [N, d] and positive keys [N, d] of equal shape, got ",
               queries.defined() ? queries.sizes() : at::IntArrayRef{}, " and ",
               keys.defined() ? keys.sizes() : at::IntArrayRef{});
  const int64_t n = queries.size(0), d = queries.size(1);
  CONTRA_CHECK(n >= 1, "InfoNCE needs at least 1 query, got ", queries.sizes());
  if (bank.defined())
    CONTRA_CHECK(bank.dim() == 2 && bank.size(1) == d,
                 "InfoNCE negative bank must be [M, d] matching queries ", queries.sizes(),
                 ", got ", bank.sizes());
  if (per_query_negatives.defined())
    CONTRA_CHECK(per_query_negatives.dim() == 3 && per_query_negatives.size(0) == n &&
                     per_query_negatives.size(2) == d,
                 "InfoNCE per-query negatives must be [N, K, d] matching queries ",
                 queries.sizes(), ", got ", per_query_negatives.sizes());
  const int64_t num_neg = (options.in_batch() ? n - 1 : 0) +
                          (options.in_batch_queries() ? n - 1 : 0) +
                          (bank.defined() ? bank.size(0) : 0) +
                          (per_query_negatives.defined() ? per_query_negatives.size(1) : 0);
  CONTRA_CHECK(num_neg > 0,
               "InfoNCE has no negatives: in_batch=", options.in_batch() ? "true" : "false",
               " with N = ", n, ", in_batch_queries=",
               options.in_batch_queries() ? "true" : "false", ", bank ",
               bank.defined() ? "[" + std::to_string(bank.size(0)) + ", d]" : "none",
               ", per-query negatives ",
               per_query_negatives.defined()
                   ? "[N, " + std::to_string(per_query_negatives.size(1)) + ", d]"
                   : "none");
  CONTRA_CHECK(finite_everywhere(queries), "InfoNCE queries contain NaN or Inf");
  CONTRA_CHECK(finite_everywhere(keys), "InfoNCE keys contain NaN or Inf");
  if (bank.defined()) CONTRA_CHECK(finite_everywhere(bank), "InfoNCE negative bank contains NaN or Inf");
  if (per_query_negatives.defined())
    CONTRA_CHECK(finite_everywhere(per_query_negatives),
                 "InfoNCE per-query negatives contain NaN or Inf");

  const auto kind = options.similarity();
  // The scored rows: all of them, or [b, e) (one process's share of a global batch).
  const auto [b, e] = anchor_rows(options, n);
  const bool all_rows = b == 0 && e == n;
  const auto q = all_rows ? queries : queries.slice(0, b, e);
  // Similarities (before temperature): positive [m], negatives [m, Nneg].
  at::Tensor pos;
  std::vector<at::Tensor> negs;
  if (options.in_batch()) {
    auto s = similarity_matrix(q, keys, kind);                // [m, N]
    pos = s.diagonal(b);
    if (n > 1) negs.push_back(off_diagonal(s, b));
  } else {
    pos = paired_similarity(q, (all_rows ? keys : keys.slice(0, b, e)).unsqueeze(1), kind).squeeze(1);
  }
  if (options.in_batch_queries() && n > 1)
    negs.push_back(off_diagonal(similarity_matrix(q, queries, kind), b));
  if (bank.defined() && bank.size(0) > 0)
    negs.push_back(similarity_matrix(q, bank, kind));
  if (per_query_negatives.defined() && per_query_negatives.size(1) > 0)
    negs.push_back(paired_similarity(
        q, all_rows ? per_query_negatives : per_query_negatives.slice(0, b, e), kind));
  return {pos, negs.size() == 1 ? negs[0] : torch::cat(negs, 1)};
}

ContrastiveOutput info_nce(const at::Tensor& queries, const at::Tensor& keys,
                           const InfoNCEOptions& options, const at::Tensor& bank,
                           const at::Tensor& per_query_negatives, const at::Tensor& negative_mask) {
  const double t = options.temperature();
  const double tau_plus = options.debias_tau_plus();
  const double beta = options.hard_beta();
  auto sims = pooled_similarities(queries, keys, options, bank, per_query_negatives);
  const auto& pos = sims.positive;
  const auto& neg = sims.negative;
  const int64_t n = pos.size(0), num_neg = neg.size(1);  // n: the scored rows
  const double sigma = options.decoupled_sigma();
  CONTRA_CHECK(sigma >= 0 && std::isfinite(sigma), "loss.decoupled_sigma must be >= 0, got ",
               sigma);
  // Which negatives each query uses; empty rows drop out of the loss.
  const bool sampled = negative_mask.defined();
  at::Tensor use;     // [N, Nneg] bool, only when sampled
  at::Tensor active;  // [N] bool, only when sampled
  if (sampled) {
    CONTRA_CHECK(negative_mask.scalar_type() == torch::kBool && negative_mask.sizes() == neg.sizes(),
                 "InfoNCE negative mask must be bool [N, Nneg] = ", neg.sizes(), ", got ",
                 negative_mask.scalar_type(), " ", negative_mask.sizes());
    use = negative_mask.to(neg.device());
    active = use.any(1);
  }
  const auto minus_inf = -std::numeric_limits<double>::infinity();

  auto a = pos / t;  // log p   [N]
  auto b = neg / t;  // log n_i [N, Nneg]
  at::Tensor log_k;  // log Nneg per query, [N]
  if (sampled) {
    // Inactive rows get finite stand-ins (they are masked out of the loss below), so no
    // log-sum-exp runs over an all -inf row and no NaN reaches the gradient.
    auto keep = use | active.logical_not().unsqueeze(1);
    b = b.masked_fill(keep.logical_not(), minus_inf);
    log_k = keep.sum(1).to(b.scalar_type()).log();
  } else {
    log_k = torch::full({n}, std::log(double(num_neg)), b.options());
  }
  // log S = log(Nneg * mean_i(w_i n_i)). With w_i = e^{beta b_i} / mean_j e^{beta b_j}:
  //   Nneg * mean(w n) = Nneg * sum_i e^{(1+beta) b_i} / sum_j e^{beta b_j}.
  at::Tensor log_s = beta == 0 ? b.logsumexp(1)
                               : log_k + (b * (1 + beta)).logsumexp(1) - (b * beta).logsumexp(1);
  at::Tensor log_ng = log_s;
  if (tau_plus > 0) {
    // log(S - tau_plus Nneg p) = log S + log(1 - e^r), r = log(tau_plus Nneg) + a - log S;
    // defined for r < 0, otherwise the estimate is <= 0 and only the floor remains.
    auto r = std::log(tau_plus) + log_k + a - log_s;
    auto valid = r < 0;
    auto r_safe = torch::where(valid, r, torch::full_like(r, -1.0));  // keeps the unused branch finite
    auto debiased = log_s + torch::log(-torch::expm1(r_safe)) - std::log1p(-tau_plus);
    debiased = torch::where(valid, debiased, torch::full_like(debiased, minus_inf));
    // Floor Nneg * e^{-1/t} (Chuang et al.): log Nneg - 1/t.
    log_ng = torch::maximum(debiased, log_k - 1.0 / t);
  }
  at::Tensor per_query;  // [N]
  if (options.decoupled()) {
    at::Tensor w = torch::ones_like(a);
    if (sigma > 0) {
      // DCLW: 2 - exp(s+/sigma) / mean exp(s+/sigma) = 2 - N softmax(s+/sigma), the mean over
      // every query's positive (scored here or not).
      const auto [b, e] = anchor_rows(options, queries.size(0));
      at::Tensor all_pos = pos.detach();
      if (e - b < queries.size(0)) {
        torch::NoGradGuard no_grad;
        all_pos = paired_similarity(queries.detach(), keys.detach().unsqueeze(1),
                                    options.similarity()).squeeze(1);
      }
      auto ps = all_pos / sigma;
      w = 2 - double(all_pos.size(0)) * torch::softmax(ps, 0).slice(0, b, e);
    }
    per_query = log_ng - w * a;
  } else {
    // loss = -log(p / (p + Ng)) = logaddexp(log p, log Ng) - log p.
    per_query = torch::stack({a, log_ng}, 1).logsumexp(1) - a;
  }
  int64_t num_active = n;
  if (sampled) {
    per_query = per_query.masked_fill(active.logical_not(), 0.0);
    num_active = active.sum().item<int64_t>();
  }

  ContrastiveOutput out;
  switch (options.reduction()) {
    case Reduction::kMean: out.loss = per_query.sum() / double(std::max<int64_t>(num_active, 1)); break;
    case Reduction::kSum: out.loss = per_query.sum(); break;
    case Reduction::kNone: out.loss = per_query; break;
  }

  torch::NoGradGuard no_grad;
  auto p = pos.detach(), ng = neg.detach();
  out.positive_sim = p.mean().item<double>();
  if (sampled) {
    const double used = use.sum().item<double>();
    out.negative_sim = used > 0 ? ng.masked_select(use).sum().item<double>() / used : 0.0;
  } else {
    out.negative_sim = ng.mean().item<double>();
  }
  out.top1 = (p >= std::get<0>(ng.max(1))).to(torch::kDouble).mean().item<double>();
  out.active = double(num_active) / double(n);
  return out;
}

}  // namespace contra::losses::functional
