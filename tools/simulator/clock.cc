#include "tools/simulator/clock.h"

#include <algorithm>
#include <cmath>

#include "broker/config/config.h"
#include "broker/core/time.h"

namespace databroker::simulator {

core::TimestampMs Schedule::sim_time(std::uint64_t k) const {
  const double due_ms = due_seconds(k) * 1000.0;
  const auto simulated = sim_start_ + static_cast<core::TimestampMs>(std::llround(due_ms * speed_));
  const auto real = real_start_ + static_cast<core::TimestampMs>(std::llround(due_ms));
  return std::min(simulated, real);
}

std::optional<core::TimestampMs> parse_start(std::string_view text, core::TimestampMs now,
                                             double speed) {
  constexpr core::TimestampMs kDay = 24 * 3600 * 1000;
  if (text.empty()) return speed > 1 ? now - kDay : now;
  if (text == "now") return now;
  std::optional<core::TimestampMs> start;
  if (text.front() == '-') {
    if (auto before = config::parse_duration(text.substr(1))) start = now - before->count();
  } else {
    start = core::parse_rfc3339(text);
  }
  if (start && *start > now) return std::nullopt;
  return start;
}

}  // namespace databroker::simulator
