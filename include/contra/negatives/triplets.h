#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

namespace contra::negatives {

/// Which (anchor, positive, negative) triplets of a batch a triplet loss trains on. Batch-hard
/// and batch-all: "In Defense of the Triplet Loss for Person Re-Identification" (Hermans et al.,
/// 2017); semi-hard: "FaceNet" (Schroff et al., 2015). With similarities s (higher = closer):
enum class TripletMining {
  kBatchAll,   ///< every valid triplet
  kBatchHard,  ///< per anchor: its least similar positive and its most similar negative
  kSemiHard,   ///< negatives in the margin band below the positive: s_ap - margin < s_an < s_ap
  kHard,       ///< negatives at least as similar as the positive: s_an >= s_ap
  /// The triplets within the margin, s_an >= s_ap - margin: pytorch-metric-learning's
  /// TripletMarginMiner(type_of_triplets="all"), which keeps d_an - d_ap <= margin. Averaged over
  /// non-zero losses it equals kBatchAll (the dropped triplets have zero loss); averaged over all
  /// kept triplets it is PML's value.
  kViolating,
};
/// "batch_all" | "batch_hard" | "semi_hard" | "hard" | "violating".
TripletMining triplet_mining_from_string(const std::string& name);
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> triplet_mining_names();
std::string to_string(TripletMining kind);

struct TripletMinerOptions {
  /// Which triplets (default semi-hard).
  TORCH_ARG(TripletMining, kind) = TripletMining::kSemiHard;
  /// Semi-hard band width, the triplet loss's margin (default 0.2; similarity units).
  TORCH_ARG(double, margin) = 0.2;
  /// Semi-hard band closed at the margin, s_ap - margin <= s_an < s_ap, as pytorch-metric-
  /// learning's "semihard" (0 < d_an - d_ap <= margin); FaceNet's strict band otherwise
  /// (default false).
  TORCH_ARG(bool, inclusive_band) = false;
};

/// Picked triplets as row indices into the batch, each int64 [T].
struct Triplets {
  at::Tensor anchor, positive, negative;
};

/// similarity: [N, N] between the batch's rows (read without gradient); labels: [N] int64 >= 0,
/// equal labels = positive pair (two views of N samples: labels = sample ids). Enumerates by
/// anchor chunks so no [N, N, N] tensor is built at once.
Triplets mine_triplets(const at::Tensor& similarity, const at::Tensor& labels,
                       const TripletMinerOptions& options = {});

}  // namespace contra::negatives
