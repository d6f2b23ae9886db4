#include "contra/eval/linear_probe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <torch/torch.h>

#include "contra/core/rng.h"
#include "eval_checks.h"

namespace contra::eval {
namespace {

struct Probe {
  at::Tensor weight;  // [d, C]
  at::Tensor bias;    // [C]
};

// Fits multinomial logistic regression full-batch with L-BFGS (strong Wolfe line search) on
//   mean cross-entropy(x W + b, y) + l2 * ||W||_F^2        (no penalty on b)
// starting from `init` (zeros when undefined). max_iter bounds the L-BFGS iterations; function
// evaluations are bounded by LibTorch's default 5/4 * max_iter. Stopping tolerances are
// LibTorch's defaults (max |grad| < 1e-7 or loss/step change < 1e-9), so in float32 weakly
// penalised fits usually use the whole budget. history_size 100 (the PyTorch default) needed
// ~40% fewer evaluations than 20 on 60000 x 256 features.
Probe fit(const at::Tensor& x, const at::Tensor& y, int64_t classes, double l2, int64_t max_iter,
          const Probe* init) {
  const int64_t d = x.size(1);
  Probe p;
  if (init) {
    p.weight = init->weight.detach().clone();
    p.bias = init->bias.detach().clone();
  } else {
    p.weight = torch::zeros({d, classes}, x.options());
    p.bias = torch::zeros({classes}, x.options());
  }
  p.weight.set_requires_grad(true);
  p.bias.set_requires_grad(true);

  torch::optim::LBFGS opt({p.weight, p.bias}, torch::optim::LBFGSOptions(1.0)
                                                  .max_iter(max_iter)
                                                  .history_size(100)
                                                  .line_search_fn("strong_wolfe"));
  auto closure = [&]() -> at::Tensor {
    opt.zero_grad();
    at::Tensor logits = torch::addmm(p.bias, x, p.weight);
    at::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    if (l2 > 0.0) loss = loss + l2 * p.weight.pow(2).sum();
    loss.backward();
    return loss;
  };
  opt.step(closure);

  p.weight = p.weight.detach();
  p.bias = p.bias.detach();
  return p;
}

double accuracy(const Probe& p, const at::Tensor& x, const at::Tensor& y) {
  torch::NoGradGuard no_grad;
  at::Tensor pred = torch::addmm(p.bias, x, p.weight).argmax(1);
  return pred.eq(y).sum().item<double>() / static_cast<double>(y.size(0));
}

}  // namespace

LinearProbeResult linear_probe(const at::Tensor& train, const at::Tensor& train_labels,
                               const at::Tensor& test, const at::Tensor& test_labels,
                               const LinearProbeOptions& options) {
  detail::check_train_test(train, train_labels, test, test_labels);
  const std::vector<double>& grid = options.l2_grid();
  CONTRA_CHECK(!grid.empty(), "linear probe: l2 grid is empty");
  for (double l2 : grid)
    CONTRA_CHECK(std::isfinite(l2) && l2 >= 0.0,
                 "linear probe: l2 grid values must be finite and >= 0, got ", l2);
  const double frac = options.val_fraction();
  CONTRA_CHECK(frac >= 0.0 && frac < 1.0, "linear probe: val_fraction must be in [0, 1), got ",
               frac);
  CONTRA_CHECK(options.max_iter() >= 1, "linear probe: max_iter must be >= 1, got ",
               options.max_iter());

  at::Tensor xtr = detail::finite_float(train, "train");
  at::Tensor xte = detail::finite_float(test, "test");
  const at::Tensor ytr = train_labels.contiguous();
  const at::Tensor yte = test_labels.contiguous();
  const int64_t n = xtr.size(0);
  const int64_t classes = detail::num_classes(ytr, yte);

  // Standardise with the training features' statistics (unbiased std, + 1e-6 so constant
  // features map to 0 instead of dividing by zero).
  {
    torch::NoGradGuard no_grad;
    at::Tensor mean = xtr.mean(0, /*keepdim=*/true);
    at::Tensor std = (n > 1 ? xtr.std(0, /*unbiased=*/true, /*keepdim=*/true)
                            : torch::zeros_like(mean)) + 1e-6;
    xtr = ((xtr - mean) / std).contiguous();
    xte = ((xte - mean) / std).contiguous();
  }

  LinearProbeResult result;
  result.l2 = grid.front();
  const Probe* warm = nullptr;
  Probe chosen;

  if (frac > 0.0) {
    CONTRA_CHECK(n >= 2, "linear probe: a validation split needs at least 2 training samples, got ",
                 n);
    const int64_t n_val = std::clamp<int64_t>(std::llround(double(n) * frac), 1, n - 1);
    // Seeded Fisher-Yates shuffle: the first n_val indices are held out.
    std::vector<int64_t> perm(n);
    std::iota(perm.begin(), perm.end(), int64_t{0});
    Rng rng(derive_seed(options.seed(), 0x6c696e70726f6265ull /* "linprobe" */));
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(perm[i], perm[rng.below(static_cast<uint64_t>(i) + 1)]);
    at::Tensor idx = torch::tensor(perm, torch::kLong);
    at::Tensor val_idx = idx.narrow(0, 0, n_val);
    at::Tensor fit_idx = idx.narrow(0, n_val, n - n_val);
    const at::Tensor x_fit = xtr.index_select(0, fit_idx);
    const at::Tensor y_fit = ytr.index_select(0, fit_idx);
    const at::Tensor x_val = xtr.index_select(0, val_idx);
    const at::Tensor y_val = ytr.index_select(0, val_idx);

    // Visit the grid from the strongest penalty down, warm-starting each fit from the previous
    // one (the regularisation path): weaker penalties converge in far fewer iterations that way.
    std::vector<size_t> order(grid.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return grid[a] > grid[b]; });
    Probe prev;
    std::vector<Probe> fits(grid.size());
    double best = -1.0;
    size_t best_i = 0;
    for (size_t i : order) {
      fits[i] = fit(x_fit, y_fit, classes, grid[i], options.max_iter(),
                    prev.weight.defined() ? &prev : nullptr);
      prev = fits[i];
      const double acc = accuracy(fits[i], x_val, y_val);
      // Ties go to the larger penalty (visited first).
      if (acc > best) {
        best = acc;
        best_i = i;
      }
    }
    result.l2 = grid[best_i];
    result.val_accuracy = best;
    chosen = fits[best_i];
    warm = &chosen;
  }

  // Refit on all training features with the chosen penalty, starting from the validation fit.
  const Probe final_probe = fit(xtr, ytr, classes, result.l2, options.max_iter(), warm);
  result.test_accuracy = accuracy(final_probe, xte, yte);
  return result;
}

}  // namespace contra::eval
