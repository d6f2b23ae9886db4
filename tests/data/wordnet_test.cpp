// WordNet database reader: synset lines, glosses, names from the index files, the seeded split,
// and the texts, pairs and retrieval task built from synsets.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "contra/data/wordnet.h"
#include "contra/data/wordnet_text.h"
#include "data_test_util.h"
#include "../support/expect_error.h"

using namespace contra::data;
using contra::test_support::expect_error;

namespace {

// A real line of data.noun (WordNet 3.0), shortened to two pointers.
const char* kCongener =
    "00003993 03 n 01 congener 0 001 @ 00003553 n 0000 | a whole (a thing or person) of the same "
    "kind or category as another; \"lard was also used, though its congener, butter, was more "
    "frequently employed\"; \"the American shopkeeper differs from his European congener\"  ";

/// The real database is loaded once per test process (about a second).
const WordNet& real_wordnet() {
  static const WordNet wn = load_wordnet(kWordNetDefaultDir);
  return wn;
}

bool wordnet_installed() { return std::filesystem::exists(std::string(kWordNetDefaultDir) + "/data.noun"); }

}  // namespace

TEST(WordNetLine, ParsesLemmasDefinitionAndExamples) {
  Synset s = parse_synset_line(kCongener, "data.noun", 7);
  EXPECT_EQ(s.offset, 3993u);
  EXPECT_EQ(s.pos, PartOfSpeech::kNoun);
  EXPECT_EQ(s.lemmas, (std::vector<std::string>{"congener"}));
  EXPECT_EQ(s.definition, "a whole (a thing or person) of the same kind or category as another");
  ASSERT_EQ(s.examples.size(), 2u);
  EXPECT_EQ(s.examples[0], "lard was also used, though its congener, butter, was more frequently employed");
  EXPECT_EQ(s.examples[1], "the American shopkeeper differs from his European congener");
}

TEST(WordNetLine, AdjectiveMarkersVerbFramesAndQuotedSemicolons) {
  Synset a = parse_synset_line(
      "00001740 00 a 02 able(p) 0 capable 1 001 ! 00002098 a 0101 | having the necessary means; "
      "\"able to swim; she was able to program\"",
      "data.adj", 1);
  EXPECT_EQ(a.lemmas, (std::vector<std::string>{"able", "capable"}));
  EXPECT_EQ(a.definition, "having the necessary means");
  EXPECT_EQ(a.examples, (std::vector<std::string>{"able to swim; she was able to program"}));
  Synset v = parse_synset_line(
      "00001740 29 v 04 breathe 0 take_a_breath 0 respire 0 suspire 3 000 02 + 02 00 + 08 01 | "
      "draw air into, and expel out of, the lungs; \"I can breathe better\" - Anon",
      "data.verb", 2);
  EXPECT_EQ(v.pos, PartOfSpeech::kVerb);
  EXPECT_EQ(v.lemmas.size(), 4u);
  EXPECT_EQ(v.definition, "draw air into, and expel out of, the lungs");
  EXPECT_EQ(v.examples, (std::vector<std::string>{"I can breathe better"}));
}

TEST(WordNetLine, MalformedLinesNameFileAndLine) {
  expect_error([] { parse_synset_line("00003993 03 n 01 congener 0 001 @ 00003553 n 0000", "data.noun", 12); },
               "data.noun:12: malformed synset line: no ' | ' before the gloss");
  expect_error([] { parse_synset_line("0000399x 03 n 01 congener 0 000 | gloss", "data.noun", 3); },
               "data.noun:3: malformed synset line: synset offset '0000399x' is not 8 digits");
  expect_error([] { parse_synset_line("00003993 03 q 01 congener 0 000 | gloss", "f", 1); },
               "f:1: malformed synset line: unknown synset type 'q' (expected n, v, a, s or r)");
  expect_error([] { parse_synset_line("00003993 03 n 03 congener 0 000 | gloss", "f", 1); },
               "f:1: malformed synset line: the line ends inside its 3 words");
  expect_error([] { parse_synset_line("00003993 03 n 01 congener 0 002 @ 00003553 n 0000 | gloss", "f", 1); },
               "f:1: malformed synset line: the line ends inside its 2 pointers");
  expect_error([] { parse_synset_line("00003993 03 n zz congener 0 000 | gloss", "f", 1); },
               "f:1: malformed synset line: word count 'zz' is not a positive hexadecimal number");
  expect_error([] { parse_synset_line("00003993 03 n 01 caf\xC3 0 000 | gloss", "data.noun", 9); },
               "data.noun:9: invalid UTF-8 at byte 21");
}

TEST(WordNetFiles, MissingFolderOrMalformedFile) {
  expect_error([] { load_wordnet("/nonexistent/wordnet"); },
               "cannot read WordNet file '/nonexistent/wordnet/data.noun' (install wordnet-base, or set text.wordnet_dir)");
  datatest::TempDir dir;
  std::ofstream(dir.file("data.noun")) << "  licence header line\n" << kCongener << "\n"
                                       << "00004000 03 n 01 broken\n";
  expect_error([&] { load_wordnet(dir.path().string()); },
               dir.file("data.noun") + ":3: malformed synset line: no ' | ' before the gloss");
}

TEST(WordNetReal, DogSynset) {
  if (!wordnet_installed()) GTEST_SKIP() << "wordnet-base is not installed";
  const auto& wn = real_wordnet();
  EXPECT_EQ(wn.synsets.size(), 117659u);  // WordNet 3.0
  const Synset* dog = wn.find("dog.n.01");
  ASSERT_NE(dog, nullptr);
  EXPECT_EQ(dog->offset, 2084071u);
  EXPECT_EQ(dog->lemmas, (std::vector<std::string>{"dog", "domestic_dog", "Canis_familiaris"}));
  EXPECT_EQ(dog->definition,
            "a member of the genus Canis (probably descended from the common wolf) that has been "
            "domesticated by man since prehistoric times; occurs in many breeds");
  EXPECT_EQ(dog->examples, (std::vector<std::string>{"the dog barked all night"}));
  // Other senses and parts of speech get their index positions.
  ASSERT_NE(wn.find("dog.n.03"), nullptr);
  EXPECT_EQ(wn.find("dog.n.03")->definition, "informal term for a man");
  // Sense 2 of "dog" is named after its first lemma: frump.n.01.
  EXPECT_EQ(wn.find("frump.n.01")->lemmas, (std::vector<std::string>{"frump", "dog"}));
  // The verb sense of "dog" is named after its synset's first lemma.
  EXPECT_EQ(wn.find("dog.v.01"), nullptr);
  ASSERT_NE(wn.find("chase.v.01"), nullptr);
  const auto& chase = wn.find("chase.v.01")->lemmas;
  EXPECT_NE(std::find(chase.begin(), chase.end(), "dog"), chase.end());
  EXPECT_EQ(wn.find("no.such.01"), nullptr);
  // Synonym sets: "domestic_dog" holds only dog.n.01; "dog" has 7 noun and 1 verb senses.
  EXPECT_EQ(wn.lemma_index.at("domestic_dog"), (std::vector<int64_t>{wn.index_of("dog.n.01")}));
  EXPECT_EQ(wn.lemma_index.at("dog").size(), 8u);
}

TEST(WordNetReal, SplitIsSeededDisjointAndComplete) {
  if (!wordnet_installed()) GTEST_SKIP() << "wordnet-base is not installed";
  const auto& wn = real_wordnet();
  auto a = split_synsets(wn, 0.1, 0.1, 0), b = split_synsets(wn, 0.1, 0.1, 0);
  EXPECT_EQ(a.test, b.test);
  EXPECT_EQ(a.train.size() + a.val.size() + a.test.size(), wn.synsets.size());
  EXPECT_NEAR(double(a.test.size()) / double(wn.synsets.size()), 0.1, 0.01);
  EXPECT_NEAR(double(a.val.size()) / double(wn.synsets.size()), 0.1, 0.01);
  std::set<int64_t> test(a.test.begin(), a.test.end());
  for (int64_t i : a.train) EXPECT_FALSE(test.count(i));
  // Without a validation part the test part is unchanged: validation synsets join training.
  auto no_val = split_synsets(wn, 0.1, 0.0, 0);
  EXPECT_EQ(no_val.test, a.test);
  EXPECT_NE(split_synsets(wn, 0.1, 0.1, 1).test, a.test);
  expect_error([&] { split_synsets(wn, 0.6, 0.5, 0); }, "test + val < 1");
}

TEST(WordNetReal, TextsPairsAndRetrievalTask) {
  if (!wordnet_installed()) GTEST_SKIP() << "wordnet-base is not installed";
  const auto& wn = real_wordnet();
  const int64_t dog = wn.index_of("dog.n.01"), dog3 = wn.index_of("dog.n.03"),
                cat = wn.index_of("cat.n.01");
  auto texts = wordnet_texts(wn, {dog, cat}, 0);
  EXPECT_EQ(texts.size(), 2u + wn.synsets[size_t(dog)].examples.size() + wn.synsets[size_t(cat)].examples.size());
  EXPECT_NE(std::find(texts.begin(), texts.end(), "the dog barked all night"), texts.end());

  auto pairs = wordnet_pairs(wn, {dog, dog3, cat}, true, 0);
  auto it = std::find_if(pairs.begin(), pairs.end(),
                         [](const TextPair& p) { return p.anchor == "the dog barked all night"; });
  ASSERT_NE(it, pairs.end());
  EXPECT_EQ(it->positive, wn.synsets[size_t(dog)].definition);
  // The hard negative is another sense of "dog" among the allowed synsets.
  EXPECT_EQ(it->negative, "informal term for a man");
  for (const auto& p : wordnet_pairs(wn, {dog, cat}, false, 0)) EXPECT_TRUE(p.negative.empty());

  auto task = gloss_retrieval_task(wn, {dog, cat});
  EXPECT_EQ(task.documents.size(), 2u);
  EXPECT_EQ(task.documents[0], wn.synsets[size_t(dog)].definition);
  ASSERT_EQ(task.queries.size(), task.targets.size());
  EXPECT_EQ(task.queries[0], "the dog barked all night");
  EXPECT_EQ(task.targets[0], 0);
}
