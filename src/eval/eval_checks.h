// Shared input validation for the frozen-feature evaluators (private to src/eval).
#pragma once
#include <string>

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::eval::detail {

inline std::string shape_str(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  return c10::str(t.sizes());
}

/// Checks one (features, labels) pair: features [n, d] with n > 0, labels [n] int64 >= 0.
/// `what` names the set in messages ("train" / "test").
inline void check_set(const at::Tensor& x, const at::Tensor& y, const char* what) {
  CONTRA_CHECK(x.defined() && x.dim() == 2, what, " features must be 2-D [N, d], got shape ",
               shape_str(x));
  CONTRA_CHECK(x.size(0) > 0, what, " set is empty (features shape ", shape_str(x), ")");
  CONTRA_CHECK(x.size(1) > 0, what, " features have zero dimensions (shape ", shape_str(x), ")");
  CONTRA_CHECK(y.defined() && y.dim() == 1 && y.scalar_type() == at::kLong, what,
               " labels must be a 1-D int64 tensor, got shape ", shape_str(y), " dtype ",
               y.defined() ? c10::toString(y.scalar_type()) : "undefined");
  CONTRA_CHECK(y.size(0) == x.size(0), what, " labels shape ", shape_str(y),
               " does not match ", what, " features shape ", shape_str(x));
  CONTRA_CHECK(y.min().item<int64_t>() >= 0, what, " labels must be non-negative (min ",
               y.min().item<int64_t>(), ")");
}

/// Checks both sets and that their feature dimensions agree.
inline void check_train_test(const at::Tensor& train, const at::Tensor& train_labels,
                             const at::Tensor& test, const at::Tensor& test_labels) {
  check_set(train, train_labels, "train");
  check_set(test, test_labels, "test");
  CONTRA_CHECK(train.size(1) == test.size(1), "feature dimension mismatch: train features shape ",
               shape_str(train), " vs test features shape ", shape_str(test));
}

/// Converts to contiguous float32 and rejects NaN / Inf.
inline at::Tensor finite_float(const at::Tensor& x, const char* what) {
  at::Tensor f = x.to(at::kFloat).contiguous();
  CONTRA_CHECK(torch::isfinite(f).all().item<bool>(), what, " features contain NaN or Inf");
  return f;
}

/// Number of classes: max label + 1 over both label sets.
inline int64_t num_classes(const at::Tensor& a, const at::Tensor& b) {
  return std::max(a.max().item<int64_t>(), b.max().item<int64_t>()) + 1;
}

}  // namespace contra::eval::detail
