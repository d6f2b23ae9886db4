#pragma once
#include <string>
#include <vector>

#include "contra/config/run_config.h"

namespace contra::config {

/// Builds a RunConfig: defaults, then the YAML file (if path is non-empty), then each
/// "a.b=value" override in order; then validates. Throws contra::Error naming the file and line,
/// the key (with the nearest valid key for an unknown one), the bad value and the allowed range.
RunConfig load(const std::string& path, const std::vector<std::string>& overrides = {});

/// Every key with its value, as YAML (nested maps), loadable by load().
std::string to_yaml(const RunConfig& cfg);

}  // namespace contra::config
