#pragma once
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

namespace contra::eval {

struct LinearProbeOptions {
  /// Candidate L2 penalties (on the weights, per sample-mean loss); the best on a validation
  /// split held out of the training features is chosen, then the probe is refit on all of them
  /// (default {1e-5, 1e-4, 1e-3}).
  TORCH_ARG(std::vector<double>, l2_grid) = std::vector<double>{1e-5, 1e-4, 1e-3};
  /// Fraction of training features held out to choose l2 (default 0.1). 0 uses l2_grid[0].
  TORCH_ARG(double, val_fraction) = 0.1;
  /// Optimiser iterations (full-batch L-BFGS) per fit (default 100; accuracy moves by about
  /// 0.001 between 50 and 300 iterations, while the time grows with them).
  TORCH_ARG(int64_t, max_iter) = 100;
  /// Seed for the validation split (default 0).
  TORCH_ARG(uint64_t, seed) = 0;
};

struct LinearProbeResult {
  double test_accuracy = 0.0;
  double val_accuracy = 0.0;  ///< accuracy on the held-out split at the chosen l2
  double l2 = 0.0;            ///< chosen penalty
};

/// Multinomial logistic regression on standardised frozen features (mean/std from the training
/// features). train: [N, d], labels [N] int64 in 0..C-1; test: [M, d], labels [M].
/// Throws contra::Error on shape mismatch, empty sets, or an empty l2 grid.
LinearProbeResult linear_probe(const at::Tensor& train, const at::Tensor& train_labels,
                               const at::Tensor& test, const at::Tensor& test_labels,
                               const LinearProbeOptions& options = {});

}  // namespace contra::eval
