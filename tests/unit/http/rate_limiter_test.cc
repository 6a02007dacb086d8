#include "adapters/http/rate_limiter.h"

#include <catch2/catch.hpp>

using databroker::access::RateLimit;
using databroker::http::RateLimiter;
using namespace std::chrono_literals;

TEST_CASE("a caller may spend its burst at once, then one request per refill interval",
          "[http][rate_limit]") {
  RateLimiter limiter;
  const RateLimit limit{2, 3};  // 2 per second, bursts of 3
  const auto t0 = RateLimiter::Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) CHECK_FALSE(limiter.take("key:a", limit, t0).has_value());
  auto wait = limiter.take("key:a", limit, t0);
  REQUIRE(wait.has_value());
  CHECK(*wait == 500ms);  // one token at 2 per second
  CHECK(limiter.take("key:a", limit, t0 + 499ms).has_value());
  CHECK_FALSE(limiter.take("key:a", limit, t0 + 500ms).has_value());
  CHECK(limiter.take("key:a", limit, t0 + 500ms).has_value());
  // A long pause refills to the burst, not beyond it.
  const auto later = t0 + 1h;
  for (int i = 0; i < 3; ++i) CHECK_FALSE(limiter.take("key:a", limit, later).has_value());
  CHECK(limiter.take("key:a", limit, later).has_value());
}

TEST_CASE("callers have separate buckets", "[http][rate_limit]") {
  RateLimiter limiter;
  const RateLimit limit{1, 1};
  const auto t0 = RateLimiter::Clock::time_point{} + 1h;
  CHECK_FALSE(limiter.take("key:a", limit, t0).has_value());
  CHECK(limiter.take("key:a", limit, t0).has_value());
  CHECK_FALSE(limiter.take("key:b", limit, t0).has_value());
  CHECK_FALSE(limiter.take("address:127.0.0.1", limit, t0).has_value());
  CHECK(limiter.tracked() == 3);
}

TEST_CASE("a full table forgets idle callers, and new callers beyond it share one bucket",
          "[http][rate_limit]") {
  RateLimiter limiter(2);
  const RateLimit limit{1, 2};
  const auto t0 = RateLimiter::Clock::time_point{} + 1h;
  CHECK_FALSE(limiter.take("address:a", limit, t0).has_value());
  CHECK_FALSE(limiter.take("address:b", limit, t0).has_value());
  // The table is full and nobody is idle: c and d share the overflow bucket (burst 2).
  CHECK_FALSE(limiter.take("address:c", limit, t0).has_value());
  CHECK_FALSE(limiter.take("address:d", limit, t0).has_value());
  CHECK(limiter.take("address:e", limit, t0).has_value());
  CHECK(limiter.tracked() == 2);
  // Two seconds later a and b have refilled: they are dropped and f gets a bucket of its own.
  CHECK_FALSE(limiter.take("address:f", limit, t0 + 2s).has_value());
  CHECK_FALSE(limiter.take("address:f", limit, t0 + 2s).has_value());
  CHECK(limiter.take("address:f", limit, t0 + 2s).has_value());
  CHECK(limiter.tracked() == 1);
}
