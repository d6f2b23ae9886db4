#pragma once
// Shared test helper: a call must throw contra::Error whose message contains `text`.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "contra/core/error.h"

namespace contra::test_support {

template <class Fn>
void expect_error(Fn fn, const std::string& text) {
  try {
    fn();
    ADD_FAILURE() << "no error for " << text;
  } catch (const contra::Error& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

/// The message of the contra::Error that `f` throws, or "<no contra::Error>".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const contra::Error& e) {
    return e.what();
  }
  return "<no contra::Error>";
}

}  // namespace contra::test_support
