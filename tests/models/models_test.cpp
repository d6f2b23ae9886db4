#include <gtest/gtest.h>
#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/models/batch_norm.h"
#include "contra/models/convnet.h"
#include "contra/models/encoder.h"
#include "contra/models/head.h"
#include "contra/models/resnet.h"

using namespace contra::models;

TEST(ConvNet, ShapesAndWidths) {
  ConvNet net(ConvNetOptions().in_channels(1).widths({8, 16, 32}));
  auto y = net->forward(torch::randn({3, 1, 28, 28}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{3, 32}));
  EXPECT_EQ(net->output_dim(), 32);
  ConvNet grid(ConvNetOptions().widths({8, 16}).pool_grid(2));
  EXPECT_EQ(grid->forward(torch::randn({3, 1, 28, 28})).sizes(), (std::vector<int64_t>{3, 64}));
  EXPECT_EQ(grid->output_dim(), 64);
}

TEST(ConvNet, DefaultMatchesPeerParameterCount) {
  // Peer small ConvNet: conv(1->32) conv(32->64) conv(64->128) conv(128->256), 3x3 no bias, BN.
  ConvNet net;
  int64_t n = 0;
  for (auto& p : net->parameters()) n += p.numel();
  int64_t conv = 9 * (1 * 32 + 32 * 64 + 64 * 128 + 128 * 256), bn = 2 * (32 + 64 + 128 + 256);
  EXPECT_EQ(n, conv + bn);
}

TEST(ResNet, DepthsStemsAndChannels) {
  for (int64_t depth : {18, 34}) {
    ResNet r(ResNetOptions(depth).in_channels(1).small_stem(true).base_width(8));
    auto y = r->forward(torch::randn({2, 1, 28, 28}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 64}));
  }
  ResNet r50(ResNetOptions(50).in_channels(3).small_stem(false).base_width(8));
  EXPECT_EQ(r50->forward(torch::randn({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 256}));
  EXPECT_EQ(r50->output_dim(), 256);
}

TEST(ResNet, Resnet18HasStandardParameterCount) {
  // torchvision resnet18 without fc has 11,176,512 parameters with a 3-channel 7x7 stem.
  ResNet r(ResNetOptions(18).in_channels(3));
  int64_t n = 0;
  for (auto& p : r->parameters()) n += p.numel();
  EXPECT_EQ(n, 11176512);
}

TEST(ResNet, RejectsUnknownDepth) {
  try {
    ResNet r(ResNetOptions(20));
    FAIL();
  } catch (const contra::Error& e) {
    EXPECT_STREQ(e.what(), "ResNet depth must be 18, 34 or 50, got 20");
  }
}

TEST(ProjectionHead, LayersHiddenAndBatchNorm) {
  ProjectionHead h(ProjectionHeadOptions(16, 4).hidden_dim(32).layers(3).batch_norm(true));
  EXPECT_EQ(h->forward(torch::randn({5, 16})).sizes(), (std::vector<int64_t>{5, 4}));
  int bns = 0, linears = 0;
  for (auto& m : h->modules(false)) {
    bns += m->as<contra::models::BatchNorm>() != nullptr;
    linears += m->as<torch::nn::Linear>() != nullptr;
  }
  EXPECT_EQ(linears, 3);
  EXPECT_EQ(bns, 2);
  ProjectionHead linear(ProjectionHeadOptions(16, 4).layers(1));
  EXPECT_EQ(linear->parameters().size(), 2u);
}

TEST(Encoder, FactoryNames) {
  EXPECT_EQ(encoder_kind_from_string("resnet50"), EncoderKind::kResNet50);
  EncoderSpec spec;
  spec.widths = {4, 8};
  auto e = make_encoder(spec);
  EXPECT_EQ(e.dim, 8);
  EXPECT_EQ(e.forward(torch::randn({2, 1, 12, 12})).sizes(), (std::vector<int64_t>{2, 8}));
  try {
    encoder_kind_from_string("vit");
    FAIL();
  } catch (const contra::Error& e) {
    EXPECT_STREQ(e.what(), "unknown encoder 'vit'; valid: convnet, resnet18, resnet34, resnet50");
  }
}

TEST(BatchNorm, IsTorchsBatchNormExactly) {
  // Same initial state, outputs, gradients and running statistics as torch::nn::BatchNorm{1,2}d,
  // bitwise, in training and evaluation, for [N, C] and [N, C, H, W].
  torch::manual_seed(0);
  for (int64_t dims : {1, 2}) {
    contra::models::BatchNorm ours(3, dims);
    torch::nn::AnyModule theirs = dims == 1 ? torch::nn::AnyModule(torch::nn::BatchNorm1d(3))
                                            : torch::nn::AnyModule(torch::nn::BatchNorm2d(3));
    auto x = dims == 1 ? torch::randn({6, 3}) : torch::randn({4, 3, 5, 5});
    for (int step = 0; step < 3; ++step) {
      auto a = x.clone().requires_grad_(true), b = x.clone().requires_grad_(true);
      auto ya = ours->forward(a), yb = theirs.forward(b);
      EXPECT_TRUE(torch::equal(ya, yb)) << dims;
      (ya * ya).sum().backward();
      (yb * yb).sum().backward();
      EXPECT_TRUE(torch::equal(a.grad(), b.grad())) << dims;
    }
    auto p = theirs.ptr()->named_parameters(), q = ours->named_parameters();
    for (const auto& [name, t] : theirs.ptr()->named_buffers().pairs())
      EXPECT_TRUE(torch::equal(ours->named_buffers()[name], t)) << name;
    for (const auto& [name, t] : p.pairs()) EXPECT_TRUE(torch::equal(q[name].grad(), t.grad())) << name;
    ours->eval();
    theirs.ptr()->eval();
    EXPECT_TRUE(torch::equal(ours->forward(x), theirs.forward(x)));
  }
}
