#pragma once
#include <ATen/core/Tensor.h>

namespace contra::losses {

/// What every contrastive loss returns: the loss and what it says about the batch (the
/// diagnostics carry no gradient). Methods, the trainer and the metrics read it.
struct ContrastiveOutput {
  at::Tensor loss;            ///< the reduced loss (NT-Xent: scalar mean over the 2N anchors)
  double positive_sim = 0.0;  ///< mean similarity of positive pairs (before temperature)
  double negative_sim = 0.0;  ///< mean similarity of negative pairs
  double top1 = 0.0;          ///< share of anchors whose positive ranks first
  double active = 1.0;        ///< share of anchors (or mined triplets' anchors) in the loss
};

}  // namespace contra::losses
