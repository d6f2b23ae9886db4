// Internal to src/data: an OpenType font's ligature substitutions (GSUB lookup type 4, also
// inside type-7 extension lookups), which is how colour emoji fonts draw flags, keycaps and ZWJ
// sequences. FreeType maps code points to glyphs but does not shape; this applies the one kind
// of substitution those sequences need.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace contra::data::detail {

class FontLigatures {
 public:
  /// Parses a GSUB table's bytes (empty: a font without ligatures). Throws contra::Error
  /// naming `font` when the table is malformed (an offset or count past its end).
  FontLigatures(const std::vector<uint8_t>& gsub, const std::string& font);

  /// `glyphs` after every ligature lookup, in lookup-list order (at each position the first
  /// ligature of the set that matches, as OpenType specifies), with no feature selection: for
  /// emoji sequences, what a shaper produces.
  std::vector<uint16_t> apply(std::vector<uint16_t> glyphs) const;

  /// The number of ligatures read.
  size_t size() const { return count_; }

 private:
  struct Ligature {
    std::vector<uint16_t> rest;  // the components after the first
    uint16_t glyph = 0;
  };
  // Per ligature lookup: first component -> its ligatures, in preference order.
  std::vector<std::unordered_map<uint16_t, std::vector<Ligature>>> lookups_;
  size_t count_ = 0;
};

}  // namespace contra::data::detail
