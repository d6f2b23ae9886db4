#include "contra/losses/similarity.h"

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"

namespace contra::losses {
namespace {
const NameTable<Similarity, 4> kSimilarityNames = {
    {"cosine", Similarity::kCosine},
    {"dot", Similarity::kDot},
    {"euclidean", Similarity::kNegSquaredEuclidean},
    {"l2", Similarity::kNegEuclidean}};
}  // namespace

Similarity similarity_from_string(const std::string& name) {
  return from_name(kSimilarityNames, name, "similarity");
}

std::vector<std::string> similarity_names() { return names_of(kSimilarityNames); }

std::string to_string(Similarity kind) { return name_of(kSimilarityNames, kind); }

namespace functional {
at::Tensor similarity_matrix(const at::Tensor& a, const at::Tensor& b, Similarity kind) {
  CONTRA_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1),
               "similarity needs [N, d] and [M, d] embeddings, got ", a.sizes(), " and ",
               b.sizes());
  switch (kind) {
    case Similarity::kCosine: {
      namespace F = torch::nn::functional;
      auto an = F::normalize(a, F::NormalizeFuncOptions().dim(1).eps(1e-12));
      auto bn = F::normalize(b, F::NormalizeFuncOptions().dim(1).eps(1e-12));
      return torch::mm(an, bn.t());
    }
    case Similarity::kDot:
      return torch::mm(a, b.t());
    case Similarity::kNegSquaredEuclidean:
    case Similarity::kNegEuclidean: {
      // -(|a|^2 - 2 a.b + |b|^2); clamp guards the tiny negatives rounding produces.
      auto aa = a.pow(2).sum(1, true);
      auto bb = b.pow(2).sum(1, true).t();
      auto d2 = (aa + bb - 2 * torch::mm(a, b.t())).clamp_min(0);
      // sqrt's gradient is infinite at 0 (the diagonal of a self-similarity): clamp first.
      return kind == Similarity::kNegEuclidean ? -d2.clamp_min(1e-12).sqrt() : -d2;
    }
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled Similarity");
}
}  // namespace functional

}  // namespace contra::losses
