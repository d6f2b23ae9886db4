#include "contra/eval/tsne.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "contra/core/rng.h"
#include "eval_checks.h"
#include "tsne_kernel.h"

namespace contra::eval {
namespace {

/// Rows of the sigma search done at once: their distances take O(chunk x N) float64.
constexpr int64_t kTsneSearchChunk = 256;

/// Squared Euclidean distances between rows `a` [m, d] and all rows `x` [N, d] (float64, >= 0).
at::Tensor tsne_sq_distances(const at::Tensor& a, const at::Tensor& x, const at::Tensor& x_sq) {
  const auto a_sq = (a * a).sum(1, /*keepdim=*/true);
  return (a_sq + x_sq.unsqueeze(0) - 2.0 * torch::mm(a, x.t())).clamp_min_(0.0);
}

/// One row's search: `d` the squared distances to all n points (`self` the row's own index),
/// writes p_{j|i} into `p` and returns (beta, perplexity). Newton's method on H(beta) (dH/dbeta =
/// -beta Var_p(d)), kept inside the bracket [lo, hi] that each evaluation narrows, bisecting (or
/// doubling, while unbracketed) when a Newton step would leave it: a handful of passes per row.
std::pair<double, double> tsne_search_row(const double* d, int64_t n, int64_t self, double perplexity,
                                          double tolerance, int64_t max_steps, double* p) {
  // Shifting by the nearest distance leaves p and H unchanged and keeps exp in range.
  double nearest = std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < n; ++j)
    if (j != self) nearest = std::min(nearest, d[j]);
  const double target = std::log(perplexity);
  double beta = 1.0, lo = 0.0, hi = std::numeric_limits<double>::infinity(), entropy = 0.0;
  for (int64_t step = 0;; ++step) {
    double sum = 0, mean = 0, second = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double dj = j == self ? 0.0 : d[j] - nearest;
      const double pj = j == self ? 0.0 : std::exp(-beta * dj);
      p[j] = pj;
      sum += pj;
      mean += pj * dj;
      second += pj * dj * dj;
    }
    mean /= sum;
    second /= sum;
    entropy = std::log(sum) + beta * mean;
    const double diff = entropy - target;
    if (std::abs(diff) <= tolerance || step >= max_steps) {
      for (int64_t j = 0; j < n; ++j) p[j] /= sum;
      return {beta, std::exp(entropy)};
    }
    // Entropy too high: the Gaussian is too wide, beta must grow.
    (diff > 0 ? lo : hi) = beta;
    const double slope = -beta * (second - mean * mean);
    const double newton = slope < 0 ? beta - diff / slope : std::numeric_limits<double>::quiet_NaN();
    if (newton > lo && newton < hi)
      beta = newton;
    else
      beta = std::isinf(hi) ? beta * 2.0 : (lo + hi) / 2.0;
  }
}

/// Rows [begin, begin + m) of the conditional P from their squared distances `d` [m, N]
/// (float64, contiguous), rows in parallel: [m, N] P, [m] beta, [m] perplexity.
TsneConditional tsne_search_rows(const at::Tensor& d, int64_t begin, double perplexity,
                                 double tolerance, int64_t max_steps) {
  const int64_t m = d.size(0), n = d.size(1);
  TsneConditional out;
  out.p = torch::empty({m, n}, torch::kDouble);
  out.beta = torch::empty({m}, torch::kDouble);
  out.perplexity = torch::empty({m}, torch::kDouble);
  const double* dp = d.data_ptr<double>();
  double *pp = out.p.data_ptr<double>(), *bp = out.beta.data_ptr<double>(), *hp = out.perplexity.data_ptr<double>();
  at::parallel_for(0, m, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      std::tie(bp[r], hp[r]) = tsne_search_row(dp + r * n, n, begin + r, perplexity, tolerance, max_steps, pp + r * n);
  });
  return out;
}

void tsne_check_perplexity(int64_t n, double perplexity) {
  CONTRA_CHECK(n >= 3, "t-SNE needs at least 3 points, got ", n);
  CONTRA_CHECK(perplexity > 1 && perplexity < double(n - 1), "t-SNE: perplexity must be in (1, ", n - 1,
               ") for ", n, " points, got ", perplexity);
}

void tsne_check_pair_inputs(const at::Tensor& p, const at::Tensor& y) {
  CONTRA_CHECK(y.defined() && y.dim() == 2 && y.size(1) == 2, "t-SNE: the map must be [N, 2], got ",
               detail::shape_str(y));
  CONTRA_CHECK(p.defined() && p.dim() == 2 && p.size(0) == y.size(0) && p.size(1) == y.size(0),
               "t-SNE: P must be [N, N] for a map of ", y.size(0), " points, got ", detail::shape_str(p));
}

/// N(0, 1e-4) per coordinate (sd 1e-2), Box-Muller on contra::Rng.
at::Tensor tsne_initial_map(int64_t n, uint64_t seed) {
  auto y = torch::empty({n, 2}, torch::kDouble);
  double* out = y.data_ptr<double>();
  Rng rng(derive_seed(seed, 0x74736e65ull /* "tsne" */));
  for (int64_t k = 0; k < 2 * n; k += 2) {
    const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
    const double r = std::sqrt(-2.0 * std::log(u1)) * 1e-2;
    out[k] = r * std::cos(2 * M_PI * u2);
    out[k + 1] = r * std::sin(2 * M_PI * u2);
  }
  return y;
}

}  // namespace

TsneConditional tsne_conditional(const at::Tensor& sq_distances, double perplexity, double tolerance,
                                 int64_t max_steps) {
  torch::NoGradGuard no_grad;
  const auto& d = sq_distances;
  CONTRA_CHECK(d.defined() && d.dim() == 2 && d.size(0) == d.size(1),
               "t-SNE: squared distances must be a square [N, N] matrix, got ", detail::shape_str(d));
  const int64_t n = d.size(0);
  tsne_check_perplexity(n, perplexity);
  CONTRA_CHECK(tolerance > 0 && max_steps > 0, "t-SNE: tolerance and max_steps must be > 0");
  const auto dd = d.to(torch::kDouble).contiguous();
  CONTRA_CHECK(torch::isfinite(dd).all().item<bool>(), "t-SNE: distances contain NaN or Inf");
  TsneConditional out;
  out.p = torch::empty({n, n}, torch::kDouble);
  out.beta = torch::empty({n}, torch::kDouble);
  out.perplexity = torch::empty({n}, torch::kDouble);
  for (int64_t i = 0; i < n; i += kTsneSearchChunk) {
    const int64_t j = std::min(n, i + kTsneSearchChunk);
    const auto rows = tsne_search_rows(dd.slice(0, i, j).contiguous(), i, perplexity, tolerance, max_steps);
    out.p.slice(0, i, j).copy_(rows.p);
    out.beta.slice(0, i, j).copy_(rows.beta);
    out.perplexity.slice(0, i, j).copy_(rows.perplexity);
  }
  return out;
}

at::Tensor tsne_joint_p(const at::Tensor& x, double perplexity, at::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  CONTRA_CHECK(x.defined() && x.dim() == 2 && x.size(1) > 0, "t-SNE: points must be [N, d], got ",
               detail::shape_str(x));
  const auto xd = x.to(torch::kDouble).contiguous();
  CONTRA_CHECK(torch::isfinite(xd).all().item<bool>(), "t-SNE: points contain NaN or Inf");
  const int64_t n = xd.size(0);
  tsne_check_perplexity(n, perplexity);
  const auto x_sq = (xd * xd).sum(1);
  // The sigma search chunk by chunk, straight into a matrix of the requested type.
  auto p = torch::empty({n, n}, dtype);
  for (int64_t i = 0; i < n; i += kTsneSearchChunk) {
    const int64_t j = std::min(n, i + kTsneSearchChunk);
    p.slice(0, i, j).copy_(tsne_search_rows(tsne_sq_distances(xd.slice(0, i, j), xd, x_sq).contiguous(), i,
                                            perplexity, 1e-5, 200).p);
  }
  p.add_(p.t().clone()).div_(2.0 * double(n));
  return p;
}

double tsne_kl(const at::Tensor& p, const at::Tensor& y) {
  torch::NoGradGuard no_grad;
  tsne_check_pair_inputs(p, y);
  const auto yd = y.to(torch::kDouble);
  const auto pd = p.to(torch::kDouble);
  const int64_t n = yd.size(0);
  const auto sq = (yd * yd).sum(1);
  auto num = 1.0 / (1.0 + (sq.unsqueeze(0) + sq.unsqueeze(1) - 2.0 * torch::mm(yd, yd.t())).clamp_min(0.0));
  num.fill_diagonal_(0.0);
  const auto q = num / num.sum();
  const auto off = ~torch::eye(n, torch::kBool);
  const auto mask = off & (pd > 0);
  return (pd.masked_select(mask) * torch::log(pd.masked_select(mask) / q.masked_select(mask))).sum().item<double>();
}

at::Tensor tsne_gradient(const at::Tensor& p, const at::Tensor& y, double exaggeration) {
  tsne_check_pair_inputs(p, y);
  CONTRA_CHECK(p.scalar_type() == torch::kFloat || p.scalar_type() == torch::kDouble,
               "t-SNE: P must be float32 or float64, got ", p.scalar_type());
  const auto pc = p.contiguous();
  const auto yd = y.to(torch::kDouble);
  const auto y0 = yd.select(1, 0).contiguous(), y1 = yd.select(1, 1).contiguous();
  const int64_t n = yd.size(0);
  auto attr = torch::empty({n, 2}, torch::kDouble), rep = torch::empty({n, 2}, torch::kDouble);
  auto z = torch::empty({n}, torch::kDouble);
  double *a = attr.data_ptr<double>(), *r = rep.data_ptr<double>(), *zr = z.data_ptr<double>();
  const double *c0 = y0.data_ptr<double>(), *c1 = y1.data_ptr<double>();
  // Each row's sums are its own (fixed order), so the result does not depend on the threads.
  at::parallel_for(0, n, 16, [&](int64_t r0, int64_t r1) {
    if (pc.scalar_type() == torch::kFloat)
      detail::tsne_pair_rows(pc.data_ptr<float>(), c0, c1, n, r0, r1, a, r, zr);
    else
      detail::tsne_pair_rows(pc.data_ptr<double>(), c0, c1, n, r0, r1, a, r, zr);
  });
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += zr[i];  // in order: deterministic
  return 4.0 * (exaggeration * attr - rep / total);
}

at::Tensor tsne(const at::Tensor& x, const TsneOptions& o) {
  torch::NoGradGuard no_grad;
  CONTRA_CHECK(o.iterations() >= 0 && o.exaggeration_iterations() >= 0 && o.momentum_switch() >= 0,
               "t-SNE: iteration counts must be >= 0");
  CONTRA_CHECK(o.learning_rate() >= 0, "t-SNE: learning_rate must be >= 0 (0 = automatic), got ",
               o.learning_rate());
  CONTRA_CHECK(o.early_exaggeration() >= 1, "t-SNE: early_exaggeration must be >= 1, got ",
               o.early_exaggeration());
  const auto p = tsne_joint_p(x, o.perplexity(), torch::kFloat);
  const int64_t n = p.size(0);
  const double eta = o.learning_rate() > 0 ? o.learning_rate()
                                           : std::max(double(n) / o.early_exaggeration() / 4.0, 50.0);
  auto y = tsne_initial_map(n, o.seed());
  auto update = torch::zeros_like(y), gains = torch::ones_like(y);
  for (int64_t it = 0; it < o.iterations(); ++it) {
    const double exaggeration = it < o.exaggeration_iterations() ? o.early_exaggeration() : 1.0;
    const double momentum = it < o.momentum_switch() ? o.initial_momentum() : o.final_momentum();
    const auto grad = tsne_gradient(p, y, exaggeration);
    const auto flipped = (grad > 0) != (update > 0);
    gains = torch::where(flipped, gains + 0.2, gains * 0.8).clamp_min_(0.01);
    update = momentum * update - eta * gains * grad;
    y = y + update;
    y = y - y.mean(0, true);
  }
  return y;
}

}  // namespace contra::eval
