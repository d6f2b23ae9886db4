#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace contra::methods {

/// The communication a method needs when it runs as one of several processes: global negatives
/// (gathering every rank's embeddings) and MoCo's cross-rank shuffle. `dist/` implements it on
/// c10d; this base class is the single-process case, where every operation is the identity, so
/// a method has one code path for any number of processes.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int64_t rank() const { return 0; }
  virtual int64_t size() const { return 1; }
  /// The ranks' equally shaped [n, ...] tensors concatenated along dim 0 in rank order,
  /// [size * n, ...]. The backward pass sums, over all ranks, the gradient each rank's loss sends
  /// to this rank's slice, so global negatives train as one process with the whole batch would.
  virtual at::Tensor all_gather_with_grad(const at::Tensor& x) { return x; }
  /// As all_gather_with_grad, without gradient (keys, labels, indices).
  virtual at::Tensor all_gather(const at::Tensor& x) { return x; }
  /// Overwrites x with rank 0's x (same shape and type on every rank).
  virtual void broadcast_(at::Tensor& x) {}
};

}  // namespace contra::methods
