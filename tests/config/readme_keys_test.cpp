// The README's table of configuration keys names exactly the keys of the schema.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "contra/config/schema.h"

namespace {

/// Text with every parenthesised part removed (nested too): what the table says of a key's
/// values, where other keys are mentioned in passing.
std::string drop_parentheses(const std::string& s) {
  std::string out;
  int depth = 0;
  for (char c : s) {
    if (c == '(') ++depth;
    else if (c == ')') depth = std::max(0, depth - 1);
    else if (depth == 0) out += c;
  }
  return out;
}

/// Keys of the table under "## Configuration": `a`, `a/b` (a_x and a_b share a prefix:
/// `crop_scale_min/max`), qualified by the row's section ("top level": none).
std::set<std::string> readme_keys() {
  std::ifstream in(std::string(CONTRA_SOURCE_DIR) + "/README.md");
  std::set<std::string> keys;
  bool table = false;
  const std::regex row(R"(^\| (top level|`(\w+)`) \| (.*) \|$)");
  const std::regex key(R"(`([a-z0-9_]+)(/([a-z0-9_]+))?`)");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| section | keys |", 0) == 0) table = true;
    if (!table) continue;
    if (line.empty()) break;
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    const std::string section = m[2].matched ? m[2].str() + "." : "";
    const std::string cell = drop_parentheses(m[3].str());
    for (std::sregex_iterator it(cell.begin(), cell.end(), key), end; it != end; ++it) {
      const std::string first = (*it)[1];
      keys.insert(section + first);
      if ((*it)[3].matched) {  // crop_scale_min/max -> crop_scale_max
        const std::string stem = first.substr(0, first.rfind('_') + 1);
        keys.insert(section + stem + (*it)[3].str());
      }
    }
  }
  return keys;
}

}  // namespace

TEST(Readme, KeyTableMatchesTheSchema) {
  const auto documented = readme_keys();
  std::set<std::string> schema;
  for (const auto& f : contra::config::fields()) schema.insert(f.key);
  ASSERT_GT(documented.size(), 50u) << "the README's key table was not found";
  for (const auto& k : schema) EXPECT_EQ(documented.count(k), 1u) << k << " is missing from the README's table";
  for (const auto& k : documented) EXPECT_EQ(schema.count(k), 1u) << k << " is in the README but not a key";
}
