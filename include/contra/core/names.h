#pragma once
#include <string>
#include <utility>
#include <vector>

#include <c10/util/Exception.h>

#include "contra/core/error.h"

namespace contra {

/// A closed choice's names, for the config edge: {{"cosine", Similarity::kCosine}, ...}.
template <class E, size_t N>
using NameTable = std::pair<const char*, E>[N];

/// The value named `name`; otherwise contra::Error "unknown <what> '<name>'; valid: a, b, c".
template <class E, size_t N>
E from_name(const NameTable<E, N>& table, const std::string& name, const char* what) {
  std::string valid;
  for (const auto& [n, v] : table) {
    if (name == n) return v;
    valid += valid.empty() ? n : std::string(", ") + n;
  }
  throw Error(std::string("unknown ") + what + " '" + name + "'; valid: " + valid);
}

/// Every name of a table, in its order.
template <class E, size_t N>
std::vector<std::string> names_of(const NameTable<E, N>& table) {
  std::vector<std::string> out;
  for (const auto& entry : table) out.emplace_back(entry.first);
  return out;
}

/// Names joined with ", " (for "valid: a, b, c" messages).
inline std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// The name of `value` (every value of a table has one).
template <class E, size_t N>
std::string name_of(const NameTable<E, N>& table, E value) {
  for (const auto& [n, v] : table)
    if (v == value) return n;
  TORCH_INTERNAL_ASSERT(false, "value missing from its name table");
}

}  // namespace contra
