// Writing the Prometheus text exposition format (version 0.0.4): families with HELP and TYPE,
// samples with optional labels. Shared by every module that renders its own /metrics figures,
// so label escaping and number formatting are written once.
//
// A plain value; not thread-safe (build one per scrape).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace databroker::core {

class PrometheusText {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // `labels` is empty or `name="value",...` as built by prometheus_label().
  void sample(std::string_view name, std::string_view labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    if (value >= 0 && value == static_cast<double>(static_cast<std::uint64_t>(value))) {
      out_ += std::to_string(static_cast<std::uint64_t>(value));
    } else {
      out_ += std::to_string(value);
    }
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// name="value", with `"`, `\` and newlines escaped as the format requires.
inline std::string prometheus_label(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace databroker::core
