#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>

namespace contra::eval {

struct KnnOptions {
  /// Neighbours that vote (default 200, as in InstDisc/SimCLR evaluations).
  TORCH_ARG(int64_t, k) = 200;
  /// Vote weight exp(cosine / temperature) (default 0.1).
  TORCH_ARG(double, temperature) = 0.1;
  /// Queries processed per chunk, bounding memory to chunk x N_train similarities (default 1024).
  TORCH_ARG(int64_t, chunk) = 1024;
};

/// Weighted kNN classification accuracy with cosine similarity.
/// train: [N, d] float, train_labels: [N] int64 in 0..C-1; test: [M, d], test_labels: [M].
/// Features are L2-normalised inside. Throws contra::Error on shape mismatch, empty sets or
/// k < 1 (k larger than N is clamped to N).
double knn_accuracy(const at::Tensor& train, const at::Tensor& train_labels, const at::Tensor& test,
                    const at::Tensor& test_labels, const KnnOptions& options = {});

}  // namespace contra::eval
