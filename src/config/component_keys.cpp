#include "contra/config/component_keys.h"

#include <utility>

namespace contra::config {
namespace {

/// (component option, config key) where the two differ. Options whose name is the key's
/// (loss.temperature, augment.flip_p, ...) need no entry.
const std::pair<const char*, const char*> kRenamed[] = {
    {"loss.debias_tau_plus", "loss.tau_plus"},
    {"gradient cache chunk size", "model.encode_chunk (the gradient cache's chunk size)"},
};

}  // namespace

std::string component_names_to_keys(std::string message) {
  for (const auto& [option, key] : kRenamed) {
    const std::string from = option, to = key;
    for (size_t at = message.find(from); at != std::string::npos; at = message.find(from, at + to.size()))
      message.replace(at, from.size(), to);
  }
  return message;
}

}  // namespace contra::config
