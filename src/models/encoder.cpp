#include "contra/models/encoder.h"

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/models/convnet.h"
#include "contra/models/resnet.h"

namespace contra::models {
namespace {
const NameTable<EncoderKind, 4> kEncoderNames = {{"convnet", EncoderKind::kConvNet},
                                                      {"resnet18", EncoderKind::kResNet18},
                                                      {"resnet34", EncoderKind::kResNet34},
                                                      {"resnet50", EncoderKind::kResNet50}};
}  // namespace

EncoderKind encoder_kind_from_string(const std::string& name) {
  return from_name(kEncoderNames, name, "encoder");
}

std::vector<std::string> encoder_kind_names() { return names_of(kEncoderNames); }

std::string to_string(EncoderKind kind) { return name_of(kEncoderNames, kind); }

Encoder make_encoder(const EncoderSpec& spec) {
  Encoder e;
  if (spec.kind == EncoderKind::kConvNet) {
    ConvNet net(ConvNetOptions()
                    .in_channels(spec.in_channels)
                    .widths(spec.widths)
                    .pool_grid(spec.pool_grid)
                    .fuse_bn_relu(spec.fuse_bn_relu));
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
