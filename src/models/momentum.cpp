#include "contra/models/momentum.h"

#include <cmath>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::models {
namespace {

void check_same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                const char* what) {
  CONTRA_CHECK(a.size() == b.size(), "momentum copy: ", what, " count differs (", a.size(),
               " vs ", b.size(), ")");
  for (size_t i = 0; i < a.size(); ++i)
    CONTRA_CHECK(a[i].sizes() == b[i].sizes(), "momentum copy: ", what, " ", i, " has shape ",
                 a[i].sizes(), " vs ", b[i].sizes());
}

}  // namespace

void copy_into(torch::nn::Module& target, const torch::nn::Module& online) {
  auto tp = target.parameters(), op = online.parameters();
  auto tb = target.buffers(), ob = online.buffers();
  check_same(tp, op, "parameter");
  check_same(tb, ob, "buffer");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < tp.size(); ++i) {
    tp[i].copy_(op[i]);
    tp[i].set_requires_grad(false);
  }
  for (size_t i = 0; i < tb.size(); ++i) tb[i].copy_(ob[i]);
}

void momentum_update(torch::nn::Module& target, const torch::nn::Module& online, double m) {
  CONTRA_CHECK(m >= 0 && m <= 1, "momentum must be in [0, 1], got ", m);
  auto tp = target.parameters(), op = online.parameters();
  check_same(tp, op, "parameter");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < tp.size(); ++i) tp[i].mul_(m).add_(op[i].detach(), 1 - m);
}

double momentum_at(double base, int64_t step, int64_t total_steps, bool cosine) {
  if (!cosine || total_steps <= 0) return base;
  const double pi = std::acos(-1.0);
  const double progress = std::min(1.0, double(step) / double(total_steps));
  return 1 - (1 - base) * (std::cos(pi * progress) + 1) / 2;
}

}  // namespace contra::models
