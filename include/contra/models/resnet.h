#pragma once
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace contra::models {

/// ResNet (He et al., "Deep Residual Learning for Image Recognition", 2016) without its
/// classifier: depth 18 or 34 (basic blocks) or 50 (bottlenecks).
struct ResNetOptions {
  explicit ResNetOptions(int64_t depth) : depth_(depth) {}
  /// 18, 34 or 50 (required).
  TORCH_ARG(int64_t, depth);
  /// Input channels (default 3).
  TORCH_ARG(int64_t, in_channels) = 3;
  /// Small-image stem: 3x3 stride-1 conv and no max-pool, for 28-32 px inputs (default false:
  /// the ImageNet 7x7 stride-2 conv + 3x3 max-pool).
  TORCH_ARG(bool, small_stem) = false;
  /// Channels of the first stage; later stages double it (default 64).
  TORCH_ARG(int64_t, base_width) = 64;
};

/// x: [B, C, H, W] -> features [B, output_dim()] after global average pooling.
class ResNetImpl : public torch::nn::Cloneable<ResNetImpl> {
 public:
  explicit ResNetImpl(ResNetOptions options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  int64_t output_dim() const;
  void pretty_print(std::ostream& stream) const override;

  ResNetOptions options;
  torch::nn::Sequential stem{nullptr}, stages{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace contra::models
