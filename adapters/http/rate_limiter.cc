#include "adapters/http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace databroker::http {

void RateLimiter::refill(Bucket& bucket, const access::RateLimit& limit, Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  if (elapsed > 0) {
    bucket.tokens = std::min(limit.burst, bucket.tokens + elapsed * limit.requests_per_second);
    bucket.updated = now;
  }
}

void RateLimiter::sweep(const access::RateLimit& limit, Clock::time_point now) {
  // Callers of different profiles share the table; a bucket counts as full when it has refilled
  // for at least one burst at this limit's rate, which is exact for callers of this profile and a
  // close estimate for others (a profile's burst lasts seconds).
  const auto refill_time = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(limit.burst / limit.requests_per_second));
  std::erase_if(buckets_,
                [&](const auto& entry) { return now - entry.second.updated >= refill_time; });
  last_sweep_ = now;
}

std::optional<std::chrono::milliseconds> RateLimiter::take(std::string_view caller,
                                                           const access::RateLimit& limit,
                                                           Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Bucket* bucket = nullptr;
  if (auto it = buckets_.find(caller); it != buckets_.end()) {
    bucket = &it->second;
  } else {
    if (buckets_.size() >= max_buckets_ && now - last_sweep_ >= std::chrono::seconds(1)) {
      sweep(limit, now);
    }
    if (buckets_.size() < max_buckets_) {
      bucket = &buckets_.emplace(std::string(caller), Bucket{limit.burst, now}).first->second;
    } else {
      if (!overflow_) overflow_ = Bucket{limit.burst, now};
      bucket = &*overflow_;
    }
  }
  refill(*bucket, limit, now);
  if (bucket->tokens >= 1) {
    bucket->tokens -= 1;
    return std::nullopt;
  }
  const double wait_seconds = (1 - bucket->tokens) / limit.requests_per_second;
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(wait_seconds * 1000)));
}

std::size_t RateLimiter::tracked() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace databroker::http
