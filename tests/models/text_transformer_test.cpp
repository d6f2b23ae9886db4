// Transformer text encoder: shapes, padding invariance, pooling, dropout, parameter count.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "contra/models/text_transformer.h"
#include "../support/expect_error.h"

using namespace contra::models;
using contra::test_support::expect_error;

namespace {
TextTransformer make_transformer(TextPooling pooling = TextPooling::kMean, double dropout = 0.1) {
  torch::manual_seed(0);
  return TextTransformer(TextTransformerOptions(50).width(16).layers(2).heads(4).ffn(32).max_len(12)
                             .dropout(dropout).pooling(pooling));
}
}  // namespace

TEST(TextTransformer, ShapesAndParameterCount) {
  auto m = make_transformer();
  auto ids = torch::randint(4, 50, {3, 7}, torch::kLong);
  auto mask = torch::ones({3, 7}, torch::kBool);
  EXPECT_EQ(m->forward(ids, mask).sizes(), (std::vector<int64_t>{3, 16}));
  EXPECT_EQ(m->token_states(ids, mask).sizes(), (std::vector<int64_t>{3, 7, 16}));
  const int64_t w = 16, f = 32;
  const int64_t block = 2 * 2 * w + (w * 3 * w + 3 * w) + (w * w + w) + (w * f + f) + (f * w + w);
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  EXPECT_EQ(n, 50 * w + 12 * w + 2 * block + 2 * w);
}

TEST(TextTransformer, PaddingChangesNothing) {
  for (auto pooling : {TextPooling::kMean, TextPooling::kFirst}) {
    auto m = make_transformer(pooling);
    m->eval();
    auto ids = torch::tensor({{2, 9, 17, 5, 33}}, torch::kLong);
    auto alone = m->forward(ids, torch::ones({1, 5}, torch::kBool));
    // The same sequence padded to 9 positions with arbitrary ids, next to a longer sequence.
    auto padded = torch::tensor({{2, 9, 17, 5, 33, 44, 45, 46, 47}, {2, 8, 8, 8, 8, 8, 8, 8, 8}}, torch::kLong);
    auto mask = torch::ones({2, 9}, torch::kBool);
    mask[0].slice(0, 5).fill_(false);
    auto batch = m->forward(padded, mask);
    EXPECT_TRUE(torch::allclose(batch[0], alone[0], 1e-5, 1e-6)) << int(pooling);
  }
}

TEST(TextTransformer, PaddedTokensGetNoGradient) {
  auto m = make_transformer(TextPooling::kMean, 0.0);
  auto ids = torch::tensor({{2, 9, 17, 7, 7}}, torch::kLong);  // id 7 only in the padding
  auto mask = torch::tensor({{true, true, true, false, false}});
  m->forward(ids, mask).pow(2).sum().backward();
  EXPECT_EQ(m->token->weight.grad()[7].abs().sum().item<double>(), 0.0);
  EXPECT_GT(m->token->weight.grad()[9].abs().sum().item<double>(), 0.0);
}

TEST(TextTransformer, PoolingReadsTheMaskOrTheFirstToken) {
  auto mean = make_transformer(TextPooling::kMean), first = make_transformer(TextPooling::kFirst);
  mean->eval();
  first->eval();
  auto ids = torch::tensor({{2, 9, 17, 0}, {2, 4, 0, 0}}, torch::kLong);
  auto mask = ids.ne(0);
  auto h = mean->token_states(ids, mask);
  auto expect = torch::stack({h[0].slice(0, 0, 3).mean(0), h[1].slice(0, 0, 2).mean(0)});
  EXPECT_TRUE(torch::allclose(mean->forward(ids, mask), mean->final_norm->forward(expect), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(first->forward(ids, mask),
                              first->final_norm->forward(first->token_states(ids, mask).select(1, 0))));
  EXPECT_EQ(text_pooling_from_string("first"), TextPooling::kFirst);
  expect_error([] { text_pooling_from_string("max"); }, "unknown text pooling 'max'; valid: mean, first");
}

TEST(TextTransformer, DropoutOnlyInTraining) {
  auto m = make_transformer();
  auto ids = torch::tensor({{2, 9, 17, 5}}, torch::kLong);
  auto mask = torch::ones({1, 4}, torch::kBool);
  m->train();
  EXPECT_FALSE(torch::allclose(m->forward(ids, mask), m->forward(ids, mask)));
  m->eval();
  EXPECT_TRUE(torch::equal(m->forward(ids, mask), m->forward(ids, mask)));
}

TEST(TextTransformer, Errors) {
  expect_error([] { TextTransformer(TextTransformerOptions(10).width(10).heads(4)); },
               "text_model.heads (4) must divide text_model.width (10)");
  auto m = make_transformer();
  auto long_ids = torch::full({1, 13}, 5, torch::kLong);
  expect_error([&] { m->forward(long_ids, torch::ones({1, 13}, torch::kBool)); },
               "text encoder: sequence length 13 exceeds text.max_len (12)");
  auto ids = torch::full({2, 3}, 5, torch::kLong);
  auto mask = torch::ones({2, 3}, torch::kBool);
  mask[1].fill_(false);
  expect_error([&] { m->forward(ids, mask); }, "text encoder: every sequence needs a real token");
}
