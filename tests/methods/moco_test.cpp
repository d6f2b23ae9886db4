#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../support/expect_error.h"
#include "contra/core/error.h"
#include "contra/losses/info_nce.h"
#include "contra/methods/moco.h"

using namespace contra;
using contra::test_support::expect_error;

namespace {
methods::MoCoOptions moco_options(int64_t chunk = 2, int64_t queue = 16) {
  models::EncoderSpec spec;
  spec.widths = {4, 8};
  auto net = methods::SimCLROptions(spec, 6).head_hidden(16).encode_chunk(chunk).loss(
      methods::TwoViewLossOptions().temperature(0.2));
  return methods::MoCoOptions(net).queue_size(queue).momentum(0.9);
}
methods::MoCo make_moco(methods::MoCoOptions o = moco_options()) {
  torch::manual_seed(0);
  return methods::MoCo(o);
}
}  // namespace

TEST(MoCo, KeyNetworksStartAsCopiesAndGetNoGradient) {
  auto m = make_moco();
  auto q = m->encoder.module->parameters(), k = m->key_encoder.module->parameters();
  ASSERT_EQ(q.size(), k.size());
  for (size_t i = 0; i < q.size(); ++i) {
    EXPECT_TRUE(torch::equal(q[i], k[i]));
    EXPECT_FALSE(k[i].requires_grad());
  }
  auto v1 = torch::randn({4, 1, 12, 12}), v2 = torch::randn({4, 1, 12, 12});
  m->forward(v1, v2).loss.backward();
  for (auto& p : m->key_encoder.module->parameters()) EXPECT_FALSE(p.grad().defined());
  for (auto& p : m->key_head->parameters()) EXPECT_FALSE(p.grad().defined());
  // Only the query networks are trained.
  EXPECT_EQ(m->trainable_parameters().size(),
            m->encoder.module->parameters().size() + m->head->parameters().size());
}

TEST(MoCo, AfterStepAppliesMomentumAndEnqueuesBothViewsKeys) {
  auto m = make_moco();
  auto v1 = torch::randn({4, 1, 12, 12}), v2 = torch::randn({4, 1, 12, 12});
  m->forward(v1, v2);
  auto key_before = m->key_head->parameters()[0].clone();
  {
    torch::NoGradGuard ng;
    m->head->parameters()[0].add_(1.0);
  }
  m->after_step(1, 10);
  EXPECT_TRUE(torch::allclose(m->key_head->parameters()[0], key_before + 0.1, 1e-5, 1e-6));
  EXPECT_EQ(m->queue->pointer(), 8);  // symmetric: 2 x batch 4
  EXPECT_EQ(m->queue->filled(), 8);
}

TEST(MoCo, LossIsInfoNCEAgainstTheQueue) {
  // Without shuffle and with chunk 0 the keys are a plain function of the view: recompute.
  auto o = moco_options(0).shuffle_bn(false).symmetric(false);
  auto m = make_moco(o);
  m->eval();  // batch norm from running statistics: the same in both computations
  auto v1 = torch::randn({4, 1, 12, 12}), v2 = torch::randn({4, 1, 12, 12});
  auto out = m->forward(v1, v2);
  torch::NoGradGuard ng;
  auto q = methods::embed_view(m->encoder, m->head, v1, {});
  auto k = methods::embed_view(m->key_encoder, m->key_head, v2, {});
  auto want = losses::functional::info_nce(
      q, k, losses::InfoNCEOptions().temperature(0.2).in_batch(false), m->queue->keys());
  EXPECT_NEAR(out.loss.item<double>(), want.loss.item<double>(), 1e-5);
}

TEST(MoCo, ShuffleBNComputesKeysInPermutedGroups) {
  // In train mode a key depends on its batch-norm group: with shuffle_bn the groups are a
  // random permutation of the batch, so keys equal those of the permuted batch, un-permuted.
  auto m = make_moco(moco_options(2));
  auto v = torch::randn({6, 1, 12, 12});
  torch::manual_seed(5);
  auto keys = m->embed_keys(v);
  torch::manual_seed(5);
  auto perm = torch::randperm(6, torch::kLong);
  torch::NoGradGuard ng;
  auto shuffled = methods::embed_view(m->key_encoder, m->key_head, v.index_select(0, perm), {false, 2});
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_TRUE(torch::allclose(keys[perm[i].item<int64_t>()], shuffled[i], 1e-5, 1e-6)) << i;
  // ... and differ from the unshuffled groups' keys (batch statistics of other samples).
  auto plain = methods::embed_view(m->key_encoder, m->key_head, v, {false, 2});
  EXPECT_FALSE(torch::allclose(keys, plain, 1e-4, 1e-5));
}

TEST(MoCo, RejectsBadSettings) {
  expect_error([] { make_moco(moco_options().momentum(1.5)); }, "moco.momentum must be in [0, 1], got 1.5");
  expect_error([] { make_moco(moco_options().momentum(-0.1)); }, "moco.momentum must be in [0, 1], got -0.1");
  auto v = torch::randn({4, 1, 12, 12});
  expect_error([&] { make_moco(moco_options(2, 6))->forward(v, v); },
               "moco.queue_size (6) must be >= the keys enqueued per step (8 = batch 4 x 2 views)");
  expect_error([&] { make_moco(moco_options(0))->forward(v, v); },
               "moco.shuffle_bn needs model.encode_chunk in [1, batch), got encode_chunk 0 with batch 4");
  auto triplet = moco_options();
  triplet.network().loss().kind(methods::TwoViewLoss::kTriplet);
  expect_error([&] { make_moco(triplet); }, "loss triplet is not an InfoNCE objective");
  // MoCo has no tiled pass: loss.tiled=on is refused, not ignored.
  auto tiled = moco_options();
  tiled.network().loss().tiled(methods::TiledMode::kOn);
  expect_error([&] { make_moco(tiled); }, "loss.tiled=on needs method simclr");
}

TEST(MoCo, NegativeSamplersActOnTheQueue) {
  // Keeping the k hardest of K queue keys with k = K changes nothing; a smaller k does.
  auto v1 = torch::randn({4, 1, 12, 12}), v2 = torch::randn({4, 1, 12, 12});
  auto loss_with = [&](int64_t k) {
    auto o = moco_options(0).shuffle_bn(false);
    o.network().loss().negatives(negatives::NegativeSamplingOptions()
                                     .kind(negatives::NegativeSampling::kHardest)
                                     .num_negatives(k));
    auto m = make_moco(o);
    m->eval();
    return m->forward(v1, v2).loss.item<double>();
  };
  auto all = make_moco(moco_options(0).shuffle_bn(false));
  all->eval();
  const double base = all->forward(v1, v2).loss.item<double>();
  EXPECT_NEAR(loss_with(16), base, 1e-5);
  EXPECT_LT(loss_with(2), base - 1e-3);  // fewer negatives in the denominator
}
