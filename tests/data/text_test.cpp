// Plain corpus and pairs readers: UTF-8 validation and file:line errors.
#include <gtest/gtest.h>

#include <fstream>

#include "contra/data/text.h"
#include "data_test_util.h"
#include "../support/expect_error.h"

using namespace contra::data;
using contra::test_support::expect_error;

namespace {
std::string write_text(const datatest::TempDir& dir, const std::string& name, const std::string& text) {
  auto path = dir.file(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}
}  // namespace

TEST(Utf8, AcceptsWellFormedAndFindsTheFirstBadByte) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::string::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string::npos);
  EXPECT_EQ(find_invalid_utf8("ab\xFF"), 2u);          // never valid
  EXPECT_EQ(find_invalid_utf8("caf\xC3"), 3u);         // truncated sequence
  EXPECT_EQ(find_invalid_utf8("x\xC0\xAF"), 1u);       // overlong '/'
  EXPECT_EQ(find_invalid_utf8("\xED\xA0\x80"), 0u);    // UTF-16 surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\xC3(x"), 0u);          // bad continuation byte
}

TEST(Corpus, ReadsLinesSkippingBlanksAndCarriageReturns) {
  datatest::TempDir dir;
  auto path = write_text(dir, "c.txt", "first text\r\n\n   \nsecond, caf\xC3\xA9\nthird");
  EXPECT_EQ(read_corpus(path), (std::vector<std::string>{"first text", "second, caf\xC3\xA9", "third"}));
}

TEST(Corpus, ErrorsNameFileAndLine) {
  datatest::TempDir dir;
  auto bad = write_text(dir, "bad.txt", "fine\nalso fine\nbroken \xC3( here\n");
  expect_error([&] { read_corpus(bad); }, bad + ":3: invalid UTF-8 at byte 8");
  auto empty = write_text(dir, "empty.txt", "\n  \n\r\n");
  expect_error([&] { read_corpus(empty); }, "corpus '" + empty + "' has no text (every line is empty)");
  expect_error([&] { read_corpus(dir.file("missing.txt")); },
               "cannot read text file '" + dir.file("missing.txt") + "'");
}

TEST(Pairs, TwoOrThreeColumnsConsistently) {
  datatest::TempDir dir;
  auto two = write_text(dir, "two.tsv", "a dog\ta canine\n\nthe cat\ta feline\n");
  auto p = read_pairs(two);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1].anchor, "the cat");
  EXPECT_EQ(p[1].positive, "a feline");
  EXPECT_TRUE(p[1].negative.empty());
  auto three = write_text(dir, "three.tsv", "a\tb\tc\n");
  EXPECT_EQ(read_pairs(three)[0].negative, "c");

  auto one = write_text(dir, "one.tsv", "a\tb\nonly one column\n");
  expect_error([&] { read_pairs(one); },
               one + ":2: expected 2 or 3 tab-separated columns (anchor, positive[, negative]), got 1");
  auto mixed = write_text(dir, "mixed.tsv", "a\tb\tc\nd\te\n");
  expect_error([&] { read_pairs(mixed); }, mixed + ":2: expected 3 columns like the first pair, got 2");
  auto blank = write_text(dir, "blank.tsv", "a\t \n");
  expect_error([&] { read_pairs(blank); }, blank + ":1: column 2 is empty");
  auto utf = write_text(dir, "utf.tsv", "a\tb\n\xFF\tc\n");
  expect_error([&] { read_pairs(utf); }, utf + ":2: invalid UTF-8 at byte 1");
  auto none = write_text(dir, "none.tsv", "\n");
  expect_error([&] { read_pairs(none); }, "has no pairs");
}

TEST(Words, SplitAndJoin) {
  EXPECT_EQ(split_words("  the  quick\tbrown\nfox "), (std::vector<std::string>{"the", "quick", "brown", "fox"}));
  EXPECT_EQ(join_words({"a", "b", "c"}), "a b c");
  EXPECT_TRUE(split_words(" \t ").empty());
}
