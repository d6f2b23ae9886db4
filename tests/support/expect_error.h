#pragma once
// Shared test helper: a call must throw contra::Error whose message contains `text`.
#include <gtest/gtest.h>

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

}  // namespace contra::test_support
