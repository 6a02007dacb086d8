// Follower: one live subscriber's position in the log, and the next events it may see.
//
// Every live consumer — an SSE or WebSocket subscriber, a partner's webhook, the MQTT
// republisher — is a Follower: a cursor (the last seq handed out) plus who it is (a policy
// caller) and what it asked for (a SubscriptionFilter). next() returns the following events:
// from RecentReadings when the cursor is within the ring (the live case: no RocksDB read, each
// event encoded once per view and shared), else from the durable log (catch-up after a resume
// or after falling behind), so resume, catch-up and live are one code path with no gap and no
// duplicate: the cursor only moves past what was examined.
//
// Each call decides on the policy snapshot in force: a tightened policy applies from the next
// call on, to every event not yet handed out, and so does a grant's end (decisions are reused
// across calls only while they cannot have changed: the same snapshot, at most a second, never
// past the end of a grant they rely on). Only streams the caller may
// see, through its view, pass; the filter narrows further.
//
// A cursor older than the log's first seq (retention removed readings the subscriber never
// received) is reported once as `behind_retention`; the subscriber must be told and
// disconnected rather than silently skip data.
//
// Threading: a Follower is used by one thread at a time (a connection's strand, a worker); the
// context it refers to is thread-safe and must outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/access/audit.h"
#include "broker/core/result.h"
#include "broker/core/time.h"
#include "broker/hub/filter.h"
#include "broker/hub/hub_metrics.h"
#include "broker/hub/recent_readings.h"
#include "broker/log/reading_log.h"
#include "broker/registry/sensor_registry.h"
#include "policies/engine.h"

namespace databroker::hub {

// What followers read from. References must outlive every Follower; `recent` and `metrics` may
// be null (then every read goes to the log / nothing is counted).
struct FollowerContext {
  const log::ReadingLog& log;
  const registry::SensorRegistry& registry;
  const policies::PolicyEngine& policy;
  const core::Clock& clock;
  const RecentReadings* recent = nullptr;
  // Used for readings read from the log (catch-up); must match recent->encoder().
  ReadingEncoder encode;
  HubMetrics* metrics = nullptr;
};

// One reading as this follower may see it.
// One reading as this follower may see it: `json` is all a transport may send. The stream's id
// and kind are there for routing (topics, audit) and point into the stored reading, which is
// shared rather than copied per subscriber and never exposed raw.
struct Event {
  core::Seq seq = 0;
  std::shared_ptr<const std::string> json;  // the reading through the caller's view
  bool granted = false;                     // shared data reached through a grant (audit it)

  std::string_view sensor_id() const { return source->sensor_id; }
  std::string_view kind() const { return source->kind; }

  std::shared_ptr<const core::Reading> source;  // raw: for sensor_id() and kind() only
};

struct FollowBatch {
  std::vector<Event> events;
  // The log may hold more right now (a limit or the scan budget stopped the read): call again
  // at once instead of waiting for the next commit.
  bool more = false;
  // The readings after the cursor were removed by retention before this follower got them.
  bool behind_retention = false;
  core::Seq first_available = 0;  // with behind_retention: the oldest seq still stored
};

// Who a follower serves. `profile` is the profile name (`public` for anonymous callers).
struct FollowerCaller {
  std::string profile;
  bool internal = false;
  std::string key_id;  // for audit records; empty for anonymous subscribers and workers
};

class ViewCache;  // follower.cc: decisions reused across calls

class Follower {
 public:
  // Starts after `cursor` (0: from the oldest reading stored).
  Follower(const FollowerContext& context, SubscriberType type, FollowerCaller caller,
           SubscriptionFilter filter, core::Seq cursor);
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;
  ~Follower();

  // The next events after the cursor: at most `limit` (>= 1), examining at most `scan_budget`
  // readings of the log when few are visible. Advances the cursor past everything examined.
  // A log read error is returned as is (the cursor does not move).
  core::Result<FollowBatch> next(std::size_t limit, std::size_t scan_budget);

  core::Seq cursor() const { return cursor_.load(std::memory_order_relaxed); }
  // The seq the log has reached (for lag and "caught up" checks).
  core::Seq head() const;
  const FollowerCaller& caller() const { return caller_; }
  const SubscriptionFilter& filter() const { return filter_; }

 private:
  const FollowerContext& context_;
  const SubscriberType type_;
  const FollowerCaller caller_;
  const SubscriptionFilter filter_;
  std::atomic<core::Seq> cursor_;
  const std::unique_ptr<ViewCache> views_;
  // Whether the previous read was served from the ring: falling off it counts as a catch-up
  // switch, starting behind it (a resume) does not.
  bool on_ring_ = false;
  HubMetrics::Tracking tracking_;
};

// Leaves one audit record for the granted events of `batch` (shared data delivered to a
// partner), with `action` (e.g. "GET /v1/subscribe", "webhook wh_1"). No-op when `audit` is null
// or nothing was granted.
void audit_delivery(access::AuditTrail* audit, const FollowerCaller& caller,
                    std::string_view action, const FollowBatch& batch);

}  // namespace databroker::hub
