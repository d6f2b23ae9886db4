#pragma once
#include <string>
#include <vector>

#include "contra/data/kinds.h"

namespace contra::methods {

/// The training frameworks (method).
enum class MethodKind {
  kSimCLR,            ///< two augmented views of each image, a two-view objective
  kMoCo,              ///< SimCLR's views with a momentum key encoder and a queue of negatives
  kSimCSE,            ///< two views of each text (dropout noise, text augmentations)
  kSimCSESupervised,  ///< (anchor, positive[, hard negative]) text pairs
  kCLIP,              ///< (image, caption) pairs, an image and a text tower (methods/clip.h)
};

/// What a method's examples are made of; each modality has its own data and evaluation.
enum class Modality {
  kImage,      ///< images (two augmented views each)
  kText,       ///< texts (two views, or pairs)
  kImageText,  ///< images with captions (data::ImageTextDataset): one shared space for both
};

/// What goes with a method: its data, its objectives and the trainer strategies it supports.
/// The one place these pairings are written down: the config checks and the run engine read it.
struct MethodInfo {
  MethodKind kind;
  const char* name;
  Modality modality;
  /// The datasets it trains on, the first being the default.
  std::vector<data::DatasetKind> datasets;
  /// The loss.name values it accepts (from the objective's own name table).
  std::vector<std::string> losses;
  /// Method::split_step exists, so train.grad_cache works.
  bool grad_cache = false;
  /// Its loss has a tiled (linear-memory) pass: loss.tiled=on applies.
  bool tiled_loss = false;
  /// Its objective takes a negatives policy (loss.negatives).
  bool negatives_policy = false;
  /// Several processes are supported (global negatives).
  bool distributed = true;
};

/// Every method, in a stable order.
const std::vector<MethodInfo>& method_registry();
/// The entry of `kind`.
const MethodInfo& method_info(MethodKind kind);
/// The entry named `name`; contra::Error "unknown method 'x'; valid: ..." otherwise.
const MethodInfo& method_info(const std::string& name);
std::vector<std::string> method_names();
/// The names of the datasets a method trains on.
std::vector<std::string> dataset_names(const MethodInfo& info);
/// Every loss name of every method, each once, in registry order.
std::vector<std::string> all_loss_names();

}  // namespace contra::methods
