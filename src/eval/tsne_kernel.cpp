#include "tsne_kernel.h"

#include <vector>

namespace contra::eval::detail {
namespace {

/// The loop in the precision of P (float: 8 lanes with AVX2); inlined into each target clone.
template <typename T>
__attribute__((always_inline)) inline void tsne_pair_rows_of(const T* p, const T* y0, const T* y1, int64_t n,
                                                             int64_t r0, int64_t r1, double* attr, double* rep,
                                                             double* z) {
  for (int64_t i = r0; i < r1; ++i) {
    const T* pi = p + i * n;
    const T yi0 = y0[i], yi1 = y1[i];
    T a0 = 0, a1 = 0, q0 = 0, q1 = 0, zi = 0;
    // j == i adds nothing but 1 to zi (dx = dy = 0, num = 1; p_ii = 0), taken off below.
#pragma omp simd reduction(+ : a0, a1, q0, q1, zi)
    for (int64_t j = 0; j < n; ++j) {
      const T dx = yi0 - y0[j], dy = yi1 - y1[j];
      const T num = T(1) / (T(1) + dx * dx + dy * dy);
      const T pn = pi[j] * num, nn = num * num;
      a0 += pn * dx;
      a1 += pn * dy;
      q0 += nn * dx;
      q1 += nn * dy;
      zi += num;
    }
    attr[2 * i] = double(a0);
    attr[2 * i + 1] = double(a1);
    rep[2 * i] = double(q0);
    rep[2 * i + 1] = double(q1);
    z[i] = double(zi) - 1.0;
  }
}

// One copy per instruction set, chosen when the program loads (the same machine always runs the
// same copy, so results repeat exactly).
__attribute__((target_clones("avx2", "default"))) void tsne_rows_float(const float* p, const float* y0,
                                                                        const float* y1, int64_t n, int64_t r0,
                                                                        int64_t r1, double* attr, double* rep,
                                                                        double* z) {
  tsne_pair_rows_of(p, y0, y1, n, r0, r1, attr, rep, z);
}

__attribute__((target_clones("avx2", "default"))) void tsne_rows_double(const double* p, const double* y0,
                                                                         const double* y1, int64_t n, int64_t r0,
                                                                         int64_t r1, double* attr, double* rep,
                                                                         double* z) {
  tsne_pair_rows_of(p, y0, y1, n, r0, r1, attr, rep, z);
}

}  // namespace

void tsne_pair_rows(const float* p, const double* y0, const double* y1, int64_t n, int64_t r0, int64_t r1,
                    double* attr, double* rep, double* z) {
  // Rows [r0, r1) need every point's coordinates, in float.
  std::vector<float> f0(y0, y0 + n), f1(y1, y1 + n);
  tsne_rows_float(p, f0.data(), f1.data(), n, r0, r1, attr, rep, z);
}

void tsne_pair_rows(const double* p, const double* y0, const double* y1, int64_t n, int64_t r0, int64_t r1,
                    double* attr, double* rep, double* z) {
  tsne_rows_double(p, y0, y1, n, r0, r1, attr, rep, z);
}

}  // namespace contra::eval::detail
