#include "contra/models/convnet.h"

#include <algorithm>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/models/batch_norm.h"

namespace contra::models {

ConvNetImpl::ConvNetImpl(ConvNetOptions options_) : options(std::move(options_)) { reset(); }

void ConvNetImpl::reset() {
  CONTRA_CHECK(!options.widths().empty(), "model.widths must list at least one width");
  CONTRA_CHECK(options.in_channels() >= 1, "model input channels must be >= 1, got ",
               options.in_channels());
  body = torch::nn::Sequential();
  int64_t in = options.in_channels();
  const auto& pools = options.pool_after();
  for (size_t i = 0; i < options.widths().size(); ++i) {
    int64_t out = options.widths()[i];
    CONTRA_CHECK(out >= 1, "model.widths[", i, "] must be >= 1, got ", out);
    body->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
    if (options.fuse_bn_relu()) {
      BatchNorm bn(out, 2);
      bn->with_relu(/*fused=*/true);
      body->push_back(bn);
      body->push_back(torch::nn::Identity());
    } else {
      body->push_back(BatchNorm(out, 2));
      body->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
    }
    if (std::find(pools.begin(), pools.end(), int64_t(i)) != pools.end())
      body->push_back(torch::nn::MaxPool2d(2));
    in = out;
  }
  CONTRA_CHECK(options.pool_grid() >= 1, "model.pool_grid must be >= 1, got ", options.pool_grid());
  body->push_back(torch::nn::AdaptiveAvgPool2d(options.pool_grid()));
  body->push_back(torch::nn::Flatten());
  register_module("body", body);
}

torch::Tensor ConvNetImpl::forward(const torch::Tensor& x) { return body->forward(x); }

void ConvNetImpl::pretty_print(std::ostream& stream) const {
  stream << "contra::models::ConvNet(in_channels=" << options.in_channels() << ", widths=[";
  for (size_t i = 0; i < options.widths().size(); ++i)
    stream << (i ? ", " : "") << options.widths()[i];
  stream << "], pool_grid=" << options.pool_grid() << ")";
}

}  // namespace contra::models
