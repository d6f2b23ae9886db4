// Fused training-mode batch norm + ReLU (see the header): the statistics, the output and both
// backward passes as single sweeps over memory, threaded with at::parallel_for over fixed
// chunks of channels-last rows, so results depend on the intra-op thread count only (as LibTorch's own kernels do).
#include "contra/models/batch_norm_relu.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include "contra/core/error.h"

namespace contra::models {
namespace {

constexpr int64_t kBlock = 256;  // rows summed in float before the double total

namespace avx2 {
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "batch_norm_relu_kernels.inc"
#pragma GCC pop_options
}  // namespace avx2

namespace base {
#include "batch_norm_relu_kernels.inc"
}  // namespace base

struct Kernels {
  decltype(&base::stats_rows) stats_rows;
  decltype(&base::apply_rows) apply_rows;
  decltype(&base::grad_sums_rows) grad_sums_rows;
  decltype(&base::grad_input_rows) grad_input_rows;
};

const Kernels& kernels() {
  static const Kernels k = [] {
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return Kernels{avx2::stats_rows, avx2::apply_rows, avx2::grad_sums_rows, avx2::grad_input_rows};
    return Kernels{base::stats_rows, base::apply_rows, base::grad_sums_rows, base::grad_input_rows};
  }();
  return k;
}

/// x as channels-last rows [M][C].
struct Shape {
  int64_t m, c;
};

Shape shape_of(const at::Tensor& x) { return {x.size(0) * x.size(2) * x.size(3), x.size(1)}; }

/// Per-channel sums over all rows: of (x, x^2) for statistics, or of (g, g (x - mean)) for the
/// gradient. Fixed chunks of rows, each with its own partial sums, added in chunk order.
template <typename RowsFn>
void channel_sums(const Shape& s, std::vector<double>& first, std::vector<double>& second, RowsFn rows_fn) {
  first.assign(size_t(s.c), 0.0);
  second.assign(size_t(s.c), 0.0);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), s.m / kBlock));
  std::vector<double> part(size_t(2 * chunks * s.c), 0.0);
  std::vector<float> scratch(size_t(2 * chunks * s.c));
  at::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k)
      rows_fn(k * s.m / chunks, (k + 1) * s.m / chunks, part.data() + 2 * k * s.c, part.data() + (2 * k + 1) * s.c,
              scratch.data() + 2 * k * s.c, scratch.data() + (2 * k + 1) * s.c);
  });
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t c = 0; c < s.c; ++c)
      first[size_t(c)] += part[size_t(2 * k * s.c + c)], second[size_t(c)] += part[size_t((2 * k + 1) * s.c + c)];
}

at::Tensor floats(const std::vector<double>& v) {
  auto t = at::empty({int64_t(v.size())}, at::kFloat);
  std::transform(v.begin(), v.end(), t.data_ptr<float>(), [](double d) { return float(d); });
  return t;
}

class BatchNormReLUFunction : public torch::autograd::Function<BatchNormReLUFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, const at::Tensor& running_mean,
                            const at::Tensor& running_var, double momentum, double eps) {
    const Shape s = shape_of(x);
    const auto& k = kernels();
    const float* xp = x.data_ptr<float>();
    std::vector<double> sum, sumsq;
    channel_sums(s, sum, sumsq, [&](int64_t b, int64_t e, double* s1, double* s2, float* f1, float* f2) {
      k.stats_rows(xp, s.c, b, e, s1, s2, f1, f2);
    });
    const double m = double(s.m);
    const auto w = weight.contiguous(), b = bias.contiguous();
    std::vector<double> mean(size_t(s.c)), invstd(size_t(s.c)), scale(size_t(s.c)), shift(size_t(s.c)), var(size_t(s.c));
    for (int64_t c = 0; c < s.c; ++c) {
      const size_t i = size_t(c);
      mean[i] = sum[i] / m;
      var[i] = std::max(0.0, sumsq[i] / m - mean[i] * mean[i]);
      invstd[i] = 1.0 / std::sqrt(var[i] + eps);
      scale[i] = double(w.data_ptr<float>()[c]) * invstd[i];
      shift[i] = double(b.data_ptr<float>()[c]) - mean[i] * scale[i];
    }
    {  // running statistics, as torch::batch_norm updates them (the unbiased variance)
      at::NoGradGuard no_grad;
      std::vector<double> unbiased(var);
      for (auto& v : unbiased) v *= m / (m - 1);
      running_mean.mul_(1 - momentum).add_(floats(mean), momentum);
      running_var.mul_(1 - momentum).add_(floats(unbiased), momentum);
    }
    const auto scale_t = floats(scale), shift_t = floats(shift), mean_t = floats(mean);
    auto y = at::empty_like(x);
    const float *sc = scale_t.data_ptr<float>(), *sh = shift_t.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    at::parallel_for(0, s.m, kBlock, [&](int64_t begin, int64_t end) { k.apply_rows(xp, yp, s.c, begin, end, sc, sh); });
    ctx->save_for_backward({x});
    ctx->saved_data["weight"] = w;
    ctx->saved_data["mean"] = mean_t;
    ctx->saved_data["invstd"] = floats(invstd);
    ctx->saved_data["scale"] = scale_t;
    ctx->saved_data["shift"] = shift_t;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const Shape s = shape_of(x);
    const auto dy = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
    const auto w = ctx->saved_data["weight"].toTensor(), mean_t = ctx->saved_data["mean"].toTensor();
    const auto invstd_t = ctx->saved_data["invstd"].toTensor();
    const auto scale_t = ctx->saved_data["scale"].toTensor(), shift_t = ctx->saved_data["shift"].toTensor();
    const float *xp = x.data_ptr<float>(), *dp = dy.data_ptr<float>();
    const float *sc = scale_t.data_ptr<float>(), *sh = shift_t.data_ptr<float>(), *mu = mean_t.data_ptr<float>();
    const auto& k = kernels();
    std::vector<double> sg, sgx;
    channel_sums(s, sg, sgx, [&](int64_t b, int64_t e, double* s1, double* s2, float* f1, float* f2) {
      k.grad_sums_rows(xp, dp, s.c, b, e, sc, sh, mu, s1, s2, f1, f2);
    });
    const double m = double(s.m);
    std::vector<double> a(size_t(s.c)), bb(size_t(s.c)), d(size_t(s.c)), dweight(size_t(s.c));
    for (int64_t c = 0; c < s.c; ++c) {
      const size_t i = size_t(c);
      const double is = double(invstd_t.data_ptr<float>()[c]), wc = double(w.data_ptr<float>()[c]);
      dweight[i] = sgx[i] * is;
      a[i] = wc * is;
      bb[i] = -wc * is * is * is * sgx[i] / m;
      d[i] = -a[i] * sg[i] / m - bb[i] * double(mu[c]);
    }
    const auto a_t = floats(a), b_t = floats(bb), d_t = floats(d);
    const float *ap = a_t.data_ptr<float>(), *bp = b_t.data_ptr<float>(), *dd = d_t.data_ptr<float>();
    auto dx = at::empty_like(x);
    float* dxp = dx.data_ptr<float>();
    at::parallel_for(0, s.m, kBlock, [&](int64_t begin, int64_t end) {
      k.grad_input_rows(xp, dp, dxp, s.c, begin, end, sc, sh, ap, bp, dd);
    });
    return {dx, floats(dweight), floats(sg), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool batch_norm_relu_supported(const at::Tensor& x) {
  if (!x.defined() || x.dim() != 4 || x.scalar_type() != at::kFloat || !x.device().is_cpu()) return false;
  if (x.size(0) * x.size(2) * x.size(3) < 2 || x.size(1) < 1) return false;
  return x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor batch_norm_relu_train(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                 const at::Tensor& running_mean, const at::Tensor& running_var, double momentum,
                                 double eps) {
  CONTRA_CHECK(batch_norm_relu_supported(x), "fused batch norm + ReLU takes a float CPU tensor [N, C, H, W] "
               "contiguous in channels-last layout, got ", x.sizes(), " ", x.scalar_type());
  CONTRA_CHECK(weight.numel() == x.size(1) && bias.numel() == x.size(1) && running_mean.numel() == x.size(1) &&
                   running_var.numel() == x.size(1),
               "fused batch norm + ReLU: parameters and buffers must have ", x.size(1), " values");
  return BatchNormReLUFunction::apply(x, weight, bias, running_mean, running_var, momentum, eps);
}

}  // namespace contra::models
