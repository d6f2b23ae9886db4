#include <gtest/gtest.h>
#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/methods/objective.h"
#include "contra/methods/simclr.h"

using namespace contra;

namespace {
methods::SimCLR make_simclr(methods::TwoViewLossOptions loss, int64_t chunk = 0) {
  torch::manual_seed(0);
  models::EncoderSpec spec;
  spec.widths = {4, 8};
  return methods::SimCLR(methods::SimCLROptions(spec, 6).head_hidden(16).loss(loss).encode_chunk(chunk));
}
}  // namespace

// With their extra parameters at zero (or no labels), every objective is NT-Xent.
TEST(SimCLR, ObjectivesReduceToNTXent) {
  auto v1 = torch::randn({8, 1, 12, 12}), v2 = torch::randn({8, 1, 12, 12});
  auto none = torch::full({8}, -1, torch::kLong);
  auto base = methods::TwoViewLossOptions().temperature(0.3);
  double ref = make_simclr(base)->forward(v1, v2).loss.item<double>();
  using K = methods::TwoViewLoss;
  EXPECT_NEAR(make_simclr(base.kind(K::kDebiased).tau_plus(0))->forward(v1, v2).loss.item<double>(), ref, 1e-5);
  EXPECT_NEAR(make_simclr(base.kind(K::kHardNegative).hard_beta(0))->forward(v1, v2).loss.item<double>(), ref, 1e-5);
  EXPECT_NEAR(make_simclr(base.kind(K::kSupCon))->forward(v1, v2, none).loss.item<double>(), ref, 1e-5);
  // Known shared labels change SupCon; nonzero tau_plus / beta change the InfoNCE variants.
  // (At initialisation all similarities are close, so the differences are small but far above
  // float32 rounding, about 1e-7 here.)
  auto same = torch::zeros({8}, torch::kLong);
  EXPECT_GT(std::abs(make_simclr(base.kind(K::kSupCon))->forward(v1, v2, same).loss.item<double>() - ref), 1e-5);
  EXPECT_GT(std::abs(make_simclr(base.kind(K::kHardNegative).hard_beta(10))->forward(v1, v2).loss.item<double>() - ref), 1e-5);
}

TEST(SimCLR, ChunkedEncodingMatchesWholeViewInEvalMode) {
  // In eval mode batch norm uses running statistics, so chunking must not change anything.
  auto whole = make_simclr({}), chunked = make_simclr({}, 3);
  whole->eval();
  chunked->eval();
  auto v = torch::randn({8, 1, 12, 12});
  EXPECT_TRUE(torch::allclose(whole->embed_view(v), chunked->embed_view(v), 1e-5, 1e-6));
}

TEST(SimCLR, SupConWithoutLabelsIsAnError) {
  auto m = make_simclr(methods::TwoViewLossOptions().kind(methods::TwoViewLoss::kSupCon));
  auto v = torch::randn({4, 1, 12, 12});
  try {
    m->forward(v, v);
    FAIL();
  } catch (const contra::Error& e) {
    EXPECT_STREQ(e.what(), "loss supcon needs labels (-1 where unknown)");
  }
}
