#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "contra/core/names.h"
#include "contra/data/image_text.h"

namespace contra::data {

/// What an emoji's label is: one of Unicode's 9 emoji groups ("Smileys & Emotion", ...,
/// "Flags") or one of its ~100 subgroups ("face-smiling", "animal-bird", ...).
enum class EmojiLabels { kGroup, kSubgroup };
inline constexpr NameTable<EmojiLabels, 2> kEmojiLabelNames = {
    {"group", EmojiLabels::kGroup}, {"subgroup", EmojiLabels::kSubgroup}};

/// Debian's Noto Color Emoji font (fonts-noto-color-emoji) rendered emoji by emoji, with
/// Unicode's emoji list (unicode-data) and CLDR's English names and keywords
/// (unicode-cldr-core) as captions.
struct EmojiOptions {
  /// A colour emoji font: a bitmap strike (CBDT/CBLC, sbix) or a scalable font (default Debian's
  /// /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf).
  std::string font = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";
  /// Unicode's emoji-test.txt: the emoji, their groups, subgroups and names (default
  /// /usr/share/unicode/emoji/emoji-test.txt).
  std::string emoji_test = "/usr/share/unicode/emoji/emoji-test.txt";
  /// CLDR's common folder, holding annotations/en.xml and annotationsDerived/en.xml (default
  /// /usr/share/unicode/cldr/common).
  std::string cldr = "/usr/share/unicode/cldr/common";
  /// Side of the square images in pixels (default 32).
  int64_t size = 32;
  /// Keep at most this many emoji, spread evenly over Unicode's order; 0 keeps all (default 0).
  int64_t limit = 0;
  /// Label by group or by subgroup (default group).
  EmojiLabels labels = EmojiLabels::kGroup;
};

/// Throws contra::Error naming the option, its value and the allowed range.
void validate(const EmojiOptions& options);

/// Renders every fully-qualified emoji of emoji-test.txt that the font draws as one glyph: a
/// code point (with or without U+FE0F), or a sequence (flags, keycaps, ZWJ sequences) that the
/// font's OpenType ligatures (GSUB type 4) turn into one glyph. Skin-tone variants are left out
/// when the font draws their base emoji (the code points without the tones, or the name
/// without them: "people holding hands: light skin tone, dark skin tone", "kiss: person,
/// person, light skin tone, dark skin tone" is a toned "kiss"). Images: [N, 3, size, size] uint8, the glyph's bitmap
/// composited onto white, its longer side resized to `size`, the shorter centred. Captions:
/// emoji_captions of the CLDR name (else emoji-test's) and keywords. Labels: group or subgroup
/// in Unicode's order, class_names from emoji_class_name. ids: "U+1F600", "U+1F1FA U+1F1F8".
/// Throws contra::Error naming the file for a missing or unreadable font, emoji list or CLDR
/// file, a font that draws none of the emoji, and an empty emoji list.
ImageTextDataset load_emoji(const EmojiOptions& options);

/// One line of emoji-test.txt: "1F600 ; fully-qualified # 😀 E1.0 grinning face".
struct EmojiEntry {
  std::vector<uint32_t> code_points;
  std::string status;    ///< fully-qualified, minimally-qualified, unqualified, component
  std::string group;     ///< from the last "# group:" line, e.g. "Smileys & Emotion"
  std::string subgroup;  ///< from the last "# subgroup:" line, e.g. "face-smiling"
  std::string name;      ///< e.g. "grinning face" (empty when the comment has none)
};

/// Parses emoji-test.txt's text. Throws contra::Error "<file>:<line>: ..." for a data line
/// that is not "hex code points ; status # comment", and "<file>: no emoji" when there is none.
std::vector<EmojiEntry> parse_emoji_test(std::string_view text, const std::string& file);

/// CLDR's words for one emoji.
struct EmojiAnnotation {
  std::string name;                   ///< type="tts": the short name, e.g. "grinning face"
  std::vector<std::string> keywords;  ///< e.g. {"face", "grin", "grinning face"}
};

/// Adds the <annotation cp="..."> entries of a CLDR annotations file's text to `into`, keyed by
/// emoji_key(cp); an emoji already there keeps what it has (read annotations/ before
/// annotationsDerived/).
void parse_cldr_annotations(std::string_view xml, std::map<std::string, EmojiAnnotation>& into);

/// An emoji's text without U+FE0F (CLDR's keys leave the variation selector out).
std::string emoji_key(const std::vector<uint32_t>& code_points);

/// The zero-shot class name of a group or subgroup ("Smileys & Emotion" -> "smiley or emotion",
/// "animal-bird" -> "bird", "transport-air" -> "aircraft"); a name not in the tables: lower case,
/// "-" as a space, "&" as "and".
std::string emoji_class_name(std::string_view group_or_subgroup, EmojiLabels labels);

/// An emoji's captions: its name, then "<name>: <keyword>, ..." with CLDR's keywords that the
/// name does not already hold as whole words (when there are any). Never empty for a non-empty
/// name.
std::vector<std::string> emoji_captions(const std::string& name, const std::vector<std::string>& keywords);

}  // namespace contra::data
