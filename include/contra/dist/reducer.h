#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "contra/dist/group.h"

namespace contra::dist {

/// Averages parameter gradients over the ranks after the backward pass, as DistributedDataParallel
/// does: the gradients are packed into buckets of about `bucket_bytes` (in parameter order, one
/// dtype and device per bucket), each bucket is one all-reduce, and all buckets are in flight at
/// once. A parameter without a gradient counts as a zero gradient (and gets one).
class GradientReducer {
 public:
  GradientReducer(std::vector<at::Tensor> parameters, std::shared_ptr<Group> group,
                  int64_t bucket_bytes = int64_t(25) << 20);
  void average();
  int64_t buckets() const { return int64_t(buckets_.size()); }

 private:
  std::vector<at::Tensor> params_;
  std::shared_ptr<Group> group_;
  std::vector<std::vector<size_t>> buckets_;  // indices into params_
};

/// Overwrites every parameter and buffer of `module` with rank 0's (the same initial state
/// everywhere, whatever each rank's random initialisation).
void broadcast_module(torch::nn::Module& module, Group& group);

/// Replaces the batch-norm running statistics (buffers named *running_mean, *running_var) of
/// `module` by their mean over the ranks, so that the saved model's statistics come from every
/// rank's data (each rank updates its own from its own samples during training). Other buffers
/// (MoCo's queue, identical on every rank) are left alone.
void average_buffers(torch::nn::Module& module, Group& group);

}  // namespace contra::dist
