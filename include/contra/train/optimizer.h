#pragma once
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace contra::train {

enum class OptimizerKind { kSGD, kAdamW, kLARS };
OptimizerKind optimizer_kind_from_string(const std::string& name);  ///< sgd | adamw | lars
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> optimizer_kind_names();

struct OptimizerOptions {
  explicit OptimizerOptions(OptimizerKind kind) : kind_(kind) {}
  TORCH_ARG(OptimizerKind, kind);
  /// Peak learning rate after batch scaling; the schedule sets the current one (default 0.1).
  TORCH_ARG(double, lr) = 0.1;
  /// Momentum for SGD and LARS (default 0.9).
  TORCH_ARG(double, momentum) = 0.9;
  /// Decoupled for AdamW, L2 for SGD/LARS; never applied to biases or norm parameters (default 0).
  TORCH_ARG(double, weight_decay) = 0.0;
  /// AdamW moments and epsilon (defaults 0.9, 0.999, 1e-8).
  TORCH_ARG(double, beta1) = 0.9;
  TORCH_ARG(double, beta2) = 0.999;
  TORCH_ARG(double, eps) = 1e-8;
  /// LARS trust coefficient (You et al. 2017) (default 0.001).
  TORCH_ARG(double, lars_eta) = 0.001;
};

/// Parameters split for weight decay: matrices and kernels decay; biases and norm scales
/// (1-D tensors) do not, and LARS does not adapt them. Parameters in `never_decay` (whatever
/// their shape: a method's learned temperature or bias, Method::no_decay_parameters) join the
/// no-decay group too.
struct ParamGroups {
  std::vector<at::Tensor> decay, no_decay;
};
ParamGroups split_for_weight_decay(const std::vector<at::Tensor>& params,
                                   const std::vector<at::Tensor>& never_decay = {});

/// One interface over SGD (momentum), AdamW and LARS, with the learning rate set from outside
/// by the schedule, and state that checkpoints save and restore.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  virtual void zero_grad() = 0;
  virtual void set_lr(double lr) = 0;
  /// The parameters it updates (the trainer checks their gradients before each step).
  virtual std::vector<at::Tensor> parameters() const = 0;
  virtual void save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
};

/// The optimizer over `params`, split by split_for_weight_decay(params, never_decay).
std::unique_ptr<Optimizer> make_optimizer(const std::vector<at::Tensor>& params,
                                          const OptimizerOptions& options,
                                          const std::vector<at::Tensor>& never_decay = {});

}  // namespace contra::train
