#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace contra {

/// ASCII whitespace, as the words below are split on (std::isspace without the locale).
inline bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/// Whitespace-separated words of `text` (ASCII whitespace; no other normalisation).
std::vector<std::string> split_words(std::string_view text);
/// Words joined with single spaces.
std::string join_words(const std::vector<std::string>& words);

}  // namespace contra
