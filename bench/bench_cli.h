// Strict number checks for the benchmarks' CLI11 options. CLI11's own PositiveNumber and Range
// report "12x" as out of a range printed with hundreds of digits; these name the problem instead:
//   --pairs: '12x' is not a whole number        --pairs: 1 is below the minimum 2
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include <CLI/CLI.hpp>

namespace contra::bench {

/// An integer option that must be at least `lo`.
inline CLI::Validator at_least(int64_t lo) {
  return CLI::Validator(
      [lo](std::string& text) -> std::string {
        int64_t value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a whole number";
        if (value < lo) return text + " is below the minimum " + std::to_string(lo);
        return {};
      },
      ">=" + std::to_string(lo));
}

/// A real option that must be above zero.
inline CLI::Validator positive_real() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
        if (!(value > 0)) return text + " must be above 0";
        return {};
      },
      ">0");
}

}  // namespace contra::bench
