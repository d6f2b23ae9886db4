#pragma once
#include <string>
#include <utility>

#include "contra/core/error.h"

namespace contra::config {

/// Components name their own options in their messages (InfoNCE: "loss.debias_tau_plus", the
/// losses' option debias_tau_plus); where a config key has another name (loss.tau_plus), the
/// message a user sees should name the key. Returns `message` with every such component option
/// name replaced by its key.
std::string component_names_to_keys(std::string message);

/// Calls fn(); a contra::Error it throws is re-thrown with component option names turned into
/// config keys. Wrap the construction of components from a RunConfig in it.
template <class Fn>
auto with_config_keys(Fn&& fn) -> decltype(fn()) {
  try {
    return std::forward<Fn>(fn)();
  } catch (const Error& e) {
    throw Error(component_names_to_keys(e.what()));
  }
}

}  // namespace contra::config
