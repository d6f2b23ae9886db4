#pragma once
#include <string>

#include <ATen/core/Tensor.h>

namespace contra::losses {

/// How two embeddings are compared. One shared component for losses, miners and evaluation.
enum class Similarity {
  kCosine,  ///< <a/|a|, b/|b|>
  kDot,     ///< <a, b>
  kNegSquaredEuclidean,  ///< -|a - b|^2
};

Similarity similarity_from_string(const std::string& name);  ///< "cosine" | "dot" | "euclidean"
std::string to_string(Similarity kind);

namespace functional {
/// Pairwise similarities. a: [N, d], b: [M, d] -> [N, M]. Differentiable in both arguments.
at::Tensor similarity_matrix(const at::Tensor& a, const at::Tensor& b, Similarity kind);
}  // namespace functional

}  // namespace contra::losses
