// Command-line options of the load tools: `--name value` pairs after the mode word(s).
// Header-only; the tools are small programs, not libraries.
#pragma once

#include <cstdlib>
#include <map>
#include <string>

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
