// Time: the clock seam and RFC 3339 conversion.
//
// Everything that asks "what time is it" takes a Clock, so tests drive time with a fake one
// (tests/support/fake_clock.h). Timestamps cross the wire as RFC 3339 strings in UTC with
// millisecond precision, or as epoch milliseconds.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/core/reading.h"

namespace databroker::core {

// Thread-safe implementations only: the clock is shared by all threads.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimestampMs now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimestampMs now_ms() const override;
};

// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t` and a space are accepted for `T`.
// Fractions beyond milliseconds are truncated. Returns nothing for anything else, including
// impossible dates (Feb 30) and years outside 1970–9999.
std::optional<TimestampMs> parse_rfc3339(std::string_view text);

// `2026-11-28T10:15:00.000Z`.
std::string format_rfc3339(TimestampMs ms);

}  // namespace databroker::core
