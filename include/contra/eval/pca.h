#pragma once
// Principal component analysis of a feature matrix, for 2-D maps of an embedding.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace contra::eval {

struct PcaResult {
  at::Tensor scores;     ///< [N, k] float64: the centred rows projected on the components
  at::Tensor explained;  ///< [k] float64: each component's share of the total variance
};

/// The first `k` principal components of `x` [N, d] (rows centred; the eigenvectors of the
/// smaller Gram matrix, X^T X or X X^T, by LibTorch's symmetric eigensolver). Each
/// component's sign is fixed so that its largest-magnitude loading is positive, so the same
/// input always gives the same map. k <= min(N, d). Throws contra::Error for fewer than 2 rows,
/// a bad k or non-finite values.
PcaResult pca(const at::Tensor& x, int64_t k = 2);

}  // namespace contra::eval
