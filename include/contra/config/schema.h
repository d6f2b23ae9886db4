#pragma once
#include <functional>
#include <string>
#include <vector>

#include "contra/config/run_config.h"

namespace YAML {
class Node;
}

namespace contra::config {

/// One settable key: its dotted name, a one-line doc, and how to read/write it on a RunConfig.
struct Field {
  std::string key;
  std::string doc;
  /// Parses `value` into the field of `cfg`; throws contra::Error naming the key on a wrong type
  /// or an out-of-range value.
  std::function<void(RunConfig& cfg, const YAML::Node& value)> set;
  /// The field's current value as YAML text.
  std::function<std::string(const RunConfig& cfg)> get;
};

/// Every key of RunConfig, in a stable order. The one table that loading, --set, dumping and
/// documentation use.
const std::vector<Field>& fields();

/// Nearest known key by edit distance (for "did you mean").
std::string nearest_key(const std::string& key);

/// Checks relations between keys that single-field ranges cannot (e.g. crop_scale_min <=
/// crop_scale_max); throws contra::Error naming the keys.
void validate(const RunConfig& cfg);

}  // namespace contra::config
