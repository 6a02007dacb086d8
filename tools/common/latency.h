// Latency samples of a load tool, summarised as the percentiles the benchmarks report.
// Header-only, like options.h.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace databroker::tools {

// Microsecond samples; percentile() sorts once, on first use.
class LatencySamples {
 public:
  void add(std::int64_t micros) {
    samples_.push_back(micros);
    sorted_ = false;
  }
  void merge(const LatencySamples& other) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
    sorted_ = false;
  }
  std::size_t size() const { return samples_.size(); }

  // The p-quantile (0 ≤ p ≤ 1) in milliseconds; 0 without samples.
  double percentile_ms(double p) {
    if (samples_.empty()) return 0.0;
    if (!sorted_) {
      std::sort(samples_.begin(), samples_.end());
      sorted_ = true;
    }
    const auto last = samples_.size() - 1;
    const auto at =
        std::min(last, static_cast<std::size_t>(p * static_cast<double>(samples_.size())));
    return static_cast<double>(samples_[at]) / 1000.0;
  }
  double max_ms() { return percentile_ms(1.0); }

 private:
  std::vector<std::int64_t> samples_;
  bool sorted_ = true;
};

}  // namespace databroker::tools
