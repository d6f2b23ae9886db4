// SimCSE: the losses through the shared functional losses, hard negatives, and a tiny fit.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "contra/losses/info_nce.h"
#include "contra/losses/nt_xent.h"
#include "contra/methods/simcse.h"
#include "contra/train/optimizer.h"
#include "../support/expect_error.h"

using namespace contra;
using contra::test_support::expect_error;

namespace {

methods::SimCSE make_simcse(methods::SimCSELoss loss, double dropout = 0.1) {
  torch::manual_seed(0);
  auto enc = models::TextTransformerOptions(40).width(16).layers(1).heads(2).ffn(32).max_len(10)
                 .dropout(dropout);
  return methods::SimCSE(methods::SimCSEOptions(enc, 8).loss(loss).temperature(0.1));
}

/// B rows of random ids after <s> = 2, with random lengths.
data::TokenBatch batch(int64_t b, int64_t len, uint64_t seed) {
  torch::manual_seed(seed);
  data::TokenBatch t;
  t.ids = torch::randint(4, 40, {b, len}, torch::kLong);
  t.ids.select(1, 0).fill_(2);
  auto lengths = torch::randint(2, len + 1, {b, 1}, torch::kLong);
  t.mask = torch::arange(len).unsqueeze(0).lt(lengths);
  t.ids.masked_fill_(t.mask.logical_not(), 0);
  return t;
}

}  // namespace

TEST(SimCSE, UnsupervisedLossIsTheSharedLossOfTheEmbeddings) {
  auto v1 = batch(6, 7, 1), v2 = batch(6, 5, 2);
  for (auto kind : {methods::SimCSELoss::kInfoNCE, methods::SimCSELoss::kNTXent}) {
    auto m = make_simcse(kind);
    m->eval();  // no dropout: embeddings are a function of the ids
    auto out = m->forward(v1, v2);
    auto z1 = m->embed(v1), z2 = m->embed(v2);
    double expect = kind == methods::SimCSELoss::kInfoNCE
                        ? losses::functional::info_nce(z1, z2, losses::InfoNCEOptions().temperature(0.1)).loss.item<double>()
                        : losses::functional::nt_xent(z1, z2, losses::NTXentOptions().temperature(0.1)).loss.item<double>();
    EXPECT_NEAR(out.loss.item<double>(), expect, 1e-5);
  }
}

TEST(SimCSE, DropoutMakesTwoViewsOfOneSentence) {
  auto v = batch(6, 7, 3);
  auto m = make_simcse(methods::SimCSELoss::kInfoNCE);
  m->train();
  auto out = m->forward(v, v);
  EXPECT_LT(out.positive_sim, 1.0 - 1e-4);  // views differ only by dropout
  m->eval();
  EXPECT_NEAR(m->forward(v, v).positive_sim, 1.0, 1e-5);
}

TEST(SimCSE, HardNegativesArePerQueryNegatives) {
  auto a = batch(5, 6, 4), p = batch(5, 6, 5), n = batch(5, 8, 6);
  auto m = make_simcse(methods::SimCSELoss::kInfoNCE);
  m->eval();
  auto out = m->forward_supervised(a, p, n);
  auto expect = losses::functional::info_nce(m->embed(a), m->embed(p), losses::InfoNCEOptions().temperature(0.1), {},
                                             m->embed(n).unsqueeze(1));
  EXPECT_NEAR(out.loss.item<double>(), expect.loss.item<double>(), 1e-5);
  EXPECT_GT(out.loss.item<double>(), m->forward_supervised(a, p).loss.item<double>());

  auto nt = make_simcse(methods::SimCSELoss::kNTXent);
  expect_error([&] { nt->forward_supervised(a, p, n); }, "hard negatives need loss info_nce, not nt_xent");
  expect_error([&] { m->forward_supervised(a, batch(4, 6, 7)); },
               "SimCSE needs B >= 2 anchors with one positive (and one hard negative, if any) each, got 5, 4, 0");
  expect_error([] { methods::simcse_loss_from_string("supcon"); },
               "unknown SimCSE loss 'supcon'; valid: info_nce, nt_xent");
}

TEST(SimCSE, LearnsToMatchPairs) {
  auto a = batch(8, 6, 8), p = batch(8, 6, 9);
  auto m = make_simcse(methods::SimCSELoss::kInfoNCE, 0.0);
  auto opt = train::make_optimizer(m->parameters(),
                                   train::OptimizerOptions(train::OptimizerKind::kAdamW).lr(3e-3));
  const double first = m->forward_supervised(a, p).loss.item<double>();
  for (int i = 0; i < 40; ++i) {
    opt->zero_grad();
    m->forward_supervised(a, p).loss.backward();
    opt->step();
  }
  auto out = m->forward_supervised(a, p);
  EXPECT_LT(out.loss.item<double>(), first * 0.5);
  EXPECT_DOUBLE_EQ(out.top1, 1.0);
  EXPECT_EQ(m->features(a).sizes(), (std::vector<int64_t>{8, 16}));
}
