#include "contra/train/optimizer.h"

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/train/lars.h"

namespace contra::train {

namespace {
const NameTable<OptimizerKind, 3> kOptimizerKindNames = {
      {"sgd", OptimizerKind::kSGD}, {"adamw", OptimizerKind::kAdamW}, {"lars", OptimizerKind::kLARS}};
}  // namespace

OptimizerKind optimizer_kind_from_string(const std::string& name) {
  return from_name(kOptimizerKindNames, name, "optimizer");
}

std::vector<std::string> optimizer_kind_names() { return names_of(kOptimizerKindNames); }

ParamGroups split_for_weight_decay(const std::vector<at::Tensor>& params,
                                   const std::vector<at::Tensor>& never_decay) {
  ParamGroups g;
  for (const auto& p : params) {
    bool listed = false;
    for (const auto& q : never_decay) listed |= p.is_same(q);
    (p.dim() <= 1 || listed ? g.no_decay : g.decay).push_back(p);
  }
  return g;
}

namespace {

/// Wraps a torch::optim optimizer built with two groups: {decay, no_decay}.
template <class TorchOpt, class TorchOptions>
class TorchOptimizer final : public Optimizer {
 public:
  TorchOptimizer(const ParamGroups& g, TorchOptions decay, TorchOptions no_decay)
      : opt_({torch::optim::OptimizerParamGroup(g.decay, std::make_unique<TorchOptions>(decay)),
              torch::optim::OptimizerParamGroup(g.no_decay,
                                                std::make_unique<TorchOptions>(no_decay))},
             decay) {}
  void step() override { opt_.step(); }
  void zero_grad() override { opt_.zero_grad(); }
  void set_lr(double lr) override {
    for (auto& group : opt_.param_groups()) static_cast<TorchOptions&>(group.options()).lr(lr);
  }
  std::vector<at::Tensor> parameters() const override {
    std::vector<at::Tensor> out;
    for (const auto& group : opt_.param_groups())
      out.insert(out.end(), group.params().begin(), group.params().end());
    return out;
  }
  void save(torch::serialize::OutputArchive& archive) const override { opt_.save(archive); }
  void load(torch::serialize::InputArchive& archive) override { opt_.load(archive); }

 private:
  mutable TorchOpt opt_;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const std::vector<at::Tensor>& params,
                                          const OptimizerOptions& o,
                                          const std::vector<at::Tensor>& never_decay) {
  CONTRA_CHECK(o.lr() > 0, "optim.lr must be > 0, got ", o.lr());
  CONTRA_CHECK(o.weight_decay() >= 0, "optim.weight_decay must be >= 0, got ", o.weight_decay());
  CONTRA_CHECK(o.momentum() >= 0 && o.momentum() < 1, "optim.momentum must be in [0, 1), got ",
               o.momentum());
  auto groups = split_for_weight_decay(params, never_decay);
  switch (o.kind()) {
    case OptimizerKind::kSGD: {
      auto base = torch::optim::SGDOptions(o.lr()).momentum(o.momentum());
      auto decay = base;
      decay.weight_decay(o.weight_decay());
      return std::make_unique<TorchOptimizer<torch::optim::SGD, torch::optim::SGDOptions>>(
          groups, decay, base);
    }
    case OptimizerKind::kAdamW: {
      auto base = torch::optim::AdamWOptions(o.lr())
                      .betas({o.beta1(), o.beta2()})
                      .eps(o.eps())
                      .weight_decay(0.0);
      auto decay = base;
      decay.weight_decay(o.weight_decay());
      return std::make_unique<TorchOptimizer<torch::optim::AdamW, torch::optim::AdamWOptions>>(
          groups, decay, base);
    }
    case OptimizerKind::kLARS:
      return std::make_unique<Lars>(groups, o);
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled OptimizerKind");
}

}  // namespace contra::train
