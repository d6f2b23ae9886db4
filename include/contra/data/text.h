#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "contra/core/words.h"

namespace contra::data {

/// Offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong forms,
/// surrogates and code points above U+10FFFF are rejected), or npos when `text` is valid.
size_t find_invalid_utf8(std::string_view text);

/// Throws contra::Error "<file>:<line>: invalid UTF-8 at byte <k>" (k 1-based within the line)
/// when `text` is not valid UTF-8.
void check_utf8(std::string_view text, const std::string& file, int64_t line);

/// One supervised example: an anchor, its positive and optionally a hard negative.
struct TextPair {
  std::string anchor, positive;
  std::string negative;  ///< empty when the source has no hard negatives
};

/// A plain corpus: one text per line, UTF-8. A trailing '\r' is dropped and lines that are empty
/// or only whitespace are skipped. Throws contra::Error for a missing file, invalid UTF-8
/// ("<file>:<line>: invalid UTF-8 at byte <k>") and a file without any text.
std::vector<std::string> read_corpus(const std::string& path);

/// Pairs as tab-separated columns, one pair per line: anchor<TAB>positive, optionally
/// <TAB>hard negative; every line has the same number of columns (that of the first). Empty
/// lines are skipped. Throws contra::Error "<file>:<line>: ..." for a wrong column count, an
/// empty column or invalid UTF-8, and for a file without pairs.
std::vector<TextPair> read_pairs(const std::string& path);

/// A corpus (pairs_column 0) or one column (1, 2 or 3) of a pairs file, read line by line so
/// that memory does not grow with the file, with read_corpus's and read_pairs's checks.
class TextLineReader {
 public:
  TextLineReader(const std::string& path, int pairs_column = 0);
  ~TextLineReader();
  /// The next text and its 1-based line number; false at the end (a file without any text
  /// throws there).
  bool next(std::string& text, int64_t& line_number);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Word splitting lives in core/ (augmentations use it too); named here for the readers' users.
using contra::join_words;
using contra::split_words;

}  // namespace contra::data
