#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

namespace contra::eval {

struct FewShotOptions {
  /// Classes per episode, N (default 5).
  TORCH_ARG(int64_t, ways) = 5;
  /// Support items per class, K (default 1).
  TORCH_ARG(int64_t, shots) = 1;
  /// Query items per class, Q, disjoint from the support (default 15).
  TORCH_ARG(int64_t, queries) = 15;
  /// Episodes averaged, E (default 600).
  TORCH_ARG(int64_t, episodes) = 600;
  /// Seed of the episodes: episode e draws from Rng(derive_seed(seed, e)) (default 0).
  TORCH_ARG(uint64_t, seed) = 0;
};

struct FewShotResult {
  double accuracy = 0;  ///< mean over episodes of the share of queries classified right
  double ci95 = 0;      ///< 1.96 * std over episodes (unbiased) / sqrt(episodes)
  int64_t episodes = 0;
  int64_t classes = 0;  ///< classes with at least shots + queries items (those drawn from)
};

/// Classes of `labels` [N] (int64, >= 0) with at least `per_class` items.
int64_t classes_with_at_least(const at::Tensor& labels, int64_t per_class);

/// N-way K-shot episodes on frozen `features` [N, d] with `labels` [N] (int64, >= 0): each
/// episode draws `ways` classes among those with >= shots + queries items, then per class
/// `shots` support and `queries` query items without replacement; each query goes to the
/// nearest prototype by cosine (prototype = mean of the class's L2-normalised support features;
/// a tie goes to the smaller label). Deterministic given options.seed (no global generator).
/// Throws contra::Error when fewer than `ways` classes qualify, or on bad shapes or options.
FewShotResult fewshot_accuracy(const at::Tensor& features, const at::Tensor& labels,
                               const FewShotOptions& options = {});

}  // namespace contra::eval
