#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "contra/core/error.h"
#include "contra/data/emoji.h"
#include "data_test_util.h"

namespace {

namespace fs = std::filesystem;
using contra::data::EmojiLabels;
using contra::data::EmojiOptions;
using contra::data::load_emoji;
using namespace contra::data::datatest;

const char* const kEmojiTestSample = R"(# emoji-test.txt
# group: Smileys & Emotion

# subgroup: face-smiling
1F600                                                  ; fully-qualified     # 😀 E1.0 grinning face
263A FE0F                                              ; fully-qualified     # ☺️ E0.6 smiling face
263A                                                   ; unqualified         # ☺ E0.6 smiling face

# group: Flags
# subgroup: country-flag
1F1FA 1F1F8                                            ; fully-qualified     # 🇺🇸 E0.6 flag: United States
)";

TEST(EmojiList, ParsesGroupsSubgroupsStatusAndNames) {
  const auto entries = contra::data::parse_emoji_test(kEmojiTestSample, "t.txt");
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].code_points, (std::vector<uint32_t>{0x1F600}));
  EXPECT_EQ(entries[0].status, "fully-qualified");
  EXPECT_EQ(entries[0].group, "Smileys & Emotion");
  EXPECT_EQ(entries[0].subgroup, "face-smiling");
  EXPECT_EQ(entries[0].name, "grinning face");
  EXPECT_EQ(entries[1].code_points, (std::vector<uint32_t>{0x263A, 0xFE0F}));
  EXPECT_EQ(entries[2].status, "unqualified");
  EXPECT_EQ(entries[3].group, "Flags");
  EXPECT_EQ(entries[3].name, "flag: United States");
}

TEST(EmojiList, MalformedLinesNameFileAndLine) {
  expect_error_parts([] { contra::data::parse_emoji_test("# x\n1F600 fully-qualified\n", "e.txt"); },
                     {"e.txt:2", "code points ; status"});
  expect_error_parts([] { contra::data::parse_emoji_test("1F6ZZ ; fully-qualified # x\n", "e.txt"); },
                     {"e.txt:1", "'1F6ZZ'"});
  expect_error_parts([] { contra::data::parse_emoji_test("110000 ; fully-qualified\n", "e.txt"); },
                     {"e.txt:1"});
  expect_error_parts([] { contra::data::parse_emoji_test("# only comments\n\n", "e.txt"); },
                     {"e.txt", "no emoji"});
}

TEST(EmojiList, CldrAnnotationsNamesKeywordsWithoutFe0f) {
  std::map<std::string, contra::data::EmojiAnnotation> a;
  contra::data::parse_cldr_annotations(R"(<ldml><annotations>
    <annotation cp="😀">face | grin | grinning face</annotation>
    <annotation cp="😀" type="tts">grinning face</annotation>
    <annotation cp="☺️">face &amp; smile | relaxed</annotation>
    <annotation cp="☺️" type="tts">smiling face</annotation>
  </annotations></ldml>)", a);
  contra::data::parse_cldr_annotations(R"(<annotation cp="😀" type="tts">other name</annotation>
    <annotation cp="🇺🇸" type="tts">flag: United States</annotation>)", a);
  const std::string grin = contra::data::emoji_key({0x1F600});
  ASSERT_EQ(a.count(grin), 1u);
  EXPECT_EQ(a[grin].name, "grinning face");  // the first file wins
  EXPECT_EQ(a[grin].keywords, (std::vector<std::string>{"face", "grin", "grinning face"}));
  const std::string smile = contra::data::emoji_key({0x263A, 0xFE0F});
  EXPECT_EQ(smile, "\xE2\x98\xBA");
  EXPECT_EQ(a[smile].keywords, (std::vector<std::string>{"face & smile", "relaxed"}));
  EXPECT_EQ(a[contra::data::emoji_key({0x1F1FA, 0x1F1F8})].name, "flag: United States");
  EXPECT_EQ(contra::data::emoji_captions("grinning face", {"face", "grin", "grinning face"}),
            (std::vector<std::string>{"grinning face", "grinning face: grin"}));
  EXPECT_EQ(contra::data::emoji_captions("flag: Ghana", {"flag"}), (std::vector<std::string>{"flag: Ghana"}));
  EXPECT_EQ(contra::data::emoji_captions("x", {}), (std::vector<std::string>{"x"}));
}

TEST(EmojiList, ClassNames) {
  using contra::data::emoji_class_name;
  EXPECT_EQ(emoji_class_name("Smileys & Emotion", EmojiLabels::kGroup), "smiley or emotion");
  EXPECT_EQ(emoji_class_name("Flags", EmojiLabels::kGroup), "flag");
  EXPECT_EQ(emoji_class_name("animal-bird", EmojiLabels::kSubgroup), "bird");
  EXPECT_EQ(emoji_class_name("New-Group & More", EmojiLabels::kSubgroup), "new group and more");
}

/// The index of the emoji with this id, or -1.
int64_t emoji_index(const contra::data::ImageTextDataset& ds, const std::string& id) {
  const auto it = std::find(ds.ids.begin(), ds.ids.end(), id);
  return it == ds.ids.end() ? -1 : it - ds.ids.begin();
}

TEST(Emoji, DebianNotoColorEmoji) {
  EmojiOptions o;
  const auto ds = load_emoji(o);
  // Emoji 15.0 lists 1,870 fully-qualified emoji besides skin-tone variants; Noto 2.042 draws
  // nearly all, flags and ZWJ sequences through its ligatures.
  EXPECT_GT(ds.size(), 1800);
  EXPECT_LE(ds.size(), 1870);
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{ds.size(), 3, 32, 32}));
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"smiley or emotion", "person or body part",
                                                      "animal or plant", "food or drink",
                                                      "travel or place", "activity", "object",
                                                      "symbol", "flag"}));
  const int64_t grin = emoji_index(ds, "U+1F600");
  ASSERT_GE(grin, 0);
  EXPECT_EQ(ds.captions[static_cast<size_t>(grin)][0], "grinning face");
  EXPECT_EQ(ds.captions[static_cast<size_t>(grin)][1], "grinning face: grin");
  EXPECT_EQ(ds.class_names[static_cast<size_t>(ds.labels[grin].item<int64_t>())], "smiley or emotion");
  // Yellow in the middle (R, G high, B low: BGRA read in the right order), white corners.
  const auto g = ds.images[grin].to(torch::kInt);
  EXPECT_GT(g[0][16][10].item<int>(), 200);
  EXPECT_GT(g[1][16][10].item<int>(), 150);
  EXPECT_LT(g[2][16][10].item<int>(), 100);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(g[c][0][0].item<int>(), 255);
  // A red heart is red.
  const int64_t heart = emoji_index(ds, "U+2764 U+FE0F");
  ASSERT_GE(heart, 0);
  EXPECT_EQ(ds.captions[static_cast<size_t>(heart)][0], "red heart");
  const auto h = ds.images[heart].to(torch::kFloat).mean({1, 2});
  EXPECT_GT(h[0].item<float>(), h[1].item<float>() + 40);
  // Sequences through the font's ligatures: a flag, a keycap, a ZWJ sequence.
  const int64_t us = emoji_index(ds, "U+1F1FA U+1F1F8");
  ASSERT_GE(us, 0);
  EXPECT_EQ(ds.captions[static_cast<size_t>(us)][0], "flag: United States");
  EXPECT_EQ(ds.class_names[static_cast<size_t>(ds.labels[us].item<int64_t>())], "flag");
  EXPECT_GE(emoji_index(ds, "U+0023 U+FE0F U+20E3"), 0);
  const int64_t coder = emoji_index(ds, "U+1F9D1 U+200D U+1F4BB");
  ASSERT_GE(coder, 0);
  EXPECT_EQ(ds.captions[static_cast<size_t>(coder)][0], "technologist");
  // Flags and the technologist are drawn, not blank.
  EXPECT_LT(ds.images[us].to(torch::kFloat).mean().item<float>(), 230.0f);
  // Skin-tone variants of drawn emoji are left out.
  EXPECT_EQ(emoji_index(ds, "U+1F44B U+1F3FB"), -1);
  EXPECT_GE(emoji_index(ds, "U+1F44B"), 0);
  EXPECT_EQ(emoji_index(ds, "U+1F9D1 U+1F3FB U+200D U+1F91D U+200D U+1F9D1 U+1F3FF"), -1);  // two tones
  EXPECT_GE(emoji_index(ds, "U+1F9D1 U+200D U+1F91D U+200D U+1F9D1"), 0);
  // Every class has emoji; ids are unique.
  const auto counts = torch::bincount(ds.labels);
  EXPECT_EQ(counts.numel(), 9);
  EXPECT_GT(counts.min().item<int64_t>(), 50);
  std::set<std::string> ids(ds.ids.begin(), ds.ids.end());
  EXPECT_EQ(static_cast<int64_t>(ids.size()), ds.size());
}

TEST(Emoji, SubgroupLabelsAndLimit) {
  EmojiOptions o;
  o.labels = EmojiLabels::kSubgroup;
  o.limit = 200;
  o.size = 16;
  const auto ds = load_emoji(o);
  EXPECT_EQ(ds.size(), 200);
  EXPECT_EQ(ds.images.size(2), 16);
  EXPECT_GT(ds.class_names.size(), 90u);
  EXPECT_EQ(ds.class_names[0], "smiling face");
  EXPECT_LT(ds.labels.max().item<int64_t>(), static_cast<int64_t>(ds.class_names.size()));
  EXPECT_GT(std::set<int64_t>(ds.labels.data_ptr<int64_t>(), ds.labels.data_ptr<int64_t>() + 200).size(), 50u);
}

TEST(Emoji, BadInputsNameTheFile) {
  TempDir dir;
  EmojiOptions o;
  o.font = dir.file("missing.ttf");
  expect_error_parts([&] { load_emoji(o); }, {dir.file("missing.ttf"), "not found"});
  o.font = dir.file("junk.ttf");
  write_raw(o.font, Bytes(100, 7));
  expect_error_parts([&] { load_emoji(o); }, {dir.file("junk.ttf"), "not a font"});
  o = EmojiOptions();
  o.emoji_test = dir.file("none.txt");
  expect_error_parts([&] { load_emoji(o); }, {dir.file("none.txt"), "emoji list not found"});
  o.emoji_test = dir.file("empty.txt");
  write_raw(o.emoji_test, Bytes{'#', '\n'});
  expect_error_parts([&] { load_emoji(o); }, {dir.file("empty.txt"), "no emoji"});
  // Code points no font draws.
  o.emoji_test = dir.file("private.txt");
  const std::string line = "F0000 ; fully-qualified # x E1.0 private\n";
  write_raw(o.emoji_test, Bytes(line.begin(), line.end()));
  expect_error_parts([&] { load_emoji(o); }, {"NotoColorEmoji.ttf", "draws none"});
  o = EmojiOptions();
  o.cldr = dir.file("cldr");
  expect_error_parts([&] { load_emoji(o); }, {"annotations/en.xml", "not found"});
  o = EmojiOptions();
  o.size = 2000;
  expect_error_parts([&] { load_emoji(o); }, {"size", "1..1024"});
}

}  // namespace
