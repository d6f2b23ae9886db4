#include "contra/models/encoder.h"

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/models/convnet.h"
#include "contra/models/resnet.h"

namespace contra::models {
namespace {
const std::pair<const char*, EncoderKind> kNames[] = {{"convnet", EncoderKind::kConvNet},
                                                      {"resnet18", EncoderKind::kResNet18},
                                                      {"resnet34", EncoderKind::kResNet34},
                                                      {"resnet50", EncoderKind::kResNet50}};
}  // namespace

EncoderKind encoder_kind_from_string(const std::string& name) {
  std::string valid;
  for (const auto& [n, k] : kNames) {
    if (name == n) return k;
    valid += valid.empty() ? n : std::string(", ") + n;
  }
  throw Error("unknown encoder '" + name + "'; valid: " + valid);
}

std::string to_string(EncoderKind kind) {
  for (const auto& [n, k] : kNames)
    if (k == kind) return n;
  TORCH_INTERNAL_ASSERT(false, "unnamed EncoderKind");
}

Encoder make_encoder(const EncoderSpec& spec) {
  Encoder e;
  if (spec.kind == EncoderKind::kConvNet) {
    ConvNet net(ConvNetOptions()
                    .in_channels(spec.in_channels)
                    .widths(spec.widths)
                    .pool_grid(spec.pool_grid));
    e.module = net.ptr();
    e.forward = [net](const torch::Tensor& x) mutable { return net->forward(x); };
    e.dim = net->output_dim();
    return e;
  }
  int64_t depth = spec.kind == EncoderKind::kResNet18   ? 18
                  : spec.kind == EncoderKind::kResNet34 ? 34
                                                        : 50;
  ResNet net(ResNetOptions(depth)
                 .in_channels(spec.in_channels)
                 .small_stem(spec.small_stem)
                 .base_width(spec.base_width));
  e.module = net.ptr();
  e.forward = [net](const torch::Tensor& x) mutable { return net->forward(x); };
  e.dim = net->output_dim();
  return e;
}

}  // namespace contra::models
