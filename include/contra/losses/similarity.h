#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace contra::losses {

/// How two embeddings are compared. One shared component for losses, miners and evaluation.
enum class Similarity {
  kCosine,  ///< <a/|a|, b/|b|>
  kDot,     ///< <a, b>
  kNegSquaredEuclidean,  ///< -|a - b|^2
  kNegEuclidean,         ///< -|a - b| (distance clamped at 1e-6 so its gradient stays finite)
};

/// "cosine" | "dot" | "euclidean" (negative squared distance) | "l2" (negative distance).
Similarity similarity_from_string(const std::string& name);
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> similarity_names();
std::string to_string(Similarity kind);

namespace functional {
/// Pairwise similarities. a: [N, d], b: [M, d] -> [N, M]. Differentiable in both arguments.
at::Tensor similarity_matrix(const at::Tensor& a, const at::Tensor& b, Similarity kind);
}  // namespace functional

}  // namespace contra::losses
