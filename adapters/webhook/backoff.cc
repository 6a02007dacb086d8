#include "adapters/webhook/backoff.h"

#include <algorithm>

namespace databroker::webhook {

std::chrono::milliseconds backoff_delay(std::uint64_t failures, std::chrono::milliseconds min,
                                        std::chrono::milliseconds max, double jitter) {
  const std::int64_t low = std::max<std::int64_t>(min.count(), 0);
  const std::int64_t high = std::max<std::int64_t>(max.count(), low);
  std::int64_t base = low;
  // Doubling stops at the cap, so no shift can overflow however many failures there were.
  for (std::uint64_t i = 1; i < failures && base < high; ++i) {
    base = base > high / 2 ? high : base * 2;
  }
  base = std::min(base, high);
  const double j = std::clamp(jitter, 0.0, 1.0);
  const auto shortened = base - static_cast<std::int64_t>(static_cast<double>(base) * j / 4);
  return std::chrono::milliseconds(std::max(shortened, low));
}

}  // namespace databroker::webhook
