#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

namespace contra::eval {

/// Alignment (Wang & Isola 2020): the mean over positive pairs (row i of `x` with row i of `y`,
/// both [N, d]) of ||f(x_i) - f(y_i)||_2^alpha on L2-normalised rows. 0 = every pair maps to
/// one point; 4 (alpha 2) = every pair maps to opposite points. Throws contra::Error on shape
/// mismatch, an empty set or non-finite features.
double alignment(const at::Tensor& x, const at::Tensor& y, double alpha = 2.0);

struct UniformityOptions {
  /// Gaussian potential's scale t in exp(-t ||a - b||^2) (default 2).
  TORCH_ARG(double, t) = 2.0;
  /// At most this many points, a seeded sample of the rows without replacement (default 5,000).
  TORCH_ARG(int64_t, max_points) = 5000;
  /// Seed of that sample (default 0).
  TORCH_ARG(uint64_t, seed) = 0;
  /// Rows per block of the pairwise computation: memory O(chunk x N) (default 1024).
  TORCH_ARG(int64_t, chunk) = 1024;
};

/// Uniformity (Wang & Isola 2020): log of the mean over ordered pairs i != j of
/// exp(-t ||f(x_i) - f(x_j)||^2) on L2-normalised rows of `features` [N, d], N >= 2. In
/// [-4t, 0]: 0 = collapsed to one point; lower = spread more evenly over the sphere.
double uniformity(const at::Tensor& features, const UniformityOptions& options = {});

/// Effective rank (RankMe, Garrido et al. 2023) of `features` [N, d] as they are (not
/// normalised): with sigma the singular values, p_k = sigma_k / sum(sigma) + eps,
/// erank = exp(-sum_k p_k log p_k). In [1, min(N, d)] (1: rank one; min(N, d): flat spectrum).
double effective_rank(const at::Tensor& features, double eps = 1e-7);

/// Collapse indicator: the mean over dimensions of the standard deviation (unbiased, over the
/// rows) of the L2-normalised rows of `features` [N, d], N >= 2. Collapse gives 0; features
/// spread evenly over the sphere give about feature_std_reference(d) = 1/sqrt(d).
double feature_std(const at::Tensor& features);
double feature_std_reference(int64_t dim);

/// The four numbers together (alignment when positive pairs are given; NaN otherwise).
struct GeometryMetrics {
  double alignment = 0, uniformity = 0, effective_rank = 0, feature_std = 0, feature_std_reference = 0;
};

/// geometry of `features` [N, d]; `view1`/`view2` (both [M, d], may be undefined) are positive
/// pairs for alignment. uniformity uses `options` (its seeded sample).
GeometryMetrics geometry(const at::Tensor& features, const at::Tensor& view1, const at::Tensor& view2,
                         const UniformityOptions& options = {});

}  // namespace contra::eval
