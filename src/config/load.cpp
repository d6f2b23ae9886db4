#include "contra/config/load.h"

#include <fstream>
#include <sstream>
#include <unordered_map>

#include <yaml-cpp/yaml.h>

#include "contra/config/schema.h"
#include "contra/core/error.h"

namespace contra::config {
namespace {

const Field* find_field(const std::string& key) {
  for (const auto& f : fields())
    if (f.key == key) return &f;
  return nullptr;
}

[[noreturn]] void unknown_key(const std::string& key, const std::string& where) {
  throw Error(c10::str("unknown config key '", key, "'", where, "; did you mean '",
                       nearest_key(key), "'?"));
}

/// Sets one key, prefixing any error with where it came from.
void set_key(RunConfig& cfg, const std::string& key, const YAML::Node& value,
             const std::string& where) {
  const Field* f = find_field(key);
  if (!f) unknown_key(key, where);
  try {
    f->set(cfg, value);
  } catch (const Error& e) {
    throw Error(where.empty() ? e.what() : c10::str(e.what(), where));
  }
}

void apply_map(RunConfig& cfg, const YAML::Node& node, const std::string& prefix,
               const std::string& file) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator's pair is a temporary proxy; Nodes are cheap handles.
    const YAML::Node name = it->first, value = it->second;
    CONTRA_CHECK(name.IsScalar(), file, ": keys must be plain names");
    std::string key = prefix + name.Scalar();
    std::string where = c10::str(" (", file, " line ", name.Mark().line + 1, ")");
    if (value.IsMap()) {
      // A section name ("train") recurses; a map given to a leaf key is a type error.
      if (find_field(key)) set_key(cfg, key, value, where);
      bool is_section = false;
      for (const auto& f : fields()) is_section |= f.key.rfind(key + ".", 0) == 0;
      if (!is_section) unknown_key(key, where);
      apply_map(cfg, value, key + ".", file);
    } else {
      set_key(cfg, key, value, where);
    }
  }
}

}  // namespace

RunConfig load(const std::string& path, const std::vector<std::string>& overrides) {
  RunConfig cfg;
  if (!path.empty()) {
    std::ifstream in(path);
    CONTRA_CHECK(in.good(), "cannot read config file '", path, "'");
    YAML::Node root;
    try {
      root = YAML::Load(in);
    } catch (const YAML::Exception& e) {
      throw Error(c10::str(path, " line ", e.mark.line + 1, ": invalid YAML: ", e.msg));
    }
    if (!root.IsNull()) {
      CONTRA_CHECK(root.IsMap(), path, ": the config must be a map of keys to values");
      apply_map(cfg, root, "", path);
    }
  }
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    CONTRA_CHECK(eq != std::string::npos && eq > 0, "--set expects key=value, got '", o, "'");
    std::string key = o.substr(0, eq), text = o.substr(eq + 1);
    CONTRA_CHECK(!text.empty(), "--set ", key, ": empty value");
    YAML::Node value;
    try {
      value = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      throw Error(c10::str("--set ", key, ": cannot parse value '", text, "': ", e.msg));
    }
    set_key(cfg, key, value, " (--set " + o + ")");
  }
  validate(cfg);
  return cfg;
}

std::string to_yaml(const RunConfig& cfg) {
  std::ostringstream out;
  std::string section;
  for (const auto& f : fields()) {
    auto dot = f.key.find('.');
    if (dot == std::string::npos) {
      out << f.key << ": " << f.get(cfg) << "\n";
      continue;
    }
    std::string sec = f.key.substr(0, dot);
    if (sec != section) out << sec << ":\n", section = sec;
    out << "  " << f.key.substr(dot + 1) << ": " << f.get(cfg) << "\n";
  }
  return out.str();
}

}  // namespace contra::config
