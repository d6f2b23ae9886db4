#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

namespace contra::negatives {

/// Which of a query's candidate negatives a loss uses. One mechanism for every loss that pools
/// negatives (InfoNCE over the batch, a queue or per-query sets; the symmetric two-view losses):
/// the miner returns a mask, and a method hands it to the loss (losses never include this layer).
enum class NegativeSampling {
  kAll,        ///< every candidate (in-batch / whole bank)
  kRandom,     ///< a uniform random subset of `num_negatives` candidates per query
  kHardest,    ///< the `num_negatives` most similar candidates per query (1: hardest negative)
  kThreshold,  ///< candidates whose similarity exceeds `threshold`
  kSemiHard,   ///< candidates within `margin` below the positive: s+ - margin < s- < s+
};
/// "all" | "random" | "hardest" | "threshold" | "semi_hard".
NegativeSampling negative_sampling_from_string(const std::string& name);
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> negative_sampling_names();
std::string to_string(NegativeSampling kind);

struct NegativeSamplingOptions {
  /// Which negatives (default all).
  TORCH_ARG(NegativeSampling, kind) = NegativeSampling::kAll;
  /// random / hardest: negatives kept per query, >= 1 (default 16; capped at the candidates).
  TORCH_ARG(int64_t, num_negatives) = 16;
  /// threshold: keep candidates with similarity > threshold (default 0.5; similarity units).
  TORCH_ARG(double, threshold) = 0.5;
  /// semi_hard: width of the band below the positive's similarity, > 0 (default 0.2).
  TORCH_ARG(double, margin) = 0.2;
};

/// Which candidates each query keeps. negative_sim: [N, K] similarities (before temperature) of
/// each query to its K candidates; positive_sim: [N]. Returns a bool mask [N, K]. Rows may come
/// out empty (threshold, semi_hard): the losses then leave that query out of the loss. No
/// gradient flows through the choice. kRandom draws from ATen's default generator, so it is
/// reproducible under torch::manual_seed.
at::Tensor select_negatives(const at::Tensor& negative_sim, const at::Tensor& positive_sim,
                            const NegativeSamplingOptions& options);
/// Throws a clear error for options out of range (num_negatives < 1, margin <= 0, non-finite).
void validate(const NegativeSamplingOptions& options);

}  // namespace contra::negatives
