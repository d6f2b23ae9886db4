#include "font_ligatures.h"

#include "contra/core/error.h"

namespace contra::data::detail {
namespace {

/// Big-endian reads, each checked against the table's end.
struct GsubBytes {
  const std::vector<uint8_t>& d;
  const std::string& font;

  uint16_t u16(size_t at) const {
    CONTRA_CHECK(at + 2 <= d.size(), font, ": malformed GSUB table (offset ", at, " past its ",
                 d.size(), " bytes)");
    return static_cast<uint16_t>((d[at] << 8) | d[at + 1]);
  }
  uint32_t u32(size_t at) const { return (uint32_t{u16(at)} << 16) | u16(at + 2); }
};

/// The glyphs of a coverage table in coverage-index order.
std::vector<uint16_t> gsub_coverage(const GsubBytes& b, size_t at) {
  std::vector<uint16_t> glyphs;
  const uint16_t format = b.u16(at), count = b.u16(at + 2);
  if (format == 1) {
    for (size_t i = 0; i < count; ++i) glyphs.push_back(b.u16(at + 4 + 2 * i));
  } else if (format == 2) {
    for (size_t i = 0; i < count; ++i) {
      const size_t r = at + 4 + 6 * i;
      const uint16_t first = b.u16(r), last = b.u16(r + 2), index = b.u16(r + 4);
      CONTRA_CHECK(first <= last, b.font, ": malformed GSUB coverage range");
      if (glyphs.size() < size_t{index} + (last - first) + 1) glyphs.resize(size_t{index} + (last - first) + 1);
      for (uint32_t g = first; g <= last; ++g) glyphs[index + (g - first)] = static_cast<uint16_t>(g);
    }
  } else {
    CONTRA_CHECK(false, b.font, ": malformed GSUB table (coverage format ", format, ")");
  }
  return glyphs;
}

}  // namespace

FontLigatures::FontLigatures(const std::vector<uint8_t>& gsub, const std::string& font) {
  if (gsub.empty()) return;
  const GsubBytes b{gsub, font};
  CONTRA_CHECK(b.u16(0) == 1, font, ": unsupported GSUB table version ", b.u16(0));
  const size_t list = b.u16(8);
  const uint16_t lookups = b.u16(list);
  for (size_t l = 0; l < lookups; ++l) {
    const size_t lookup = list + b.u16(list + 2 + 2 * l);
    const uint16_t type = b.u16(lookup), subtables = b.u16(lookup + 4);
    if (type != 4 && type != 7) continue;
    std::unordered_map<uint16_t, std::vector<Ligature>> table;
    for (size_t s = 0; s < subtables; ++s) {
      size_t sub = lookup + b.u16(lookup + 6 + 2 * s);
      uint16_t sub_type = type;
      if (type == 7) {  // extension: the real subtable lies at a 32-bit offset
        if (b.u16(sub) != 1) continue;
        sub_type = b.u16(sub + 2);
        sub += b.u32(sub + 4);
      }
      if (sub_type != 4 || b.u16(sub) != 1) continue;
      const std::vector<uint16_t> coverage = gsub_coverage(b, sub + b.u16(sub + 2));
      const uint16_t sets = b.u16(sub + 4);
      CONTRA_CHECK(sets <= coverage.size(), font, ": malformed GSUB table (", sets,
                   " ligature sets for ", coverage.size(), " covered glyphs)");
      for (size_t k = 0; k < sets; ++k) {
        const size_t set = sub + b.u16(sub + 6 + 2 * k);
        const uint16_t count = b.u16(set);
        auto& ligatures = table[coverage[k]];
        for (size_t m = 0; m < count; ++m) {
          const size_t lig = set + b.u16(set + 2 + 2 * m);
          Ligature entry;
          entry.glyph = b.u16(lig);
          const uint16_t components = b.u16(lig + 2);
          if (components == 0) continue;
          for (size_t c = 1; c < components; ++c) entry.rest.push_back(b.u16(lig + 4 + 2 * (c - 1)));
          ligatures.push_back(std::move(entry));
          ++count_;
        }
      }
    }
    if (!table.empty()) lookups_.push_back(std::move(table));
  }
}

std::vector<uint16_t> FontLigatures::apply(std::vector<uint16_t> glyphs) const {
  for (const auto& table : lookups_) {
    std::vector<uint16_t> out;
    size_t i = 0;
    while (i < glyphs.size()) {
      const auto it = table.find(glyphs[i]);
      bool done = false;
      if (it != table.end()) {
        for (const auto& lig : it->second) {
          if (i + 1 + lig.rest.size() > glyphs.size()) continue;
          if (!std::equal(lig.rest.begin(), lig.rest.end(), glyphs.begin() + static_cast<std::ptrdiff_t>(i + 1))) continue;
          out.push_back(lig.glyph);
          i += 1 + lig.rest.size();
          done = true;
          break;
        }
      }
      if (!done) out.push_back(glyphs[i++]);
    }
    glyphs = std::move(out);
  }
  return glyphs;
}

}  // namespace contra::data::detail
