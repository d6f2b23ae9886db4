#pragma once
#include <cstdint>
#include <string>

#include <torch/nn/module.h>

#include "contra/train/checkpoint.h"
#include "contra/train/optimizer.h"

namespace contra::run {

/// A run folder's checkpoints: each save writes checkpoint-<step>.pt atomically, then points
/// checkpoint.pt at it (a hard link, swapped in by rename: no copy, never half-written), and
/// deletes all but the newest `keep`. A crash at any moment leaves checkpoint.pt whole.
class Checkpoints {
 public:
  Checkpoints(std::string folder, int64_t keep);
  void save(torch::nn::Module& model, const train::Optimizer* optimizer,
            const train::CheckpointState& state) const;
  /// Loads checkpoint.pt. If it is missing or corrupt, the error names the newest older
  /// checkpoint-<step>.pt that could be used instead (and how).
  train::CheckpointState load_latest(torch::nn::Module& model, train::Optimizer* optimizer) const;

 private:
  std::string folder_;
  int64_t keep_;
};

}  // namespace contra::run
