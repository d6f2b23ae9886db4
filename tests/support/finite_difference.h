#pragma once
// Shared test helper: autograd gradients against central finite differences (float64 inputs).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace contra::test_support {

/// f maps the inputs to a scalar; every input's gradient is compared element by element.
inline void expect_grad_matches_fd(
    const std::function<at::Tensor(const std::vector<at::Tensor>&)>& f,
    const std::vector<at::Tensor>& inputs, const std::string& what, double tol = 1e-6) {
  std::vector<at::Tensor> leaves;
  for (const auto& x : inputs) leaves.push_back(x.detach().clone().requires_grad_());
  f(leaves).backward();
  const double h = 1e-6;
  torch::NoGradGuard ng;
  for (size_t a = 0; a < inputs.size(); ++a) {
    auto g = leaves[a].grad();
    ASSERT_TRUE(g.defined()) << what << " input " << a;
    for (int64_t i = 0; i < inputs[a].numel(); ++i) {
      std::vector<at::Tensor> plus, minus;
      for (const auto& x : inputs) {
        plus.push_back(x.detach().clone());
        minus.push_back(x.detach().clone());
      }
      plus[a].view(-1)[i] += h;
      minus[a].view(-1)[i] -= h;
      double fd = (f(plus).item<double>() - f(minus).item<double>()) / (2 * h);
      EXPECT_NEAR(g.view(-1)[i].item<double>(), fd, tol) << what << " input " << a << " element " << i;
    }
  }
}

}  // namespace contra::test_support
