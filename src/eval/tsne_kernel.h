// The t-SNE gradient's inner loop over pairs (private to src/eval). Compiled on its own with
// -fopenmp-simd (CMakeLists.txt), without LibTorch: the sums over j vectorise.
#pragma once
#include <cstdint>

namespace contra::eval::detail {

/// For rows i in [r0, r1) of P [n, n] (row-major) and the map's coordinates y0, y1 [n]:
/// attr_i = sum_j p_ij n_ij (y_i - y_j), rep_i = sum_j n_ij^2 (y_i - y_j), z_i = sum_{j != i} n_ij,
/// n_ij = 1 / (1 + |y_i - y_j|^2); attr and rep are [n, 2] row-major. Computed in P's precision
/// (float P: float sums, 8 lanes with AVX2). Each row's sums are its own (a fixed order for a
/// given build and machine), so splitting rows among threads changes nothing.
void tsne_pair_rows(const float* p, const double* y0, const double* y1, int64_t n, int64_t r0, int64_t r1,
                    double* attr, double* rep, double* z);
void tsne_pair_rows(const double* p, const double* y0, const double* y1, int64_t n, int64_t r0, int64_t r1,
                    double* attr, double* rep, double* z);

}  // namespace contra::eval::detail
