#include "contra/models/batch_norm.h"

#include <ATen/Context.h>
#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/models/batch_norm_relu.h"

namespace contra::models {

BatchNormImpl::BatchNormImpl(int64_t features, int64_t dims, double eps, double momentum)
    : features_(features), dims_(dims), eps_(eps), momentum_(momentum) {
  CONTRA_CHECK(features >= 1 && (dims == 1 || dims == 2),
               "batch norm needs >= 1 features and 1 or 2 spatial kinds, got ", features, ", ", dims);
  reset();
}

void BatchNormImpl::reset() {
  // The names and initial values of torch::nn::BatchNorm: checkpoints read either way.
  weight = register_parameter("weight", torch::ones({features_}));
  bias = register_parameter("bias", torch::zeros({features_}));
  running_mean = register_buffer("running_mean", torch::zeros({features_}));
  running_var = register_buffer("running_var", torch::ones({features_}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

namespace {
/// This thread's DeferBatchNormStats target, or null.
thread_local DeferredBatchNormStats* deferred_batch_norm_stats = nullptr;
}  // namespace

DeferBatchNormStats::DeferBatchNormStats(DeferredBatchNormStats& stats)
    : previous_(deferred_batch_norm_stats) {
  deferred_batch_norm_stats = &stats;
}

DeferBatchNormStats::~DeferBatchNormStats() { deferred_batch_norm_stats = previous_; }

void DeferredBatchNormStats::replay() {
  auto passes = std::move(passes_);
  passes_.clear();
  for (const auto& p : passes) p.layer->update_running_stats(p.input);
}

void BatchNormImpl::update_running_stats(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  num_batches_tracked.add_(1);
  if (fuses(x)) {  // the fused forward's own update (the output is dropped)
    batch_norm_relu_train(x, weight, bias, running_mean, running_var, momentum_, eps_);
    return;
  }
  // forward()'s own call (the output is dropped; the statistics depend on x alone).
  torch::batch_norm(x, weight, bias, running_mean, running_var, /*training=*/true, momentum_, eps_,
                    at::globalContext().userEnabledCuDNN());
}

torch::Tensor BatchNormImpl::forward(const torch::Tensor& x) {
  const int64_t want = dims_ == 1 ? 2 : 4;
  CONTRA_CHECK(x.dim() == want && x.size(1) == features_, "batch norm expects [N, ", features_,
               dims_ == 1 ? "]" : ", H, W]", ", got ", x.sizes());
  if (!relu_) return unfused(x);
  if (is_training() && fuses(x)) {
    if (deferred_batch_norm_stats) {  // the running statistics' update waits for replay()
      deferred_batch_norm_stats->passes_.push_back({this, x.detach()});
      return batch_norm_relu_train(x, weight, bias, running_mean.clone(), running_var.clone(), momentum_, eps_);
    }
    {
      torch::NoGradGuard no_grad;
      num_batches_tracked.add_(1);
    }
    return batch_norm_relu_train(x, weight, bias, running_mean, running_var, momentum_, eps_);
  }
  auto y = unfused(x);
  return torch::relu_(y);
}

bool BatchNormImpl::fuses(const torch::Tensor& x) const {
  return relu_ && fused_ && !reducer_ && batch_norm_relu_supported(x) && weight.scalar_type() == torch::kFloat &&
         weight.device().is_cpu();
}

torch::Tensor BatchNormImpl::unfused(const torch::Tensor& x) {
  if (is_training() && deferred_batch_norm_stats) {
    CONTRA_CHECK(!reducer_, "synchronised batch norm cannot hold back its running statistics "
                 "(model.parallel_views with dist.sync_bn)");
    deferred_batch_norm_stats->passes_.push_back({this, x.detach()});
    // Batch statistics only: no running buffers to update.
    return torch::batch_norm(x, weight, bias, {}, {}, /*training=*/true, momentum_, eps_,
                             at::globalContext().userEnabledCuDNN());
  }
  if (is_training()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  if (is_training() && reducer_) return synchronised(x);
  // What torch::nn::BatchNorm{1,2}d's forward does, call for call.
  return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum_,
                           eps_, at::globalContext().userEnabledCuDNN());
}

torch::Tensor BatchNormImpl::synchronised(const torch::Tensor& x) {
  std::vector<int64_t> dims = {0};
  if (dims_ == 2) dims = {0, 2, 3};
  // Sums (in float64, against cancellation in E[x^2] - E[x]^2) and counts of every process.
  auto count = torch::full({1}, double(x.numel() / features_), x.options().dtype(torch::kDouble));
  auto local = torch::cat({x.sum(dims, false, torch::kDouble), (x * x).sum(dims, false, torch::kDouble), count});
  auto total = reducer_->all_reduce_sum_with_grad(local);
  auto n = total.slice(0, 2 * features_, 2 * features_ + 1);
  auto mean = total.slice(0, 0, features_) / n;
  auto var = (total.slice(0, features_, 2 * features_) / n - mean * mean).clamp_min(0);
  {
    torch::NoGradGuard no_grad;
    const double nn = n.item<double>();
    running_mean.mul_(1 - momentum_).add_(mean.to(running_mean.dtype()), momentum_);
    running_var.mul_(1 - momentum_).add_((var * (nn / std::max(1.0, nn - 1))).to(running_var.dtype()), momentum_);
  }
  std::vector<int64_t> shape = {1, features_};
  if (dims_ == 2) shape = {1, features_, 1, 1};
  auto scale = (var + eps_).rsqrt().to(x.scalar_type()) * weight;
  auto shift = bias - mean.to(x.scalar_type()) * scale;
  return x * scale.view(shape) + shift.view(shape);
}

void synchronise_batch_norm(torch::nn::Module& module, const std::shared_ptr<StatsReducer>& reducer) {
  for (auto& m : module.modules(/*include_self=*/true))
    if (auto* bn = dynamic_cast<BatchNormImpl*>(m.get())) bn->synchronise(reducer);
}

}  // namespace contra::models
