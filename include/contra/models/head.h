#pragma once
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace contra::models {

struct ProjectionHeadOptions {
  ProjectionHeadOptions(int64_t in_dim, int64_t out_dim) : in_dim_(in_dim), out_dim_(out_dim) {}
  /// Input features (the encoder's output) (required).
  TORCH_ARG(int64_t, in_dim);
  /// Output (embedding) size (required).
  TORCH_ARG(int64_t, out_dim);
  /// Hidden size of the inner layers (default 512).
  TORCH_ARG(int64_t, hidden_dim) = 512;
  /// Linear layers in total; 1 is a plain linear map (default 2).
  TORCH_ARG(int64_t, layers) = 2;
  /// Batch norm after each hidden linear layer (default false, as SimCLR's reference peer).
  TORCH_ARG(bool, batch_norm) = false;
};

/// MLP projection head (SimCLR, Chen et al. 2020): (Linear [+BN] + ReLU) x (layers-1) + Linear.
/// x: [B, in_dim] -> [B, out_dim].
class ProjectionHeadImpl : public torch::nn::Cloneable<ProjectionHeadImpl> {
 public:
  explicit ProjectionHeadImpl(ProjectionHeadOptions options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  ProjectionHeadOptions options;
  torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(ProjectionHead);

}  // namespace contra::models
