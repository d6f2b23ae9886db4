#include "contra/eval/geometry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include <torch/torch.h>

#include "contra/core/rng.h"
#include "eval_checks.h"

namespace contra::eval {
namespace {

/// Rows of `x` [N, d] as float, checked (2-D, >= min_rows rows, finite).
at::Tensor geometry_rows(const at::Tensor& x, int64_t min_rows, const char* what) {
  CONTRA_CHECK(x.defined() && x.dim() == 2, what, ": features must be 2-D [N, d], got shape ",
               detail::shape_str(x));
  CONTRA_CHECK(x.size(0) >= min_rows, what, ": needs at least ", min_rows, " rows, got shape ",
               detail::shape_str(x));
  CONTRA_CHECK(x.size(1) > 0, what, ": features have zero dimensions");
  return detail::finite_float(x, what);
}

at::Tensor geometry_unit_rows(const at::Tensor& x) {
  return torch::nn::functional::normalize(
      x, torch::nn::functional::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
}

}  // namespace

double alignment(const at::Tensor& x, const at::Tensor& y, double alpha) {
  torch::NoGradGuard no_grad;
  const auto a = geometry_rows(x, 1, "alignment"), b = geometry_rows(y, 1, "alignment");
  CONTRA_CHECK(a.sizes() == b.sizes(), "alignment: the two views' shapes differ: ",
               detail::shape_str(a), " vs ", detail::shape_str(b));
  CONTRA_CHECK(alpha > 0, "alignment: alpha must be > 0, got ", alpha);
  const auto dist = (geometry_unit_rows(a) - geometry_unit_rows(b)).to(at::kDouble).norm(2, 1);
  return dist.pow(alpha).mean().item<double>();
}

double uniformity(const at::Tensor& features, const UniformityOptions& options) {
  torch::NoGradGuard no_grad;
  CONTRA_CHECK(options.max_points() >= 2, "uniformity: max_points must be >= 2, got ", options.max_points());
  CONTRA_CHECK(options.chunk() >= 1, "uniformity: chunk must be >= 1, got ", options.chunk());
  CONTRA_CHECK(options.t() > 0, "uniformity: t must be > 0, got ", options.t());
  auto x = geometry_rows(features, 2, "uniformity");
  const int64_t n_all = x.size(0);
  if (n_all > options.max_points()) {
    // A seeded sample without replacement: the first max_points of a partial Fisher-Yates.
    std::vector<int64_t> order(static_cast<size_t>(n_all));
    std::iota(order.begin(), order.end(), int64_t{0});
    Rng rng(derive_seed(options.seed(), 0x756e69666f726dull /* "uniform" */));
    for (int64_t i = 0; i < options.max_points(); ++i)
      std::swap(order[size_t(i)], order[size_t(i + int64_t(rng.below(uint64_t(n_all - i))))]);
    order.resize(size_t(options.max_points()));
    std::sort(order.begin(), order.end());
    x = x.index_select(0, torch::tensor(order, torch::kLong));
  }
  x = geometry_unit_rows(x);
  const int64_t n = x.size(0);
  const auto xt = x.t();
  double total = 0;
  for (int64_t start = 0; start < n; start += options.chunk()) {
    const int64_t len = std::min(options.chunk(), n - start);
    // ||a - b||^2 = 2 - 2 a.b on unit vectors (clamped: rounding can make it slightly negative).
    auto d2 = (2.0 - 2.0 * torch::mm(x.narrow(0, start, len), xt)).clamp_min_(0.0);
    auto k = (d2 * -options.t()).exp_();
    k.diagonal(/*offset=*/start).zero_();  // leave out i == j (row r is item start + r)
    total += k.sum(at::kDouble).item<double>();
  }
  return std::log(total / (double(n) * double(n - 1)));
}

double effective_rank(const at::Tensor& features, double eps) {
  torch::NoGradGuard no_grad;
  const auto x = geometry_rows(features, 1, "effective_rank");
  const auto s = at::linalg_svdvals(x).to(at::kDouble);
  const double sum = s.sum().item<double>();
  CONTRA_CHECK(sum > 0, "effective_rank: the features are all zero");
  const auto p = s / sum + eps;
  return std::exp(-(p * p.log()).sum().item<double>());
}

double feature_std(const at::Tensor& features) {
  torch::NoGradGuard no_grad;
  const auto x = geometry_unit_rows(geometry_rows(features, 2, "feature_std")).to(at::kDouble);
  const auto centred = x - x.mean(0, /*keepdim=*/true);
  return (centred.pow(2).sum(0) / double(x.size(0) - 1)).sqrt().mean().item<double>();
}

double feature_std_reference(int64_t dim) {
  CONTRA_CHECK(dim >= 1, "feature_std_reference: dim must be >= 1, got ", dim);
  return 1.0 / std::sqrt(double(dim));
}

GeometryMetrics geometry(const at::Tensor& features, const at::Tensor& view1, const at::Tensor& view2,
                         const UniformityOptions& options) {
  GeometryMetrics g;
  g.alignment = view1.defined() && view2.defined() ? alignment(view1, view2)
                                                   : std::numeric_limits<double>::quiet_NaN();
  g.uniformity = uniformity(features, options);
  g.effective_rank = effective_rank(features);
  g.feature_std = feature_std(features);
  g.feature_std_reference = feature_std_reference(features.size(1));
  return g;
}

}  // namespace contra::eval
