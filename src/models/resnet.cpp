#include "contra/models/resnet.h"

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/models/batch_norm.h"

namespace contra::models {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).bias(false));
}

/// Basic (two 3x3) or bottleneck (1x1, 3x3, 1x1 with 4x expansion) residual block.
class BlockImpl : public torch::nn::Cloneable<BlockImpl> {
 public:
  BlockImpl(int64_t in, int64_t width, int64_t stride, bool bottleneck)
      : in_(in), width_(width), stride_(stride), bottleneck_(bottleneck) {
    reset();
  }
  void reset() override {
    int64_t out = width_ * (bottleneck_ ? 4 : 1);
    body = torch::nn::Sequential();
    if (bottleneck_) {
      body->push_back(conv(in_, width_, 1, 1));
      body->push_back(BatchNorm(width_, 2));
      body->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
      body->push_back(conv(width_, width_, 3, stride_));
      body->push_back(BatchNorm(width_, 2));
      body->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
      body->push_back(conv(width_, out, 1, 1));
    } else {
      body->push_back(conv(in_, width_, 3, stride_));
      body->push_back(BatchNorm(width_, 2));
      body->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
      body->push_back(conv(width_, out, 3, 1));
    }
    BatchNorm last_bn(out, 2);
    // Zero-init the last BN of each residual branch (Goyal et al. 2017): blocks start as identity.
    torch::nn::init::zeros_(last_bn->weight);
    body->push_back(last_bn);
    register_module("body", body);
    if (stride_ != 1 || in_ != out) {
      shortcut = torch::nn::Sequential(conv(in_, out, 1, stride_), BatchNorm(out, 2));
      register_module("shortcut", shortcut);
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto identity = shortcut ? shortcut->forward(x) : x;
    auto out = body->forward(x) + identity;
    return out.relu_();
  }
  torch::nn::Sequential body{nullptr}, shortcut{nullptr};

 private:
  int64_t in_, width_, stride_;
  bool bottleneck_;
};
TORCH_MODULE(Block);

std::vector<int64_t> stage_blocks(int64_t depth) {
  switch (depth) {
    case 18: return {2, 2, 2, 2};
    case 34: return {3, 4, 6, 3};
    case 50: return {3, 4, 6, 3};
  }
  throw contra::Error(c10::str("ResNet depth must be 18, 34 or 50, got ", depth));
}

}  // namespace

ResNetImpl::ResNetImpl(ResNetOptions options_) : options(options_) { reset(); }

void ResNetImpl::reset() {
  auto blocks = stage_blocks(options.depth());
  CONTRA_CHECK(options.in_channels() >= 1, "ResNet input channels must be >= 1");
  CONTRA_CHECK(options.base_width() >= 1, "ResNet base width must be >= 1");
  const bool bottleneck = options.depth() >= 50;
  const int64_t base = options.base_width();
  stem = torch::nn::Sequential();
  if (options.small_stem()) {
    stem->push_back(conv(options.in_channels(), base, 3, 1));
  } else {
    stem->push_back(conv(options.in_channels(), base, 7, 2));
  }
  stem->push_back(BatchNorm(base, 2));
  stem->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  if (!options.small_stem())
    stem->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
  register_module("stem", stem);

  stages = torch::nn::Sequential();
  int64_t in = base;
  for (size_t s = 0; s < blocks.size(); ++s) {
    int64_t width = base << s;
    for (int64_t b = 0; b < blocks[s]; ++b) {
      int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      stages->push_back(Block(in, width, stride, bottleneck));
      in = width * (bottleneck ? 4 : 1);
    }
  }
  stages->push_back(torch::nn::AdaptiveAvgPool2d(1));
  stages->push_back(torch::nn::Flatten());
  register_module("stages", stages);
}

int64_t ResNetImpl::output_dim() const {
  return (options.base_width() << 3) * (options.depth() >= 50 ? 4 : 1);
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& x) {
  return stages->forward(stem->forward(x));
}

void ResNetImpl::pretty_print(std::ostream& stream) const {
  stream << "contra::models::ResNet(depth=" << options.depth()
         << ", in_channels=" << options.in_channels()
         << ", small_stem=" << (options.small_stem() ? "true" : "false")
         << ", base_width=" << options.base_width() << ")";
}

}  // namespace contra::models
