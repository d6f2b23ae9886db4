#pragma once
// Exact t-SNE (van der Maaten & Hinton 2008): a 2-D map of high-dimensional points that keeps
// each point's near neighbours near. O(N^2) memory and work per iteration, for up to a few
// thousand points (the run report's embedding map). Deterministic for a given seed: the same
// input and options give bitwise the same map, whatever the number of threads.
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

namespace contra::eval {

struct TsneOptions {
  /// Effective number of neighbours each point's Gaussian covers (default 30); must be below
  /// the number of points minus one.
  TORCH_ARG(double, perplexity) = 30.0;
  /// Gradient-descent iterations (default 1000).
  TORCH_ARG(int64_t, iterations) = 1000;
  /// Factor on P during the first exaggeration_iterations (default 12): clusters form early.
  TORCH_ARG(double, early_exaggeration) = 12.0;
  TORCH_ARG(int64_t, exaggeration_iterations) = 250;
  /// Step size eta; 0 (the default) = max(N / early_exaggeration / 4, 50) (Belkina et al. 2019,
  /// scikit-learn's "auto"): van der Maaten's fixed 200 overshoots on small maps under the
  /// exaggeration and is slow on large ones.
  TORCH_ARG(double, learning_rate) = 0.0;
  /// Momentum before and after momentum_switch iterations (default 0.5, then 0.8).
  TORCH_ARG(double, initial_momentum) = 0.5;
  TORCH_ARG(double, final_momentum) = 0.8;
  TORCH_ARG(int64_t, momentum_switch) = 250;
  /// Seed of the initial map (N(0, 1e-4) per coordinate, drawn with contra::Rng; the global
  /// LibTorch generator is left alone) (default 0).
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Each point's conditional distribution over the others and the Gaussian that made it.
struct TsneConditional {
  at::Tensor p;           ///< [N, N] float64: row i is p_{j|i}, zero diagonal, rows sum to 1
  at::Tensor beta;        ///< [N] float64: 1 / (2 sigma_i^2) found by the binary search
  at::Tensor perplexity;  ///< [N] float64: exp(H(P_i)) reached, H in nats
};

/// p_{j|i} = exp(-beta_i d_ij) / sum_{k != i} exp(-beta_i d_ik) from squared distances
/// `sq_distances` [N, N] (the diagonal is ignored), with beta_i found by a binary search
/// (doubling until bracketed) sped up by Newton steps inside the bracket, so that
/// exp(H(P_i)) = perplexity within `tolerance` on H (or after max_steps steps). Throws contra::Error for a matrix that is not square or not finite,
/// fewer than 3 points, or a perplexity outside (1, N - 1).
TsneConditional tsne_conditional(const at::Tensor& sq_distances, double perplexity,
                                 double tolerance = 1e-5, int64_t max_steps = 200);

/// The symmetric joint P of points `x` [N, d]: (P_cond + P_cond^T) / (2N) from squared
/// Euclidean distances; [N, N] of `dtype` (float32 halves the memory of large maps), sums to 1.
at::Tensor tsne_joint_p(const at::Tensor& x, double perplexity, at::ScalarType dtype = at::kDouble);

/// KL(P || Q) of the map `y` [N, 2] (float64), with Student-t q_ij = (1 + |y_i - y_j|^2)^-1 / Z.
double tsne_kl(const at::Tensor& p, const at::Tensor& y);

/// The t-SNE gradient dC/dy_i = 4 sum_j (e p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j),
/// [N, 2] float64, with e = exaggeration (1: the exact gradient of tsne_kl). One pass over the
/// pairs, rows in parallel; p is float32 or float64.
at::Tensor tsne_gradient(const at::Tensor& p, const at::Tensor& y, double exaggeration = 1.0);

/// The map: [N, 2] float64 of `x` [N, d] (any float type), by gradient descent with momentum
/// and per-coordinate gains (+0.2 when the gradient's sign flips against the last update,
/// x0.8 otherwise, at least 0.01), the map re-centred each iteration.
at::Tensor tsne(const at::Tensor& x, const TsneOptions& options = {});

}  // namespace contra::eval
