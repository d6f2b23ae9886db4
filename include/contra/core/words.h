#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace contra {

/// Whitespace-separated words of `text` (ASCII whitespace; no other normalisation).
std::vector<std::string> split_words(std::string_view text);
/// Words joined with single spaces.
std::string join_words(const std::vector<std::string>& words);

}  // namespace contra
