#pragma once
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace contra::models {

struct ConvNetOptions {
  /// Input channels (default 1).
  TORCH_ARG(int64_t, in_channels) = 1;
  /// Output channels of each 3x3 conv + BN + ReLU block (default the peer's 32, 64, 128, 256).
  TORCH_ARG(std::vector<int64_t>, widths) = std::vector<int64_t>{32, 64, 128, 256};
  /// Indices of blocks followed by a 2x2 max-pool (default {1, 2}: after the 2nd and 3rd).
  TORCH_ARG(std::vector<int64_t>, pool_after) = std::vector<int64_t>{1, 2};
  /// Final average pooling to a grid x grid map, flattened (default 1: global pooling). A 2x2
  /// grid keeps coarse layout, which matters on small centred images such as Fashion-MNIST.
  TORCH_ARG(int64_t, pool_grid) = 1;
  /// Batch norm and ReLU fused (two sweeps over memory each way instead of three) in training on
  /// the CPU, channels-last (models/batch_norm_relu.h; the same up to float rounding). The ReLU's
  /// place in `body` then holds an Identity, so parameter names do not change.
  TORCH_ARG(bool, fuse_bn_relu) = false;
};

/// A small ConvNet: blocks of 3x3 conv (no bias) + BN + ReLU, max-pools where asked, then global
/// average pooling to pool_grid x pool_grid. x: [B, C, H, W] -> [B, widths.back() * pool_grid^2].
class ConvNetImpl : public torch::nn::Cloneable<ConvNetImpl> {
 public:
  explicit ConvNetImpl(ConvNetOptions options = {});
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  int64_t output_dim() const {
    return options.widths().back() * options.pool_grid() * options.pool_grid();
  }
  void pretty_print(std::ostream& stream) const override;

  ConvNetOptions options;
  torch::nn::Sequential body{nullptr};
};
TORCH_MODULE(ConvNet);

}  // namespace contra::models
