// Text augmentations: each op's effect on a fixed sentence with a fixed seed (pinned), their
// invariants, composition, determinism and errors.
#include <gtest/gtest.h>

#include <algorithm>

#include "contra/augment/text.h"
#include "contra/data/text.h"
#include "../support/expect_error.h"

using namespace contra::augment;
using contra::Rng;
using contra::test_support::expect_error;

namespace {

const std::string kSentence = "the quick brown fox jumps over the lazy dog near the river bank";

std::shared_ptr<const SynonymTable> table() {
  auto t = std::make_shared<SynonymTable>();
  t->add({"quick", "speedy", "fast"});
  t->add({"dog", "domestic_dog", "Canis_familiaris"});
  t->add({"bank", "depository_financial_institution"});
  t->add({"bank", "riverbank", "riverside"});
  return t;
}

std::string view(TextAugmentOptions o, uint64_t seed, const std::string& text = kSentence) {
  TextAugmenter aug(std::move(o), table());
  Rng rng(seed);
  return aug.apply(text, rng);
}

}  // namespace

TEST(TextAugment, DropoutLeavesTheTextUnchanged) {
  EXPECT_EQ(view(TextAugmentOptions(), 1), kSentence);
  EXPECT_EQ(view(TextAugmentOptions(), 1, "  spacing\tkept  "), "  spacing\tkept  ");
}

TEST(TextAugment, PinnedViewsOfOneSentence) {
  using O = TextAugmentOptions;
  EXPECT_EQ(view(O().ops({TextOp::kDelete}).delete_p(0.3), 42), "the quick brown fox over the near the river");
  EXPECT_EQ(view(O().ops({TextOp::kCrop}).crop_fraction(0.5), 42), "the lazy dog near the river bank");
  EXPECT_EQ(view(O().ops({TextOp::kSwap}).swap_n(2), 42), "the quick jumps brown fox over the lazy dog near the river bank");
  EXPECT_EQ(view(O().ops({TextOp::kSynonym}).synonym_p(1.0), 42), "the speedy brown fox jumps over the lazy Canis familiaris near the river depository financial institution");
  EXPECT_EQ(view(O().ops({TextOp::kSynonym, TextOp::kDelete, TextOp::kSwap}).synonym_p(0.5), 42),
            "the speedy fox brown jumps over the lazy dog near river riverbank");
}

TEST(TextAugment, OpInvariants) {
  const auto words = contra::data::split_words(kSentence);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    auto del = contra::data::split_words(view(TextAugmentOptions().ops({TextOp::kDelete}).delete_p(0.9), seed));
    EXPECT_GE(del.size(), 1u);  // never empty
    auto crop = view(TextAugmentOptions().ops({TextOp::kCrop}).crop_fraction(0.5), seed);
    EXPECT_EQ(contra::data::split_words(crop).size(), 7u);  // round(0.5 x 13), half away from 0
    EXPECT_NE(kSentence.find(crop), std::string::npos);     // a contiguous span
    auto swap = contra::data::split_words(view(TextAugmentOptions().ops({TextOp::kSwap}).swap_n(3), seed));
    auto a = swap, b = words;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b);  // a permutation
  }
  // Deletion keeps order: the result is a subsequence.
  auto del = contra::data::split_words(view(TextAugmentOptions().ops({TextOp::kDelete}).delete_p(0.5), 3));
  size_t j = 0;
  for (const auto& w : words) j += j < del.size() && del[j] == w;
  EXPECT_EQ(j, del.size());
}

TEST(TextAugment, SynonymsReplaceWithinSynsetsKeepingPunctuation) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto v = view(TextAugmentOptions().ops({TextOp::kSynonym}).synonym_p(1.0), seed, "A Quick, (dog)!");
    EXPECT_TRUE(v.rfind("A ", 0) == 0) << v;  // no synonyms: unchanged
    EXPECT_TRUE(v.find("speedy,") != std::string::npos || v.find("fast,") != std::string::npos) << v;
    EXPECT_TRUE(v.find("(domestic dog)!") != std::string::npos ||
                v.find("(Canis familiaris)!") != std::string::npos) << v;
  }
  // A word in two synsets draws from either: "bank" becomes both kinds over seeds.
  bool financial = false, river = false;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto v = view(TextAugmentOptions().ops({TextOp::kSynonym}).synonym_p(1.0), seed, "bank");
    financial |= v == "depository financial institution";
    river |= v == "riverbank" || v == "riverside";
  }
  EXPECT_TRUE(financial && river);
  EXPECT_EQ(view(TextAugmentOptions().ops({TextOp::kSynonym}).synonym_p(0.0), 1), kSentence);
}

TEST(TextAugment, BatchIsSeededPerText) {
  TextAugmenter aug(TextAugmentOptions().ops({TextOp::kDelete, TextOp::kSwap}).delete_p(0.3));
  std::vector<std::string> texts(4, kSentence);
  auto a = aug(texts, 5), b = aug(texts, 5), c = aug(texts, 6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a[0], a[1]);  // each text its own stream
  Rng rng(contra::derive_seed(5, 2));
  EXPECT_EQ(a[2], aug.apply(kSentence, rng));
}

TEST(TextAugment, Errors) {
  expect_error([] { text_op_from_string("shuffle"); },
               "unknown text augmentation 'shuffle'; valid: dropout, delete, crop, swap, synonym");
  expect_error([] { TextAugmenter(TextAugmentOptions().ops({TextOp::kSynonym})); },
               "text augmentation synonym needs a synonym table (WordNet)");
  expect_error([] { TextAugmenter(TextAugmentOptions().delete_p(1.0)); },
               "text.delete_p must be in [0, 1), got 1");
  expect_error([] { TextAugmenter(TextAugmentOptions().crop_fraction(0)); },
               "text.crop_fraction must be in (0, 1], got 0");
  expect_error([] { TextAugmenter(TextAugmentOptions().swap_n(-1)); }, "text.swap_n must be >= 0, got -1");
  expect_error([] { TextAugmenter(TextAugmentOptions().ops({})); },
               "text.augment must name at least one augmentation (dropout for none)");
  EXPECT_EQ(to_string(text_op_from_string("crop")), "crop");
}
