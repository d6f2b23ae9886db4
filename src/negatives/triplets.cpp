#include "contra/negatives/triplets.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"

namespace contra::negatives {
namespace {
const NameTable<TripletMining, 5> kMiningNames = {{"batch_all", TripletMining::kBatchAll},
                                                  {"batch_hard", TripletMining::kBatchHard},
                                                  {"semi_hard", TripletMining::kSemiHard},
                                                  {"hard", TripletMining::kHard},
                                                  {"violating", TripletMining::kViolating}};
}  // namespace

TripletMining triplet_mining_from_string(const std::string& name) {
  return from_name(kMiningNames, name, "triplet mining");
}

std::vector<std::string> triplet_mining_names() { return names_of(kMiningNames); }
std::string to_string(TripletMining kind) { return name_of(kMiningNames, kind); }

Triplets mine_triplets(const at::Tensor& similarity, const at::Tensor& labels,
                       const TripletMinerOptions& o) {
  CONTRA_CHECK(o.margin() >= 0 && std::isfinite(o.margin()), "loss.margin must be >= 0, got ",
               o.margin());
  CONTRA_CHECK(similarity.dim() == 2 && similarity.size(0) == similarity.size(1) &&
                   similarity.size(0) >= 2,
               "triplet mining needs a square similarity matrix [N, N] with N >= 2, got ",
               similarity.sizes());
  const int64_t n = similarity.size(0);
  CONTRA_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == n &&
                   labels.scalar_type() == torch::kLong,
               "triplet mining labels must be int64 [N] with N = ", n, ", got ",
               labels.defined() ? labels.sizes() : at::IntArrayRef{});
  CONTRA_CHECK(labels.min().item<int64_t>() >= 0, "triplet mining labels must be >= 0, got ",
               labels.min().item<int64_t>());
  torch::NoGradGuard no_grad;
  auto s = similarity.detach();
  auto lab = labels.to(s.device());
  auto self = torch::eye(n, s.options().dtype(torch::kBool));
  auto same = lab.unsqueeze(1).eq(lab.unsqueeze(0));
  auto pos_mask = same & self.logical_not();  // [N, N]
  auto neg_mask = same.logical_not();
  const auto kLong = torch::TensorOptions().dtype(torch::kLong).device(s.device());

  if (o.kind() == TripletMining::kBatchHard) {
    const double inf = std::numeric_limits<double>::infinity();
    auto valid = pos_mask.any(1) & neg_mask.any(1);
    auto hardest_p = s.masked_fill(pos_mask.logical_not(), inf).argmin(1);
    auto hardest_n = s.masked_fill(neg_mask.logical_not(), -inf).argmax(1);
    return {torch::arange(n, kLong).masked_select(valid), hardest_p.masked_select(valid),
            hardest_n.masked_select(valid)};
  }
  std::vector<at::Tensor> as, ps, ns;
  const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 24) / (n * n));
  for (int64_t a0 = 0; a0 < n; a0 += chunk) {
    const int64_t a1 = std::min(n, a0 + chunk);
    auto sa = s.slice(0, a0, a1);
    auto s_ap = sa.unsqueeze(2), s_an = sa.unsqueeze(1);  // [c, N, 1], [c, 1, N]
    auto valid = pos_mask.slice(0, a0, a1).unsqueeze(2) & neg_mask.slice(0, a0, a1).unsqueeze(1);
    switch (o.kind()) {
      case TripletMining::kBatchAll: break;
      case TripletMining::kSemiHard: {
        auto lower = s_ap - o.margin();
        valid = valid & (s_an < s_ap) & (o.inclusive_band() ? s_an >= lower : s_an > lower);
        break;
      }
      case TripletMining::kHard: valid = valid & (s_an >= s_ap); break;
      case TripletMining::kViolating: valid = valid & (s_an >= s_ap - o.margin()); break;
      case TripletMining::kBatchHard: TORCH_INTERNAL_ASSERT(false);
    }
    auto idx = valid.nonzero();  // [T, 3]: anchor - a0, positive, negative
    as.push_back(idx.select(1, 0) + a0);
    ps.push_back(idx.select(1, 1));
    ns.push_back(idx.select(1, 2));
  }
  return {torch::cat(as), torch::cat(ps), torch::cat(ns)};
}

}  // namespace contra::negatives
