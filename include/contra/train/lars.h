#pragma once
#include <vector>

#include "contra/train/optimizer.h"

namespace contra::train {

/// LARS: "Large Batch Training of Convolutional Networks" (You, Gitman, Ginsburg, 2017), as used
/// by SimCLR. For each decayed parameter w with gradient g:
///   g' = g + wd * w;  trust = eta * |w| / |g'| (1 when either norm is 0);
///   v = momentum * v + lr * trust * g';  w -= v.
/// Excluded parameters (biases, norms) use plain momentum SGD without decay or trust ratio.
class Lars final : public Optimizer {
 public:
  Lars(ParamGroups groups, OptimizerOptions options);
  void step() override;
  void zero_grad() override;
  void set_lr(double lr) override { lr_ = lr; }
  std::vector<at::Tensor> parameters() const override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  ParamGroups groups_;
  OptimizerOptions options_;
  double lr_;
  std::vector<at::Tensor> velocity_decay_, velocity_no_decay_;
};

}  // namespace contra::train
