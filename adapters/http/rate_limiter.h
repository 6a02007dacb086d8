// Token buckets for the callers of the HTTP API (profiles' `rate_limit`): one bucket per API key,
// and one per client address for anonymous callers. A refused request is answered 429 with
// Retry-After by the dispatcher.
//
// Memory is bounded: at most `max_buckets` are tracked. When the table is full, buckets that
// have refilled completely (idle callers, who lose nothing by being forgotten) are dropped, at
// most once per second; a caller that still finds no room shares one overflow bucket with every
// other such caller, so a flood of new addresses is limited as one caller rather than not at all.
//
// Thread-safe: one mutex, held for a map lookup and a few arithmetic operations per request.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "broker/access/identity.h"

namespace databroker::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RateLimiter(std::size_t max_buckets = 100000) : max_buckets_(max_buckets) {}

  // Takes one request from `caller`'s bucket (created full). nullopt: admitted. Otherwise the
  // time until the bucket holds a request again (for Retry-After). `limit` must be enabled.
  std::optional<std::chrono::milliseconds> take(std::string_view caller,
                                                const access::RateLimit& limit,
                                                Clock::time_point now);

  std::size_t tracked() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };

  static void refill(Bucket& bucket, const access::RateLimit& limit, Clock::time_point now);
  // Drops the buckets that are full again at `now`.
  void sweep(const access::RateLimit& limit, Clock::time_point now);

  const std::size_t max_buckets_;
  mutable std::mutex mutex_;  // guards everything below
  std::map<std::string, Bucket, std::less<>> buckets_;
  std::optional<Bucket> overflow_;
  Clock::time_point last_sweep_{};
};

}  // namespace databroker::http
