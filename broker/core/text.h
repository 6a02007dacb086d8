// Reading words and numbers that people write: the strict scalar rules and the "did you mean"
// suggestions shared by the configuration and policy loaders.
//
// Strict on purpose: a configuration value is a whole number, a finite number or one of the
// YAML 1.2 booleans, never "yes", "on", "0x1F" or "inf". Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace databroker::core {

// A whole decimal number, nothing before or after it.
std::optional<long long> parse_integer(std::string_view text);
// A finite decimal number (an optional leading '+'); "inf" and "nan" are refused.
std::optional<double> parse_finite_number(std::string_view text);
// true/True/TRUE or false/False/FALSE; `yes`, `on` and the like are YAML 1.1 only and refused.
std::optional<bool> parse_strict_bool(std::string_view text);

// Edits between two words, a swap of neighbours counting as one ("prot" is one from "port").
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate a typo of `word` most likely meant: at most one or two edits away (by length),
// else nothing, since a list of what is allowed helps more than a wrong guess.
std::optional<std::string_view> closest_word(std::string_view word,
                                             std::span<const std::string_view> candidates);

// "a, b, c".
template <class Items>
std::string join(const Items& items, std::string_view separator = ", ") {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += separator;
    first = false;
    out += item;
  }
  return out;
}

}  // namespace databroker::core
