#pragma once
#include <stdexcept>
#include <string>

#include <c10/util/StringUtil.h>

namespace contra {

/// Bad input or configuration: a message the user can act on. The CLI prints what() and exits 2.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace contra

/// Throws contra::Error with the remaining arguments concatenated (c10::str) when cond is false.
#define CONTRA_CHECK(cond, ...)                          \
  do {                                                   \
    if (!(cond)) throw ::contra::Error(::c10::str(__VA_ARGS__)); \
  } while (0)
