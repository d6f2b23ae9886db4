#include "contra/methods/registry.h"

#include <algorithm>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/methods/clip.h"
#include "contra/methods/objective.h"
#include "contra/methods/simcse.h"

namespace contra::methods {

namespace {
/// `names` with `first` moved to the front (the objective a method is usually trained with).
std::vector<std::string> with_first(std::vector<std::string> names, const std::string& first) {
  auto it = std::find(names.begin(), names.end(), first);
  if (it != names.end()) std::rotate(names.begin(), it, it + 1);
  return names;
}
}  // namespace

const std::vector<MethodInfo>& method_registry() {
  using data::DatasetKind;
  static const std::vector<MethodInfo> kRegistry = {
      {MethodKind::kSimCLR, "simclr", Modality::kImage,
       {DatasetKind::kFashionMNIST, DatasetKind::kImageFolder, DatasetKind::kImageTextManifest,
        DatasetKind::kOpenclipart, DatasetKind::kEmoji},
       two_view_loss_names(),
       /*grad_cache=*/true, /*tiled_loss=*/true, /*negatives_policy=*/true},
      // MoCo's objectives are the InfoNCE family; config checks name the others (supcon,
      // triplet) with their own message.
      {MethodKind::kMoCo, "moco", Modality::kImage,
       {DatasetKind::kFashionMNIST, DatasetKind::kImageFolder, DatasetKind::kImageTextManifest,
        DatasetKind::kOpenclipart, DatasetKind::kEmoji},
       two_view_loss_names(),
       /*grad_cache=*/false, /*tiled_loss=*/false, /*negatives_policy=*/true},
      {MethodKind::kSimCSE, "simcse", Modality::kText,
       {DatasetKind::kWordNet, DatasetKind::kTextCorpus}, with_first(simcse_loss_names(), "nt_xent"),
       /*grad_cache=*/false},
      {MethodKind::kSimCSESupervised, "simcse_supervised", Modality::kText,
       {DatasetKind::kWordNet, DatasetKind::kTextPairs}, with_first(simcse_loss_names(), "info_nce"),
       /*grad_cache=*/false},
      // The image-text datasets (data/kinds.h image_text_dataset_kinds): adding a reader there
      // adds it here.
      {MethodKind::kCLIP, "clip", Modality::kImageText, data::image_text_dataset_kinds(),
       clip_loss_names(), /*grad_cache=*/false, /*tiled_loss=*/true},
  };
  return kRegistry;
}

const MethodInfo& method_info(MethodKind kind) {
  for (const auto& m : method_registry())
    if (m.kind == kind) return m;
  TORCH_INTERNAL_ASSERT(false, "method kind missing from the registry");
}

const MethodInfo& method_info(const std::string& name) {
  for (const auto& m : method_registry())
    if (name == m.name) return m;
  throw Error("unknown method '" + name + "'; valid: " + join_names(method_names()));
}

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (const auto& m : method_registry()) out.emplace_back(m.name);
  return out;
}

std::vector<std::string> dataset_names(const MethodInfo& info) {
  std::vector<std::string> out;
  for (auto d : info.datasets) out.push_back(data::to_string(d));
  return out;
}

std::vector<std::string> all_loss_names() {
  std::vector<std::string> out;
  for (const auto& m : method_registry())
    for (const auto& l : m.losses)
      if (std::find(out.begin(), out.end(), l) == out.end()) out.push_back(l);
  return out;
}

}  // namespace contra::methods
