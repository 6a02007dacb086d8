// Counters and gauges of live delivery, by subscriber type, for /metrics.
//
// Each Follower registers itself here for its lifetime (an RAII Tracking), so the number of
// subscribers and their lag (readings between a subscriber's cursor and the head of the log) are
// computed at scrape time from the followers that exist, never from bookkeeping that could
// drift.
//
// Thread-safe: the registry has a mutex (taken when a follower starts or ends, and at scrape);
// the counters are atomics.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "broker/core/reading.h"

namespace databroker::hub {

enum class SubscriberType { Sse, WebSocket, Webhook, MqttRepublish };
inline constexpr std::size_t kSubscriberTypes = 4;
std::string_view to_string(SubscriberType type);  // "sse", "websocket", "webhook", "mqtt"

struct TypeCounters {
  std::atomic<std::uint64_t> events{0};             // events handed to subscribers
  std::atomic<std::uint64_t> catch_up_switches{0};  // times a follower fell off the ring
  std::atomic<std::uint64_t> behind_retention{0};   // subscribers told they lost readings
  std::atomic<std::uint64_t> closed_revoked{0};     // closed because their key was revoked
};

class HubMetrics {
 public:
  class Tracking {
   public:
    Tracking() = default;
    Tracking(HubMetrics* metrics, SubscriberType type, const std::atomic<core::Seq>* cursor);
    Tracking(Tracking&& other) noexcept;
    Tracking& operator=(Tracking&& other) noexcept;
    Tracking(const Tracking&) = delete;
    Tracking& operator=(const Tracking&) = delete;
    ~Tracking();

   private:
    void release();
    HubMetrics* metrics_ = nullptr;
    SubscriberType type_ = SubscriberType::Sse;
    const std::atomic<core::Seq>* cursor_ = nullptr;
  };

  TypeCounters& counters(SubscriberType type) { return counters_[static_cast<int>(type)]; }
  const TypeCounters& counters(SubscriberType type) const {
    return counters_[static_cast<int>(type)];
  }

  struct TypeState {
    std::size_t subscribers = 0;
    core::Seq max_lag = 0;  // readings behind `head`, for the furthest-behind subscriber
  };
  TypeState state(SubscriberType type, core::Seq head) const;

  // Prometheus text for every type: databroker_hub_subscribers, databroker_hub_lag_max_readings,
  // databroker_hub_events_total, databroker_hub_catch_up_switches_total,
  // databroker_hub_behind_retention_total, databroker_hub_closed_revoked_total.
  std::string render(core::Seq head) const;

 private:
  std::array<TypeCounters, kSubscriberTypes> counters_{};
  mutable std::mutex mutex_;  // guards followers_
  std::array<std::multiset<const std::atomic<core::Seq>*>, kSubscriberTypes> followers_{};
};

}  // namespace databroker::hub
