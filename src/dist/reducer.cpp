#include "contra/dist/reducer.h"

#include <torch/torch.h>

#include "contra/core/error.h"

namespace contra::dist {

GradientReducer::GradientReducer(std::vector<at::Tensor> parameters, std::shared_ptr<Group> group,
                                 int64_t bucket_bytes)
    : params_(std::move(parameters)), group_(std::move(group)) {
  CONTRA_CHECK(group_ != nullptr, "GradientReducer needs a process group");
  CONTRA_CHECK(bucket_bytes > 0, "gradient bucket size must be > 0");
  int64_t filled = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const int64_t nbytes = p.numel() * int64_t(p.element_size());
    const bool fits = !buckets_.empty() && filled + nbytes <= bucket_bytes &&
                      params_[buckets_.back().front()].scalar_type() == p.scalar_type() &&
                      params_[buckets_.back().front()].device() == p.device();
    if (!fits) {
      buckets_.emplace_back();
      filled = 0;
    }
    buckets_.back().push_back(i);
    filled += nbytes;
  }
}

void GradientReducer::average() {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> flat;
  flat.reserve(buckets_.size());
  for (const auto& bucket : buckets_) {
    std::vector<at::Tensor> grads;
    for (size_t i : bucket) {
      auto& p = params_[i];
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad().reshape({-1}));
    }
    flat.push_back(torch::cat(grads));
  }
  group_->all_reduce_sum_(flat);
  const double scale = 1.0 / double(group_->size());
  for (size_t b = 0; b < buckets_.size(); ++b) {
    flat[b].mul_(scale);
    int64_t offset = 0;
    for (size_t i : buckets_[b]) {
      auto& g = params_[i].mutable_grad();
      const int64_t n = g.numel();
      g.copy_(flat[b].slice(0, offset, offset + n).view_as(g));
      offset += n;
    }
  }
}

void broadcast_module(torch::nn::Module& module, Group& group) {
  torch::NoGradGuard no_grad;
  auto sync = [&](at::Tensor t) {
    if (!t.defined()) return;
    auto c = t.contiguous();  // channels-last weights: broadcast a dense copy, write it back
    group.broadcast_(c);
    if (!c.is_same(t)) t.copy_(c);
  };
  for (auto& p : module.parameters()) sync(p);
  for (auto& b : module.buffers()) sync(b);
}

void average_buffers(torch::nn::Module& module, Group& group) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> buffers, dense;
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (auto& b : module.named_buffers())
    if (ends_with(b.key(), "running_mean") || ends_with(b.key(), "running_var")) {
      buffers.push_back(b.value());
      dense.push_back(b.value().contiguous().clone());
    }
  group.all_reduce_sum_(dense);
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(dense[i].div_(double(group.size())));
}

}  // namespace contra::dist
