// Writing the Prometheus text exposition format (version 0.0.4): families with HELP and TYPE,
// samples with optional labels. Shared by every module that renders its own /metrics figures,
// so label escaping and number formatting are written once.
//
// PrometheusText is a plain value; not thread-safe (build one per scrape). Histogram is for the
// hot path: any thread observes into it without a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace databroker::core {

// A Prometheus histogram with fixed upper bounds: one relaxed atomic add per bucket, count and
// sum per observation. A scrape reads the counters one after the other, so it may see an
// observation in the count before its bucket; the next scrape agrees again, which Prometheus's
// rate() tolerates.
template <std::size_t N>
class Histogram {
 public:
  explicit constexpr Histogram(const std::array<double, N>& upper_bounds) : bounds_(upper_bounds) {}

  void observe(double value) {
    std::size_t bucket = 0;
    while (bucket < N && value > bounds_[bucket]) ++bucket;
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);  // bucket N: above every bound
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  const std::array<double, N>& upper_bounds() const { return bounds_; }
  // Observations at or below upper_bounds()[i] (the cumulative `le` count), i in [0, N).
  std::uint64_t cumulative(std::size_t i) const {
    std::uint64_t total = 0;
    for (std::size_t b = 0; b <= i; ++b) total += buckets_[b].load(std::memory_order_relaxed);
    return total;
  }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::array<double, N> bounds_;
  std::array<std::atomic<std::uint64_t>, N + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

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
  // The _bucket, _sum and _count samples of a histogram family declared with family(…,
  // "histogram", …). `labels` as for sample(); `le` is added to it.
  template <std::size_t N>
  void histogram(std::string_view name, std::string_view labels, const Histogram<N>& h) {
    const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
    const std::string bucket = std::string(name) + "_bucket";
    const std::uint64_t count = h.count();
    for (std::size_t i = 0; i < N; ++i) {
      // Read after count: a bucket may run ahead of it, never past it in the output.
      const std::uint64_t le = h.cumulative(i);
      sample(bucket, prefix + "le=\"" + format_bound(h.upper_bounds()[i]) + "\"",
             static_cast<double>(le < count ? le : count));
    }
    sample(bucket, prefix + "le=\"+Inf\"", static_cast<double>(count));
    sample(std::string(name) + "_sum", labels, h.sum());
    sample(std::string(name) + "_count", labels, static_cast<double>(count));
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;

  static std::string format_bound(double bound) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", bound);
    return buffer;
  }
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
