#include "contra/negatives/sampling.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"

namespace contra::negatives {
namespace {
const NameTable<NegativeSampling, 5> kSamplingNames = {{"all", NegativeSampling::kAll},
                                               {"random", NegativeSampling::kRandom},
                                               {"hardest", NegativeSampling::kHardest},
                                               {"threshold", NegativeSampling::kThreshold},
                                               {"semi_hard", NegativeSampling::kSemiHard}};

/// Mask with the k columns of `score` that rank highest in each row.
at::Tensor top_k_mask(const at::Tensor& score, int64_t k) {
  auto idx = std::get<1>(score.topk(std::min(k, score.size(1)), 1));
  return torch::zeros(score.sizes(), score.options().dtype(torch::kBool)).scatter_(1, idx, true);
}
}  // namespace

NegativeSampling negative_sampling_from_string(const std::string& name) {
  return from_name(kSamplingNames, name, "negative sampling");
}

std::vector<std::string> negative_sampling_names() { return names_of(kSamplingNames); }
std::string to_string(NegativeSampling kind) { return name_of(kSamplingNames, kind); }

void validate(const NegativeSamplingOptions& o) {
  CONTRA_CHECK(o.num_negatives() >= 1, "loss.num_negatives must be >= 1, got ", o.num_negatives());
  CONTRA_CHECK(std::isfinite(o.threshold()), "loss.neg_threshold must be finite, got ",
               o.threshold());
  CONTRA_CHECK(o.margin() > 0 && std::isfinite(o.margin()), "loss.margin must be > 0, got ",
               o.margin());
}

at::Tensor select_negatives(const at::Tensor& negative_sim, const at::Tensor& positive_sim,
                            const NegativeSamplingOptions& o) {
  validate(o);
  CONTRA_CHECK(negative_sim.dim() == 2 && positive_sim.dim() == 1 &&
                   positive_sim.size(0) == negative_sim.size(0),
               "negative sampling needs similarities [N, K] and positives [N], got ",
               negative_sim.sizes(), " and ", positive_sim.sizes());
  torch::NoGradGuard no_grad;
  auto s = negative_sim.detach();
  auto p = positive_sim.detach().unsqueeze(1);
  switch (o.kind()) {
    case NegativeSampling::kAll:
      return torch::ones(s.sizes(), s.options().dtype(torch::kBool));
    case NegativeSampling::kRandom:
      // The k largest of i.i.d. uniform keys: a uniform subset of size k, without replacement.
      return top_k_mask(torch::rand(s.sizes(), s.options()), o.num_negatives());
    case NegativeSampling::kHardest:
      return top_k_mask(s, o.num_negatives());
    case NegativeSampling::kThreshold:
      return s > o.threshold();
    case NegativeSampling::kSemiHard:
      return (s < p) & (s > p - o.margin());
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled NegativeSampling");
}

}  // namespace contra::negatives
