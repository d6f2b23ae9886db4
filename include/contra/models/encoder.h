#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

namespace contra::models {

enum class EncoderKind { kConvNet, kResNet18, kResNet34, kResNet50 };

/// A type-erased image encoder: the module (for parameters, train/eval, save/load) plus its
/// forward and output size. x: [B, C, H, W] -> [B, dim].
struct Encoder {
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  int64_t dim = 0;
};

struct EncoderSpec {
  EncoderKind kind = EncoderKind::kConvNet;
  int64_t in_channels = 1;
  /// ConvNet widths.
  std::vector<int64_t> widths{32, 64, 128, 256};
  /// ConvNet final pooling grid (1 = global average pooling).
  int64_t pool_grid = 1;
  /// ResNet stem and base width.
  bool small_stem = true;
  int64_t base_width = 64;
  /// ConvNet: batch norm + ReLU fused in training (ConvNetOptions::fuse_bn_relu).
  bool fuse_bn_relu = false;
};

Encoder make_encoder(const EncoderSpec& spec);

/// Name <-> kind for the config edge: "convnet", "resnet18", "resnet34", "resnet50".
EncoderKind encoder_kind_from_string(const std::string& name);
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> encoder_kind_names();
std::string to_string(EncoderKind kind);

}  // namespace contra::models
