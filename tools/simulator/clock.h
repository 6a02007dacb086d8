// The simulated clock and the schedule of readings.
//
// Reading k (counted over all sensors) is due k / rate seconds after the run starts, in real
// time, and observed at start + (k / rate) × speed in simulated time, so `--speed 120` shows a
// day in 12 minutes. The simulated clock never runs ahead of the real one: the broker refuses
// readings more than ingest.max_future_skew (5 min by default) in the future, so a fast clock
// starts in the past (24 h ago unless told otherwise) and, once it has caught up, keeps to real
// time. Timestamps stay truthful to the wall clock: a replayed day ends at "now".
//
// Value type; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "broker/core/reading.h"

namespace databroker::simulator {

class Schedule {
 public:
  Schedule(double rate, double speed, core::TimestampMs sim_start, core::TimestampMs real_start)
      : rate_(rate), speed_(speed), sim_start_(sim_start), real_start_(real_start) {}

  // Seconds after the start at which reading `k` is due.
  double due_seconds(std::uint64_t k) const { return static_cast<double>(k) / rate_; }
  // The simulated observation time of reading `k`.
  core::TimestampMs sim_time(std::uint64_t k) const;

 private:
  double rate_;
  double speed_;
  core::TimestampMs sim_start_;
  core::TimestampMs real_start_;
};

// `--start`: "now", a duration before now ("-24h", "-90m", see config::parse_duration), or an
// RFC 3339 time. Empty means the default: now at speed 1, 24 h ago when faster. Nothing for
// anything else, and for a start in the future.
std::optional<core::TimestampMs> parse_start(std::string_view text, core::TimestampMs now,
                                             double speed);

}  // namespace databroker::simulator
