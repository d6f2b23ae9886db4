#include "contra/train/lars.h"

#include <torch/torch.h>

namespace contra::train {

Lars::Lars(ParamGroups groups, OptimizerOptions options)
    : groups_(std::move(groups)), options_(options), lr_(options.lr()) {
  for (const auto& p : groups_.decay) velocity_decay_.push_back(torch::zeros_like(p));
  for (const auto& p : groups_.no_decay) velocity_no_decay_.push_back(torch::zeros_like(p));
}

void Lars::step() {
  torch::NoGradGuard no_grad;
  const double m = options_.momentum(), wd = options_.weight_decay(), eta = options_.lars_eta();
  for (size_t i = 0; i < groups_.decay.size(); ++i) {
    auto& w = groups_.decay[i];
    if (!w.grad().defined()) continue;
    auto g = w.grad() + wd * w;
    double wn = w.norm().item<double>(), gn = g.norm().item<double>();
    double trust = (wn > 0 && gn > 0) ? eta * wn / gn : 1.0;
    velocity_decay_[i].mul_(m).add_(g, lr_ * trust);
    w.sub_(velocity_decay_[i]);
  }
  for (size_t i = 0; i < groups_.no_decay.size(); ++i) {
    auto& w = groups_.no_decay[i];
    if (!w.grad().defined()) continue;
    velocity_no_decay_[i].mul_(m).add_(w.grad(), lr_);
    w.sub_(velocity_no_decay_[i]);
  }
}

void Lars::zero_grad() {
  for (auto* list : {&groups_.decay, &groups_.no_decay})
    for (auto& p : *list)
      if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

std::vector<at::Tensor> Lars::parameters() const {
  std::vector<at::Tensor> out = groups_.decay;
  out.insert(out.end(), groups_.no_decay.begin(), groups_.no_decay.end());
  return out;
}

void Lars::save(torch::serialize::OutputArchive& archive) const {
  for (size_t i = 0; i < velocity_decay_.size(); ++i)
    archive.write("lars_v_decay_" + std::to_string(i), velocity_decay_[i], /*is_buffer=*/true);
  for (size_t i = 0; i < velocity_no_decay_.size(); ++i)
    archive.write("lars_v_nodecay_" + std::to_string(i), velocity_no_decay_[i], true);
}

void Lars::load(torch::serialize::InputArchive& archive) {
  for (size_t i = 0; i < velocity_decay_.size(); ++i)
    archive.read("lars_v_decay_" + std::to_string(i), velocity_decay_[i], true);
  for (size_t i = 0; i < velocity_no_decay_.size(); ++i)
    archive.read("lars_v_nodecay_" + std::to_string(i), velocity_no_decay_[i], true);
}

}  // namespace contra::train
