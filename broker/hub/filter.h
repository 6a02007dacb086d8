// Which streams a live subscriber (SSE, WebSocket, webhook, MQTT republish) asked for.
//
// A filter only narrows: it is applied to the streams the policy already lets the subscriber
// see, so no filter can widen access. Each list is an OR of its entries; the lists are ANDed.
// An empty list does not restrict.
//
// Plain value; thread-safe to share once built.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/result.h"
#include "broker/registry/sensor_registry.h"

namespace databroker::hub {

struct SubscriptionFilter {
  std::vector<std::string> kinds;    // kind names
  std::vector<std::string> streams;  // sensor ids or globs (`*`, `?`)
  std::vector<std::string> zones;    // globs on the sensor's zone

  bool is_empty() const { return kinds.empty() && streams.empty() && zones.empty(); }
  // Decided on the registry's facts of the sensor (a reading's kind is its sensor's kind).
  bool matches(const registry::SensorInfo& sensor) const;
};

// At most this many entries per list: a filter is a human's choice, not a data set.
inline constexpr std::size_t kMaxFilterEntries = 64;

// Checks a filter built from untrusted input: list sizes, kind names known to `is_known_kind`,
// valid ids or globs (sensor-id characters plus `*` and `?`, at most 128), zones at most 128
// printable characters. InvalidArgument with one FieldError per problem, `field` being "kind",
// "stream" or "zone".
core::Status validate_filter(const SubscriptionFilter& filter,
                             const std::function<bool(std::string_view)>& is_known_kind);

// Splits a comma-separated query value ("noise,air_quality") into entries; empty entries are
// dropped.
std::vector<std::string> split_list(std::string_view text);

}  // namespace databroker::hub
