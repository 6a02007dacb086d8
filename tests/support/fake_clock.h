// A clock the test moves by hand. Thread-safe.
#pragma once

#include <atomic>

#include "broker/core/time.h"

namespace databroker::testing {

class FakeClock final : public core::Clock {
 public:
  explicit FakeClock(core::TimestampMs start = 1'795'000'000'000) : now_(start) {}
  core::TimestampMs now_ms() const override { return now_.load(); }
  void set(core::TimestampMs ms) { now_ = ms; }
  void advance(core::TimestampMs ms) { now_ += ms; }

 private:
  std::atomic<core::TimestampMs> now_;
};

}  // namespace databroker::testing
