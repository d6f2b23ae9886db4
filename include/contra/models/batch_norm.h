#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace contra::models {

/// Sums batch statistics over the processes that train together (synchronised batch norm);
/// implemented by dist/. The sum must pass gradients back (backward: the sum of the gradients).
class StatsReducer {
 public:
  virtual ~StatsReducer() = default;
  virtual at::Tensor all_reduce_sum_with_grad(const at::Tensor& x) = 0;
};

/// Batch normalisation over [N, C] (dims 1) or [N, C, H, W] (dims 2) inputs, the models' only
/// batch norm. Alone it is torch::nn::BatchNorm1d/2d exactly (same parameters, buffers and
/// names, same kernel), or batch norm + ReLU (with_relu). Given a StatsReducer, training batches
/// are normalised with the mean and variance of every process's batch (SyncBatchNorm), the
/// running statistics too.
class BatchNormImpl : public torch::nn::Cloneable<BatchNormImpl> {
 public:
  BatchNormImpl(int64_t features, int64_t dims, double eps = 1e-5, double momentum = 0.1);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  /// Synchronise training statistics through `reducer` (null: this process alone).
  void synchronise(std::shared_ptr<StatsReducer> reducer) { reducer_ = std::move(reducer); }
  /// Apply ReLU to the output too (the layer then stands for batch norm + ReLU). `fused`: in
  /// training on the CPU, fused (models/batch_norm_relu.h) where it applies
  /// (not with synchronised statistics); otherwise torch::batch_norm, then ReLU.
  void with_relu(bool fused) { relu_ = true, fused_ = fused; }

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  friend class DeferredBatchNormStats;
  torch::Tensor synchronised(const torch::Tensor& x);
  /// The training pass's running-statistics update alone (output discarded).
  void update_running_stats(const torch::Tensor& x);
  torch::Tensor unfused(const torch::Tensor& x);
  /// Training passes on x take the fused batch norm + ReLU.
  bool fuses(const torch::Tensor& x) const;
  int64_t features_, dims_;
  double eps_, momentum_;
  bool relu_ = false, fused_ = false;
  std::shared_ptr<StatsReducer> reducer_;
};
TORCH_MODULE(BatchNorm);

/// Running-statistics updates held back: while a DeferBatchNormStats guard is alive on a thread,
/// the BatchNorm training passes made on that thread normalise as usual (with the batch's
/// statistics) but leave running_mean, running_var and num_batches_tracked alone, recording each
/// pass's input instead; replay() then makes those updates, in the order of the passes, with the
/// same kernel on the same inputs, so the buffers end bitwise as if they had not been held back
/// (on a thread with the same intra-op thread count). This lets two threads encode the two views
/// of a batch at once: the second view's updates wait until the first view's are done.
/// Not for synchronised batch norm (a StatsReducer): the forward pass then throws.
class DeferredBatchNormStats {
 public:
  /// Makes the recorded updates, in order, and forgets them. Call with no pass in flight.
  void replay();
  /// Recorded passes not yet replayed.
  size_t size() const { return passes_.size(); }

 private:
  friend class BatchNormImpl;
  struct Pass {
    BatchNormImpl* layer;
    torch::Tensor input;
  };
  std::vector<Pass> passes_;
};

/// While alive, BatchNorm training passes on this thread record into `stats` (see
/// DeferredBatchNormStats); guards nest, the innermost wins.
class DeferBatchNormStats {
 public:
  explicit DeferBatchNormStats(DeferredBatchNormStats& stats);
  ~DeferBatchNormStats();
  DeferBatchNormStats(const DeferBatchNormStats&) = delete;
  DeferBatchNormStats& operator=(const DeferBatchNormStats&) = delete;

 private:
  DeferredBatchNormStats* previous_;
};

/// Sets (or, with null, clears) the reducer of every BatchNorm inside `module`.
void synchronise_batch_norm(torch::nn::Module& module, const std::shared_ptr<StatsReducer>& reducer);

}  // namespace contra::models
