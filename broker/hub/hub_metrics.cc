#include "broker/hub/hub_metrics.h"

#include <algorithm>
#include <utility>

#include "broker/core/prometheus.h"

namespace databroker::hub {

std::string_view to_string(SubscriberType type) {
  switch (type) {
    case SubscriberType::Sse:
      return "sse";
    case SubscriberType::WebSocket:
      return "websocket";
    case SubscriberType::Webhook:
      return "webhook";
    case SubscriberType::MqttRepublish:
      return "mqtt";
  }
  return "unknown";
}

HubMetrics::Tracking::Tracking(HubMetrics* metrics, SubscriberType type,
                               const std::atomic<core::Seq>* cursor)
    : metrics_(metrics), type_(type), cursor_(cursor) {
  if (metrics_ == nullptr) return;
  std::lock_guard lock(metrics_->mutex_);
  metrics_->followers_[static_cast<int>(type_)].insert(cursor_);
}

HubMetrics::Tracking::Tracking(Tracking&& other) noexcept
    : metrics_(std::exchange(other.metrics_, nullptr)),
      type_(other.type_),
      cursor_(other.cursor_) {}

HubMetrics::Tracking& HubMetrics::Tracking::operator=(Tracking&& other) noexcept {
  if (this != &other) {
    release();
    metrics_ = std::exchange(other.metrics_, nullptr);
    type_ = other.type_;
    cursor_ = other.cursor_;
  }
  return *this;
}

HubMetrics::Tracking::~Tracking() { release(); }

void HubMetrics::Tracking::release() {
  if (metrics_ == nullptr) return;
  std::lock_guard lock(metrics_->mutex_);
  auto& set = metrics_->followers_[static_cast<int>(type_)];
  if (auto it = set.find(cursor_); it != set.end()) set.erase(it);
  metrics_ = nullptr;
}

HubMetrics::TypeState HubMetrics::state(SubscriberType type, core::Seq head) const {
  TypeState out;
  std::lock_guard lock(mutex_);
  const auto& set = followers_[static_cast<int>(type)];
  out.subscribers = set.size();
  for (const auto* cursor : set) {
    const core::Seq at = cursor->load(std::memory_order_relaxed);
    if (head > at) out.max_lag = std::max(out.max_lag, head - at);
  }
  return out;
}

std::string HubMetrics::render(core::Seq head) const {
  static constexpr SubscriberType kTypes[] = {SubscriberType::Sse, SubscriberType::WebSocket,
                                              SubscriberType::Webhook,
                                              SubscriberType::MqttRepublish};
  std::array<TypeState, kSubscriberTypes> states;
  for (SubscriberType t : kTypes) states[static_cast<int>(t)] = state(t, head);
  core::PrometheusText out;
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help,
                          const auto& value_of) {
    out.family(name, type, help);
    for (SubscriberType t : kTypes) {
      out.sample(name, core::prometheus_label("type", to_string(t)),
                 static_cast<double>(value_of(t)));
    }
  };
  family("databroker_hub_subscribers", "gauge", "Live subscribers (followers of the log).",
         [&](SubscriberType t) { return states[static_cast<int>(t)].subscribers; });
  family("databroker_hub_lag_max_readings", "gauge",
         "Readings between the head of the log and the furthest-behind subscriber.",
         [&](SubscriberType t) { return states[static_cast<int>(t)].max_lag; });
  family("databroker_hub_events_total", "counter", "Events handed to live subscribers.",
         [&](SubscriberType t) { return counters(t).events.load(); });
  family("databroker_hub_catch_up_switches_total", "counter",
         "Times a subscriber fell behind the in-memory ring and read the log instead.",
         [&](SubscriberType t) { return counters(t).catch_up_switches.load(); });
  family("databroker_hub_behind_retention_total", "counter",
         "Subscribers disconnected because retention removed readings they had not received.",
         [&](SubscriberType t) { return counters(t).behind_retention.load(); });
  family("databroker_hub_closed_revoked_total", "counter",
         "Subscriptions closed because their key was revoked.",
         [&](SubscriberType t) { return counters(t).closed_revoked.load(); });
  return out.take();
}

}  // namespace databroker::hub
