#include "contra/data/emoji.h"

#include <torch/torch.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_TRUETYPE_TABLES_H
#include FT_TRUETYPE_TAGS_H

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>

#include "contra/core/error.h"
#include "contra/core/words.h"
#include "contra/data/image_text_split.h"
#include "font_ligatures.h"
#include "resample.h"
#include "xml_text.h"

namespace contra::data {
namespace {

namespace fs = std::filesystem;

/// Zero-shot names of Unicode's emoji groups (prompts: "an emoji of a {}").
constexpr std::pair<const char*, const char*> kEmojiGroupNames[] = {
    {"Smileys & Emotion", "smiley or emotion"}, {"People & Body", "person or body part"},
    {"Animals & Nature", "animal or plant"},    {"Food & Drink", "food or drink"},
    {"Travel & Places", "travel or place"},     {"Activities", "activity"},
    {"Objects", "object"},                      {"Symbols", "symbol"},
    {"Flags", "flag"},                          {"Component", "emoji component"}};

/// Zero-shot names of the subgroups (Unicode 15's; others fall back to their own words).
constexpr std::pair<const char*, const char*> kEmojiSubgroupNames[] = {
    {"face-smiling", "smiling face"}, {"face-affection", "affectionate face"},
    {"face-tongue", "face with tongue"}, {"face-hand", "face with hand"},
    {"face-neutral-skeptical", "neutral or skeptical face"}, {"face-sleepy", "sleepy face"},
    {"face-unwell", "unwell face"}, {"face-hat", "face with hat"},
    {"face-glasses", "face with glasses"}, {"face-concerned", "concerned face"},
    {"face-negative", "angry face"}, {"face-costume", "costume face or monster"},
    {"cat-face", "cat face"}, {"monkey-face", "monkey face"}, {"heart", "heart"},
    {"emotion", "emotion symbol"}, {"hand-fingers-open", "open hand"},
    {"hand-fingers-partial", "hand gesture"}, {"hand-single-finger", "pointing finger"},
    {"hand-fingers-closed", "closed hand or fist"}, {"hands", "two hands"},
    {"hand-prop", "hand holding something"}, {"body-parts", "body part"}, {"person", "person"},
    {"person-gesture", "person gesturing"}, {"person-role", "person at work"},
    {"person-fantasy", "fantasy character"}, {"person-activity", "person doing an activity"},
    {"person-sport", "person playing sport"}, {"person-resting", "person resting"},
    {"family", "family or couple"}, {"person-symbol", "person symbol"},
    {"skin-tone", "skin tone"}, {"hair-style", "hair style"},
    {"animal-mammal", "mammal"}, {"animal-bird", "bird"}, {"animal-amphibian", "amphibian"},
    {"animal-reptile", "reptile"}, {"animal-marine", "sea animal"}, {"animal-bug", "bug"},
    {"plant-flower", "flower"}, {"plant-other", "plant"}, {"food-fruit", "fruit"},
    {"food-vegetable", "vegetable"}, {"food-prepared", "prepared food"},
    {"food-asian", "asian food"}, {"food-marine", "seafood"}, {"food-sweet", "sweet"},
    {"drink", "drink"}, {"dishware", "dishware"}, {"place-map", "map"},
    {"place-geographic", "landscape"}, {"place-building", "building"},
    {"place-religious", "religious building"}, {"place-other", "place"},
    {"transport-ground", "ground vehicle"}, {"transport-water", "boat"},
    {"transport-air", "aircraft"}, {"hotel", "hotel"}, {"time", "clock"},
    {"sky & weather", "sky and weather"}, {"event", "celebration"},
    {"award-medal", "award medal"}, {"sport", "sport"}, {"game", "game"},
    {"arts & crafts", "arts and crafts"}, {"clothing", "clothing"}, {"sound", "sound"},
    {"music", "music"}, {"musical-instrument", "musical instrument"}, {"phone", "phone"},
    {"computer", "computer"}, {"light & video", "light and video"},
    {"book-paper", "book or paper"}, {"money", "money"}, {"mail", "mail"},
    {"writing", "writing"}, {"office", "office"}, {"lock", "lock"}, {"tool", "tool"},
    {"science", "science"}, {"medical", "medical"}, {"household", "household item"},
    {"other-object", "object"}, {"transport-sign", "transport sign"},
    {"warning", "warning sign"}, {"arrow", "arrow"}, {"religion", "religious symbol"},
    {"zodiac", "zodiac sign"}, {"av-symbol", "audio or video symbol"},
    {"gender", "gender symbol"}, {"math", "math symbol"}, {"punctuation", "punctuation mark"},
    {"currency", "currency symbol"}, {"other-symbol", "symbol"}, {"keycap", "keycap"},
    {"alphanum", "letters or numbers"}, {"geometric", "geometric shape"}, {"flag", "flag"},
    {"country-flag", "country flag"}, {"subdivision-flag", "regional flag"}};

constexpr uint32_t kEmojiPresentation = 0xFE0F;

bool emoji_skin_tone(uint32_t cp) { return cp >= 0x1F3FB && cp <= 0x1F3FF; }

std::string emoji_trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string emoji_read_file(const std::string& path, const char* what) {
  std::error_code ec;
  CONTRA_CHECK(fs::is_regular_file(path, ec), path, ": ", what, " not found");
  std::ifstream in(path, std::ios::binary);
  CONTRA_CHECK(in.good(), path, ": cannot read the ", what);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// A FreeType library and face, released together.
struct EmojiFont {
  FT_Library library = nullptr;
  FT_Face face = nullptr;
  EmojiFont() = default;
  EmojiFont(const EmojiFont&) = delete;
  EmojiFont& operator=(const EmojiFont&) = delete;
  ~EmojiFont() {
    if (face != nullptr) FT_Done_Face(face);
    if (library != nullptr) FT_Done_FreeType(library);
  }
};

/// Opens the font and picks its largest bitmap strike (or 128 px for a scalable font).
void emoji_open_font(EmojiFont& font, const std::string& path) {
  std::error_code ec;
  CONTRA_CHECK(fs::is_regular_file(path, ec), path, ": emoji font not found");
  FT_Error err = FT_Init_FreeType(&font.library);
  TORCH_CHECK(err == 0, "FreeType: cannot start (error ", err, ")");
  err = FT_New_Face(font.library, path.c_str(), 0, &font.face);
  CONTRA_CHECK(err == 0, path, ": not a font FreeType can read (error ", err, ")");
  if (font.face->num_fixed_sizes > 0) {
    int best = 0;
    for (int i = 1; i < font.face->num_fixed_sizes; ++i) {
      if (font.face->available_sizes[i].height > font.face->available_sizes[best].height) best = i;
    }
    err = FT_Select_Size(font.face, best);
  } else {
    err = FT_Set_Pixel_Sizes(font.face, 0, 128);
  }
  CONTRA_CHECK(err == 0, path, ": cannot choose a glyph size (FreeType error ", err, ")");
}

std::vector<uint8_t> emoji_gsub(const EmojiFont& font) {
  FT_ULong length = 0;
  if (FT_Load_Sfnt_Table(font.face, TTAG_GSUB, 0, nullptr, &length) != 0 || length == 0) return {};
  std::vector<uint8_t> table(length);
  if (FT_Load_Sfnt_Table(font.face, TTAG_GSUB, 0, table.data(), &length) != 0) return {};
  return table;
}

/// The one glyph the font draws for `cps` (U+FE0F dropped, ligatures applied), or 0.
uint16_t emoji_glyph(const EmojiFont& font, const detail::FontLigatures& ligatures,
                     const std::vector<uint32_t>& cps) {
  std::vector<uint16_t> glyphs;
  for (uint32_t cp : cps) {
    if (cp == kEmojiPresentation) continue;
    const FT_UInt g = FT_Get_Char_Index(font.face, cp);
    if (g == 0 || g > 0xFFFF) return 0;
    glyphs.push_back(static_cast<uint16_t>(g));
  }
  if (glyphs.size() > 1) glyphs = ligatures.apply(std::move(glyphs));
  return glyphs.size() == 1 ? glyphs[0] : 0;
}

/// Renders glyph `g` onto white into dst [3, size, size]; false when the font gives no colour
/// or grey bitmap for it.
bool emoji_render(const EmojiFont& font, uint16_t g, int size, uint8_t* dst) {
  if (FT_Load_Glyph(font.face, g, FT_LOAD_COLOR | FT_LOAD_RENDER) != 0) return false;
  const FT_Bitmap& bm = font.face->glyph->bitmap;
  if (bm.width == 0 || bm.rows == 0) return false;
  const bool bgra = bm.pixel_mode == FT_PIXEL_MODE_BGRA;
  if (!bgra && bm.pixel_mode != FT_PIXEL_MODE_GRAY) return false;
  const int w = static_cast<int>(bm.width), h = static_cast<int>(bm.rows);
  detail::LetterboxResampler resampler(w, h, 3, size, 255.0f);
  std::vector<float> row(static_cast<size_t>(w) * 3);
  for (int y = 0; y < h; ++y) {
    const uint8_t* src = bm.buffer + static_cast<std::ptrdiff_t>(y) * bm.pitch;
    for (int x = 0; x < w; ++x) {
      float* out = row.data() + static_cast<size_t>(x) * 3;
      if (bgra) {
        // FreeType's BGRA is premultiplied: over white, colour + (255 - alpha).
        const uint8_t* p = src + static_cast<size_t>(x) * 4;
        const float white = 255.0f - p[3];
        out[0] = p[2] + white;
        out[1] = p[1] + white;
        out[2] = p[0] + white;
      } else {  // coverage: black ink on white
        out[0] = out[1] = out[2] = 255.0f - src[x];
      }
    }
    resampler.add_row(y, row.data());
  }
  resampler.finish(dst);
  return true;
}

/// Words split at ASCII spaces and punctuation (UTF-8 bytes belong to words).
std::vector<std::string> emoji_words(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || u >= 0x80) {
      cur += c;
    } else if (!cur.empty()) {
      words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

/// "kiss: woman, man, light skin tone, dark skin tone" -> "kiss: woman, man";
/// "waving hand: light skin tone" -> "waving hand".
std::string emoji_untoned_name(const std::string& name) {
  const size_t colon = name.find(": ");
  if (colon == std::string::npos) return name;
  std::string kept;
  size_t start = colon + 2;
  while (start <= name.size()) {
    const size_t end = std::min(name.find(", ", start), name.size());
    const std::string part = name.substr(start, end - start);
    const bool tone = part.size() >= 9 && part.compare(part.size() - 9, 9, "skin tone") == 0;
    if (!tone && !part.empty()) kept += (kept.empty() ? "" : ", ") + part;
    start = end + 2;
  }
  return kept.empty() ? name.substr(0, colon) : name.substr(0, colon) + ": " + kept;
}

std::string emoji_id(const std::vector<uint32_t>& cps) {
  std::string id;
  for (uint32_t cp : cps) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%sU+%04X", id.empty() ? "" : " ", cp);
    id += buf;
  }
  return id;
}

std::string emoji_fallback_name(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '-') out += ' ';
    else if (c == '&') out += "and";
    else out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

void validate(const EmojiOptions& o) {
  CONTRA_CHECK(!o.font.empty(), "emoji: font must not be empty");
  CONTRA_CHECK(!o.emoji_test.empty(), "emoji: emoji_test must not be empty");
  CONTRA_CHECK(!o.cldr.empty(), "emoji: cldr must not be empty");
  CONTRA_CHECK(o.size >= 1 && o.size <= 1024, "emoji: size must be in 1..1024, got ", o.size);
  CONTRA_CHECK(o.limit >= 0, "emoji: limit must be >= 0, got ", o.limit);
}

std::vector<EmojiEntry> parse_emoji_test(std::string_view text, const std::string& file) {
  std::vector<EmojiEntry> out;
  std::string group, subgroup;
  size_t at = 0;
  for (int64_t line_no = 1; at < text.size(); ++line_no) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string line = emoji_trim(text.substr(at, end - at));
    at = end + 1;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# group:", 0) == 0) group = emoji_trim(std::string_view(line).substr(8));
      if (line.rfind("# subgroup:", 0) == 0) subgroup = emoji_trim(std::string_view(line).substr(11));
      continue;
    }
    const size_t semi = line.find(';'), hash = line.find('#');
    CONTRA_CHECK(semi != std::string::npos && (hash == std::string::npos || hash > semi), file, ":",
                 line_no, ": expected 'code points ; status # comment'");
    EmojiEntry e;
    for (const auto& hex : split_words(std::string_view(line).substr(0, semi))) {
      uint32_t cp = 0;
      bool ok = !hex.empty() && hex.size() <= 6;
      for (char c : hex) {
        const auto u = static_cast<unsigned char>(c);
        if (!std::isxdigit(u)) ok = false;
        else cp = cp * 16 + static_cast<uint32_t>(std::isdigit(u) ? c - '0' : std::tolower(u) - 'a' + 10);
      }
      CONTRA_CHECK(ok && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF), file, ":", line_no,
                   ": '", hex, "' is not a code point in hex");
      e.code_points.push_back(cp);
    }
    CONTRA_CHECK(!e.code_points.empty(), file, ":", line_no, ": no code points before ';'");
    const size_t status_end = hash == std::string::npos ? line.size() : hash;
    e.status = emoji_trim(std::string_view(line).substr(semi + 1, status_end - semi - 1));
    CONTRA_CHECK(!e.status.empty(), file, ":", line_no, ": no status after ';'");
    if (hash != std::string::npos) {
      // "# 😀 E1.0 grinning face": the name follows the emoji and its version.
      const auto words = split_words(std::string_view(line).substr(hash + 1));
      size_t k = 0;
      while (k < words.size() && !(words[k].size() >= 2 && words[k][0] == 'E' &&
                                   std::isdigit(static_cast<unsigned char>(words[k][1])))) {
        ++k;
      }
      if (k + 1 < words.size()) {
        e.name = join_words(std::vector<std::string>(words.begin() + static_cast<std::ptrdiff_t>(k + 1), words.end()));
      }
    }
    e.group = group;
    e.subgroup = subgroup;
    out.push_back(std::move(e));
  }
  CONTRA_CHECK(!out.empty(), file, ": no emoji (expected lines like '1F600 ; fully-qualified # ...')");
  return out;
}

std::string emoji_key(const std::vector<uint32_t>& cps) {
  std::string key;
  for (uint32_t cp : cps)
    if (cp != kEmojiPresentation) detail::append_utf8(key, cp);
  return key;
}

void parse_cldr_annotations(std::string_view xml, std::map<std::string, EmojiAnnotation>& into) {
  std::map<std::string, EmojiAnnotation> found;
  size_t at = 0;
  while (true) {
    const auto el = detail::find_xml_element(xml, "annotation", at);
    if (!el.found) break;
    at = el.end;
    const auto cp = detail::xml_attribute(el.attributes, "cp");
    if (!cp || cp->empty()) continue;
    std::string key;  // the cp without U+FE0F (EF B8 8F)
    for (size_t i = 0; i < cp->size(); ++i) {
      if (cp->compare(i, 3, "\xEF\xB8\x8F") == 0) {
        i += 2;
        continue;
      }
      key += (*cp)[i];
    }
    const std::string text = emoji_trim(detail::xml_text(el.content));
    auto& entry = found[key];
    if (detail::xml_attribute(el.attributes, "type") == std::optional<std::string>("tts")) {
      entry.name = text;
    } else {
      entry.keywords.clear();
      size_t start = 0;
      while (start <= text.size()) {
        const size_t end = std::min(text.find('|', start), text.size());
        std::string kw = emoji_trim(std::string_view(text).substr(start, end - start));
        if (!kw.empty()) entry.keywords.push_back(std::move(kw));
        start = end + 1;
      }
    }
  }
  for (auto& [key, value] : found) {
    auto& entry = into[key];
    if (entry.name.empty()) entry.name = value.name;
    if (entry.keywords.empty()) entry.keywords = std::move(value.keywords);
  }
}

std::string emoji_class_name(std::string_view name, EmojiLabels labels) {
  if (labels == EmojiLabels::kGroup) {
    for (const auto& [group, readable] : kEmojiGroupNames)
      if (name == group) return readable;
  } else {
    for (const auto& [subgroup, readable] : kEmojiSubgroupNames)
      if (name == subgroup) return readable;
  }
  return emoji_fallback_name(name);
}

std::vector<std::string> emoji_captions(const std::string& name, const std::vector<std::string>& keywords) {
  std::vector<std::string> captions;
  if (!name.empty()) captions.push_back(name);
  std::string with_keywords;
  const std::vector<std::string> name_words = emoji_words(name);
  for (const auto& kw : keywords) {
    // Keywords the name already says ("face" of "grinning face", "flag" of "flag: Ghana").
    const std::vector<std::string> kw_words = emoji_words(kw);
    const bool in_name = !kw_words.empty() &&
        std::search(name_words.begin(), name_words.end(), kw_words.begin(), kw_words.end()) != name_words.end();
    if (kw.empty() || kw == name || in_name) continue;
    with_keywords += (with_keywords.empty() ? "" : ", ") + kw;
  }
  if (!with_keywords.empty()) {
    captions.push_back(name.empty() ? with_keywords : name + ": " + with_keywords);
  }
  return captions;
}

ImageTextDataset load_emoji(const EmojiOptions& options) {
  validate(options);
  const std::vector<EmojiEntry> entries =
      parse_emoji_test(emoji_read_file(options.emoji_test, "emoji list"), options.emoji_test);
  std::map<std::string, EmojiAnnotation> annotations;
  for (const char* part : {"annotations/en.xml", "annotationsDerived/en.xml"}) {
    const std::string path = (fs::path(options.cldr) / part).string();
    parse_cldr_annotations(emoji_read_file(path, "CLDR annotation file"), annotations);
  }
  EmojiFont font;
  emoji_open_font(font, options.font);
  const detail::FontLigatures ligatures(emoji_gsub(font), options.font);

  // The fully-qualified emoji the font draws as one glyph.
  struct Drawable {
    const EmojiEntry* entry;
    uint16_t glyph;
  };
  std::vector<Drawable> drawable;
  std::set<std::string> drawn_keys;
  for (const auto& e : entries) {
    if (e.status != "fully-qualified") continue;
    const uint16_t g = emoji_glyph(font, ligatures, e.code_points);
    if (g == 0) continue;
    drawable.push_back({&e, g});
    drawn_keys.insert(emoji_key(e.code_points));
  }
  // Skin-tone variants only where the base emoji is not drawn: the same code points without
  // the tones, or (sequences of two people with a tone each) the same name without them.
  std::set<std::string> drawn_names;
  for (const auto& d : drawable) {
    const auto& cps = d.entry->code_points;
    if (std::none_of(cps.begin(), cps.end(), emoji_skin_tone)) drawn_names.insert(d.entry->name);
  }
  std::vector<Drawable> kept;
  for (const auto& d : drawable) {
    const auto& cps = d.entry->code_points;
    if (std::any_of(cps.begin(), cps.end(), emoji_skin_tone)) {
      std::vector<uint32_t> base;
      for (uint32_t cp : cps)
        if (!emoji_skin_tone(cp)) base.push_back(cp);
      if (drawn_keys.count(emoji_key(base)) > 0) continue;
      const std::string untoned = emoji_untoned_name(d.entry->name);
      // "kiss: person, person, light skin tone, ..." is a toned "kiss".
      const std::string head = untoned.substr(0, untoned.find(": "));
      if (drawn_names.count(untoned) > 0 || drawn_names.count(head) > 0) continue;
    }
    kept.push_back(d);
  }
  CONTRA_CHECK(!kept.empty(), options.font, ": draws none of the ", entries.size(), " emoji of ",
               options.emoji_test, " (not a colour emoji font?)");

  // Render; classes in Unicode's order of the emoji drawn.
  const int64_t s = options.size;
  std::vector<uint8_t> pixels(kept.size() * 3 * static_cast<size_t>(s * s));
  std::vector<const EmojiEntry*> rendered;
  for (const auto& d : kept) {
    if (emoji_render(font, d.glyph, static_cast<int>(s), pixels.data() + rendered.size() * 3 * s * s)) {
      rendered.push_back(d.entry);
    }
  }
  CONTRA_CHECK(!rendered.empty(), options.font, ": renders none of its emoji glyphs as a bitmap");
  ImageTextDataset ds;
  std::map<std::string, int64_t> class_of;
  std::vector<int64_t> all_labels;
  for (const EmojiEntry* e : rendered) {
    const std::string& cls = options.labels == EmojiLabels::kGroup ? e->group : e->subgroup;
    auto it = class_of.find(cls);
    if (it == class_of.end()) {
      it = class_of.emplace(cls, static_cast<int64_t>(ds.class_names.size())).first;
      ds.class_names.push_back(emoji_class_name(cls, options.labels));
    }
    all_labels.push_back(it->second);
  }
  const std::vector<int64_t> keep = spread_indices(static_cast<int64_t>(rendered.size()), options.limit);
  const auto n = static_cast<int64_t>(keep.size());
  ds.images = torch::empty({n, 3, s, s}, torch::kUInt8);
  ds.labels = torch::empty({n}, torch::kInt64);
  for (int64_t j = 0; j < n; ++j) {
    const auto i = static_cast<size_t>(keep[static_cast<size_t>(j)]);
    const EmojiEntry& e = *rendered[i];
    std::memcpy(ds.images.data_ptr<uint8_t>() + j * 3 * s * s, pixels.data() + i * 3 * s * s,
                static_cast<size_t>(3 * s * s));
    ds.labels.data_ptr<int64_t>()[j] = all_labels[i];
    const auto it = annotations.find(emoji_key(e.code_points));
    const std::string name = it != annotations.end() && !it->second.name.empty() ? it->second.name : e.name;
    std::vector<std::string> captions =
        emoji_captions(name, it != annotations.end() ? it->second.keywords : std::vector<std::string>{});
    if (captions.empty()) captions.push_back(emoji_id(e.code_points));
    ds.captions.push_back(std::move(captions));
    ds.ids.push_back(emoji_id(e.code_points));
  }
  check_image_text(ds, "emoji");
  return ds;
}

}  // namespace contra::data
