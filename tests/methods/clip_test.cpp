// Method clip: two towers into one normalised space, the learned temperature (initial value,
// clamp after a step, gradient against finite differences, no weight decay, metrics), SigLIP's
// learned bias, features and head embeddings of either modality, and a short fit.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "../support/expect_error.h"
#include "contra/losses/clip.h"
#include "contra/methods/clip.h"
#include "contra/train/optimizer.h"

using namespace contra;
using contra::test_support::expect_error;

namespace {

methods::CLIPOptions clip_test_options(methods::ClipLoss loss = methods::ClipLoss::kClip) {
  models::EncoderSpec spec;
  spec.in_channels = 1;
  spec.widths = {4, 8};
  auto text = models::TextTransformerOptions(40).width(16).layers(1).heads(2).ffn(32).max_len(10).dropout(0);
  return methods::CLIPOptions(spec, text, 8).loss(loss);
}

methods::CLIP make_clip(methods::CLIPOptions o = clip_test_options()) {
  torch::manual_seed(0);
  return methods::CLIP(o);
}

/// B captions of random ids after <s> = 2, with random lengths.
data::TokenBatch clip_tokens(int64_t b, int64_t len, uint64_t seed) {
  torch::manual_seed(seed);
  data::TokenBatch t;
  t.ids = torch::randint(4, 40, {b, len}, torch::kLong);
  t.ids.select(1, 0).fill_(2);
  auto lengths = torch::randint(2, len + 1, {b, 1}, torch::kLong);
  t.mask = torch::arange(len).unsqueeze(0).lt(lengths);
  t.ids.masked_fill_(t.mask.logical_not(), 0);
  return t;
}

data::Batch clip_batch(int64_t b, uint64_t seed) {
  data::Batch batch;
  torch::manual_seed(seed + 100);
  batch.view1 = torch::randn({b, 1, 12, 12});
  batch.text1 = clip_tokens(b, 7, seed);
  batch.index = torch::arange(b);
  return batch;
}

}  // namespace

TEST(CLIP, LossIsTheSymmetricLossOfTheNormalisedEmbeddingsAtTheLearnedScale) {
  auto m = make_clip();
  m->eval();
  EXPECT_NEAR(m->logit_scale.item<double>(), std::log(1 / 0.07), 1e-6);
  const auto b = clip_batch(6, 1);
  auto out = m->forward(b);
  auto zi = m->head_embeddings(b);
  data::Batch text_only;
  text_only.text1 = b.text1;
  auto zt = m->head_embeddings(text_only);
  EXPECT_TRUE(torch::allclose(zi.norm(2, 1), torch::ones({6}), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(zt.norm(2, 1), torch::ones({6}), 1e-5, 1e-5));
  const double expect = losses::functional::clip_loss(zi, zt, losses::ClipOptions().temperature(0.07)).loss.item<double>();
  EXPECT_NEAR(out.loss.item<double>(), expect, 1e-4);
  // Features: the image tower's for images, the text tower's for a text-only batch.
  EXPECT_EQ(m->features(b).size(1), m->encoder.dim);
  EXPECT_EQ(m->features(text_only).size(1), 16);
  expect_error([&] { m->forward(text_only); }, "CLIP needs a batch of images (view1) with one caption each");
}

TEST(CLIP, LearnedScaleIsClampedAfterEveryStep) {
  auto m = make_clip();
  {
    torch::NoGradGuard no_grad;
    m->logit_scale.fill_(std::log(250.0));
  }
  m->after_step(1, 10, {});
  EXPECT_NEAR(m->logit_scale.item<double>(), std::log(100.0), 1e-6);
  auto metrics = m->step_metrics();
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[0].first, "logit_scale");
  EXPECT_NEAR(metrics[0].second, 100.0, 1e-3);  // the scale, exp(logit_scale)
  EXPECT_EQ(metrics[1].first, "temperature");
  EXPECT_NEAR(metrics[1].second, 0.01, 1e-7);
  // Through an optimizer step: a large learning rate drives it up, the clamp holds it.
  auto opt = train::make_optimizer(m->trainable_parameters(), train::OptimizerOptions(train::OptimizerKind::kSGD).lr(50).momentum(0),
                                   m->no_decay_parameters());
  for (int step = 0; step < 3; ++step) {
    opt->zero_grad();
    m->forward(clip_batch(6, 2)).loss.backward();
    opt->step();
    m->after_step(step + 1, 3, {});
    EXPECT_LE(m->logit_scale.item<double>(), std::log(100.0) + 1e-6);
    EXPECT_GE(m->logit_scale.item<double>(), 0.0);
  }
  auto small = clip_test_options().max_scale(20);
  auto m2 = make_clip(small);
  m2->after_step(1, 1, {});
  EXPECT_NEAR(m2->logit_scale.item<double>(), std::log(1 / 0.07), 1e-6);  // below the clamp: kept
  {
    torch::NoGradGuard no_grad;
    m2->logit_scale.fill_(std::log(50.0));
  }
  m2->after_step(2, 2, {});
  EXPECT_NEAR(m2->logit_scale.item<double>(), std::log(20.0), 1e-6);
  expect_error([] { make_clip(clip_test_options().temperature_init(0.001)); },
               "clip.temperature_init (0.001) must be in [1 / clip.max_scale, 1]");
}

TEST(CLIP, GradientOfTheLogScaleMatchesFiniteDifferences) {
  auto m = make_clip();
  m->to(torch::kDouble);
  m->eval();  // batch norm from running statistics: the loss is a function of the parameters
  auto b = clip_batch(5, 3);
  b.view1 = b.view1.to(torch::kDouble);
  m->zero_grad();
  m->forward(b).loss.backward();
  const double grad = m->logit_scale.grad().item<double>();
  EXPECT_NE(grad, 0.0);
  const double s = m->logit_scale.item<double>(), h = 1e-6;
  auto loss_at = [&](double v) {
    torch::NoGradGuard no_grad;
    m->logit_scale.fill_(v);
    return m->forward(b).loss.item<double>();
  };
  const double fd = (loss_at(s + h) - loss_at(s - h)) / (2 * h);
  EXPECT_NEAR(grad, fd, 1e-6 * std::max(1.0, std::abs(fd)));
}

TEST(CLIP, TemperatureAndBiasAreNeverWeightDecayed) {
  auto m = make_clip(clip_test_options(methods::ClipLoss::kSigLip));
  EXPECT_NEAR(m->logit_scale.item<double>(), std::log(10.0), 1e-6);
  EXPECT_NEAR(m->logit_bias.item<double>(), -10.0, 1e-6);
  auto groups = train::split_for_weight_decay(m->trainable_parameters(), m->no_decay_parameters());
  auto in = [](const std::vector<torch::Tensor>& v, const torch::Tensor& t) {
    for (const auto& x : v)
      if (x.is_same(t)) return true;
    return false;
  };
  EXPECT_TRUE(in(groups.no_decay, m->logit_scale));
  EXPECT_TRUE(in(groups.no_decay, m->logit_bias));
  EXPECT_FALSE(in(groups.decay, m->logit_scale));
  // The mechanism is general: a listed matrix is left undecayed too.
  auto w = torch::randn({3, 3}, torch::requires_grad());
  EXPECT_EQ(train::split_for_weight_decay({w}).decay.size(), 1u);
  EXPECT_EQ(train::split_for_weight_decay({w}, {w}).no_decay.size(), 1u);
  // With weight decay and no gradient, an SGD step leaves the scale as it was.
  auto opt = train::make_optimizer(m->trainable_parameters(),
                                   train::OptimizerOptions(train::OptimizerKind::kSGD).lr(1).weight_decay(0.5).momentum(0),
                                   m->no_decay_parameters());
  const double before = m->logit_scale.item<double>();
  opt->zero_grad();
  m->forward(clip_batch(4, 4)).loss.backward();
  m->logit_scale.mutable_grad().zero_();
  opt->step();
  EXPECT_DOUBLE_EQ(m->logit_scale.item<double>(), before);
  const auto names = m->step_metrics();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[2].first, "logit_bias");
  // Not learned: neither is trained.
  auto fixed = make_clip(clip_test_options(methods::ClipLoss::kSigLip).learn_temperature(false));
  EXPECT_FALSE(in(fixed->trainable_parameters(), fixed->logit_scale));
  EXPECT_FALSE(in(fixed->trainable_parameters(), fixed->logit_bias));
}

TEST(CLIP, ShortFitPairsImagesWithTheirCaptions) {
  // 8 fixed pairs: after a few dozen AdamW steps each image's caption ranks first.
  auto m = make_clip();
  const auto b = clip_batch(8, 5);
  auto opt = train::make_optimizer(m->trainable_parameters(), train::OptimizerOptions(train::OptimizerKind::kAdamW).lr(3e-3),
                                   m->no_decay_parameters());
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    opt->zero_grad();
    auto out = m->forward(b);
    out.loss.backward();
    opt->step();
    m->after_step(step + 1, 60, out);
    (step == 0 ? first : last) = out.loss.item<double>();
  }
  EXPECT_LT(last, 0.5 * first);
  m->eval();
  EXPECT_GT(m->forward(b).top1, 0.9);
}
