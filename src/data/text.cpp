#include "contra/data/text.h"

#include <fstream>

#include "contra/core/error.h"
#include "contra/core/words.h"

namespace contra::data {
namespace {

bool blank(std::string_view s) {
  for (char c : s)
    if (!is_ascii_space(c)) return false;
  return true;
}

/// Lines of a text file with a trailing '\r' removed; calls fn(line, line_number).
template <class Fn>
void for_each_line(const std::string& path, Fn fn) {
  std::ifstream in(path, std::ios::binary);
  CONTRA_CHECK(in.good(), "cannot read text file '", path, "'");
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    fn(line, n);
  }
}

}  // namespace

size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return i;
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

void check_utf8(std::string_view text, const std::string& file, int64_t line) {
  const size_t bad = find_invalid_utf8(text);
  CONTRA_CHECK(bad == std::string_view::npos, file, ":", line, ": invalid UTF-8 at byte ",
               bad + 1);
}

std::vector<std::string> read_corpus(const std::string& path) {
  std::vector<std::string> texts;
  for_each_line(path, [&](const std::string& line, int64_t n) {
    check_utf8(line, path, n);
    if (!blank(line)) texts.push_back(line);
  });
  CONTRA_CHECK(!texts.empty(), "corpus '", path, "' has no text (every line is empty)");
  return texts;
}

namespace {

/// One line of a pairs file as read_pairs checks it; `columns` is the first pair's count (0
/// before it).
TextPair parse_pair(const std::string& line, const std::string& path, int64_t n, size_t& columns) {
  std::vector<std::string> cols;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
    cols.push_back(line.substr(start, tab - start));
  cols.push_back(line.substr(start));
  CONTRA_CHECK(cols.size() == 2 || cols.size() == 3, path, ":", n,
               ": expected 2 or 3 tab-separated columns (anchor, positive[, negative]), got ",
               cols.size());
  if (columns == 0) columns = cols.size();
  CONTRA_CHECK(cols.size() == columns, path, ":", n, ": expected ", columns,
               " columns like the first pair, got ", cols.size());
  for (size_t c = 0; c < cols.size(); ++c)
    CONTRA_CHECK(!blank(cols[c]), path, ":", n, ": column ", c + 1, " is empty");
  return {cols[0], cols[1], columns == 3 ? cols[2] : std::string()};
}

}  // namespace

std::vector<TextPair> read_pairs(const std::string& path) {
  std::vector<TextPair> pairs;
  size_t columns = 0;
  for_each_line(path, [&](const std::string& line, int64_t n) {
    check_utf8(line, path, n);
    if (blank(line)) return;
    pairs.push_back(parse_pair(line, path, n, columns));
  });
  CONTRA_CHECK(!pairs.empty(), "pairs file '", path, "' has no pairs (every line is empty)");
  return pairs;
}

struct TextLineReader::Impl {
  std::ifstream in;
  std::string path;
  int column = 0;
  size_t columns = 0;
  int64_t line_number = 0, texts = 0;
};

TextLineReader::TextLineReader(const std::string& path, int pairs_column) : impl_(std::make_unique<Impl>()) {
  CONTRA_CHECK(pairs_column >= 0 && pairs_column <= 3, "pairs column must be 1, 2 or 3, got ", pairs_column);
  impl_->in.open(path, std::ios::binary);
  CONTRA_CHECK(impl_->in.good(), "cannot read text file '", path, "'");
  impl_->path = path;
  impl_->column = pairs_column;
}

TextLineReader::~TextLineReader() = default;

bool TextLineReader::next(std::string& text, int64_t& line_number) {
  std::string line;
  while (std::getline(impl_->in, line)) {
    const int64_t n = ++impl_->line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    check_utf8(line, impl_->path, n);
    if (blank(line)) continue;
    if (impl_->column == 0) {
      text = std::move(line);
    } else {
      TextPair p = parse_pair(line, impl_->path, n, impl_->columns);
      CONTRA_CHECK(impl_->column < 3 || impl_->columns == 3, impl_->path, ":", n,
                   ": column 3 (hard negative) asked for, but the pairs have 2 columns");
      text = impl_->column == 1 ? p.anchor : impl_->column == 2 ? p.positive : p.negative;
    }
    line_number = n;
    ++impl_->texts;
    return true;
  }
  CONTRA_CHECK(impl_->texts > 0, "text file '", impl_->path, "' has no text (every line is empty)");
  return false;
}

}  // namespace contra::data
