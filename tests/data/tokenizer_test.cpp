// SentencePiece tokenizer: training from memory, round trips, padded batches, errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "contra/core/rng.h"
#include "contra/data/tokenizer.h"
#include "data_test_util.h"
#include "../support/expect_error.h"

using namespace contra::data;
using contra::test_support::expect_error;

namespace {

/// 3,000 seeded sentences over a small vocabulary: enough for a 200-piece model.
std::vector<std::string> corpus() {
  const std::vector<std::string> words = {
      "the", "a", "dog", "cat", "barked", "sat", "on", "mat", "at", "night", "small", "animal",
      "member", "of", "genus", "domestic", "wolf", "house", "runs", "quickly", "under", "table",
      "bird", "sings", "morning", "green", "tree", "river", "flows", "to", "sea", "with", "red"};
  std::vector<std::string> out;
  contra::Rng rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const int n = 3 + int(rng.below(8));
    for (int k = 0; k < n; ++k) s += (k ? " " : "") + words[rng.below(words.size())];
    out.push_back(s);
  }
  return out;
}

/// One trained model per test process.
const std::string& model_path() {
  static datatest::TempDir dir;
  static const std::string path = [] {
    auto p = dir.file("tok.model");
    train_tokenizer(corpus(), p, TokenizerTrainOptions(200).threads(1));
    return p;
  }();
  return path;
}

}  // namespace

TEST(Tokenizer, TrainsWithSpecialIdsAndRoundTrips) {
  auto tok = Tokenizer::load(model_path());
  EXPECT_GT(tok.vocab_size(), 40);
  EXPECT_LE(tok.vocab_size(), 200);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.bos_id(), 2);
  for (std::string s : {"the dog barked at night", "a small green tree", "river flows to the sea"}) {
    auto ids = tok.encode(s);
    EXPECT_FALSE(ids.empty());
    for (int id : ids) EXPECT_GE(id, 4) << s;  // no special ids inside a text
    EXPECT_EQ(tok.decode(ids), s);
  }
  // Case is folded by default; unknown characters become <unk> (id 1).
  EXPECT_EQ(tok.decode(tok.encode("The DOG sat")), "the dog sat");
  auto unk = tok.encode("zzz");
  EXPECT_NE(std::find(unk.begin(), unk.end(), 1), unk.end());
  // Frequent words are single pieces.
  EXPECT_EQ(tok.pieces("the dog"), (std::vector<std::string>{"\xE2\x96\x81the", "\xE2\x96\x81" "dog"}));
}

TEST(Tokenizer, BatchesArePaddedMaskedAndTruncated) {
  auto tok = Tokenizer::load(model_path());
  const std::vector<std::string> texts = {"the dog", "a small green tree by the river", ""};
  auto b = tok.encode_batch(texts, 64);
  const int64_t n0 = 1 + int64_t(tok.encode(texts[0]).size()), n1 = 1 + int64_t(tok.encode(texts[1]).size());
  ASSERT_EQ(b.ids.sizes(), (std::vector<int64_t>{3, n1}));
  EXPECT_EQ(b.ids.scalar_type(), torch::kLong);
  EXPECT_EQ(b.mask.scalar_type(), torch::kBool);
  EXPECT_TRUE(torch::equal(b.mask.sum(1), torch::tensor({n0, n1, int64_t(1)})));
  EXPECT_TRUE((b.ids.select(1, 0) == 2).all().item<bool>());  // <s> first
  EXPECT_TRUE((b.ids.masked_select(b.mask.logical_not()) == 0).all().item<bool>());  // <pad>
  auto ids0 = tok.encode(texts[0]);
  for (size_t j = 0; j < ids0.size(); ++j) EXPECT_EQ(b.ids[0][int64_t(j) + 1].item<int64_t>(), ids0[j]);

  auto cut = tok.encode_batch(texts, 4);
  EXPECT_EQ(cut.ids.size(1), 4);
  EXPECT_EQ(cut.mask[1].sum().item<int64_t>(), 4);
  expect_error([&] { tok.encode_batch(texts, 1); }, "tokenizer: max_len must be >= 2, got 1");
}

TEST(Tokenizer, Errors) {
  datatest::TempDir dir;
  expect_error([&] { Tokenizer::load(dir.file("none.model")); },
               "tokenizer model '" + dir.file("none.model") + "' does not exist");
  std::ofstream(dir.file("junk.model")) << "not a model";
  expect_error([&] { Tokenizer::load(dir.file("junk.model")); },
               "tokenizer model '" + dir.file("junk.model") + "' is not a SentencePiece model");
  expect_error([&] { train_tokenizer({}, dir.file("x.model"), TokenizerTrainOptions(100)); },
               "tokenizer: no texts to train on");
  expect_error([&] { train_tokenizer({"a b"}, dir.file("x.bin"), TokenizerTrainOptions(100)); },
               "tokenizer model path must end in .model, got '" + dir.file("x.bin") + "'");
  expect_error([&] { tokenizer_model_from_string("wordpiece"); },
               "unknown tokenizer model 'wordpiece'; valid: unigram, bpe");
}
