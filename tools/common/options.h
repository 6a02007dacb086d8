// Command-line options of the tools: `--name value` pairs after the mode word(s).
// Header-only; the tools are small programs, not libraries.
#pragma once

#include <cstdlib>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace databroker::tools {

using Options = std::map<std::string, std::string>;

// Reads `--name value` pairs from argv[first] on, stopping at the first word that is no option.
inline Options parse_options(int argc, char** argv, int first) {
  Options out;
  for (int i = first; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) break;
    out[name.substr(2)] = argv[i + 1];
  }
  return out;
}

// The words of argv[first..] that parse_options() did not take: a stray word, a trailing option
// without its value. A tool that reports them never runs with a typo silently ignored.
inline std::vector<std::string> leftover_words(int argc, char** argv, int first) {
  std::vector<std::string> out;
  int i = first;
  for (; i + 1 < argc; i += 2) {
    if (std::string_view(argv[i]).rfind("--", 0) != 0) break;
  }
  for (; i < argc; ++i) out.emplace_back(argv[i]);
  return out;
}

// The option names of `o` that are not in `known`.
inline std::vector<std::string> unknown_options(const Options& o,
                                                std::initializer_list<std::string_view> known) {
  std::vector<std::string> out;
  for (const auto& [name, value] : o) {
    bool found = false;
    for (auto k : known) found = found || k == name;
    if (!found) out.push_back(name);
  }
  return out;
}

inline long option(const Options& o, const std::string& name, long fallback) {
  auto it = o.find(name);
  return it == o.end() ? fallback : std::strtol(it->second.c_str(), nullptr, 10);
}

inline std::string text_option(const Options& o, const std::string& name,
                               const std::string& fallback = "") {
  auto it = o.find(name);
  return it == o.end() ? fallback : it->second;
}

}  // namespace databroker::tools
