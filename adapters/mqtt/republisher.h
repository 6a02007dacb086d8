// Republisher: live readings, through the policy, back onto the MQTT broker.
//
// Targets: `open` (the `public` caller: open streams through their open view, published to
// `{open_prefix}/{kind}/{sensor_id}`) and one per profile in `partners` (that profile's caller,
// only events reached through a grant in force, through the grant's view, published to
// `{shared_prefix}/{profile}/{kind}/{sensor_id}`; the open streams a partner also sees stay on
// the open topics). Each target is a hub::Follower of the durable log (SubscriberType
// MqttRepublish), so every event is checked against the policy in force when it is read: a
// reload that closes a stream, or an expired grant, stops its republication from the next read.
//
// Bounded and lossless in seq order: a target has at most `max_in_flight` publishes not yet
// acknowledged by the MQTT broker and reads the log only when there is room. Its *acknowledged
// cursor* is the highest seq such that every visible reading up to it was acknowledged. When the
// MQTT broker is down, nothing is read (the follower's cursor does not advance: the log is the
// queue); when a publish fails or the connection drops, the target rewinds to its acknowledged
// cursor and publishes again from there once connected (at-least-once: a reading acknowledged
// after the failure may be published twice, never skipped, never reordered within a pass).
//
// Restart: each target's acknowledged cursor is saved in the MetaStore (namespace
// `mqtt_republish`, key `open` or `partner:{profile}`) about once a second and at stop, and a
// restart resumes after it, so what was committed while the broker (or the MQTT broker) was down
// is republished, possibly with the last second's events again. A target with no saved cursor
// (the first start, a partner added to the configuration) starts at the head of the log: history
// is not replayed onto MQTT. A saved cursor older than retention resumes at the oldest reading
// still stored (logged, counted).
//
// Shared data delivered to a partner topic is audited like any other delivery
// (hub::audit_delivery, action `mqtt {shared_prefix}/{profile}`).
//
// Threading: one worker thread owned by the Republisher reads, publishes and saves cursors. The
// commit signal's callback and the publisher's completions only take a mutex and notify it, so
// neither the ingest committer nor a Paho thread ever waits on the network or RocksDB.
// start() and stop() from one controlling thread; stats() from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adapters/mqtt/publisher.h"
#include "broker/access/audit.h"
#include "broker/config/config.h"
#include "broker/core/result.h"
#include "broker/hub/commit_signal.h"
#include "broker/hub/follower.h"
#include "broker/log/reading_log.h"

namespace databroker::mqtt {

inline constexpr std::string_view kRepublishCursorNamespace = "mqtt_republish";

// One target's figures, for /metrics.
struct RepublishTargetStats {
  std::string name;                    // "open" or "partner:{profile}"
  std::uint64_t published = 0;         // publishes the MQTT broker acknowledged
  std::uint64_t failures = 0;          // publishes refused or failed (each one rewinds)
  std::uint64_t behind_retention = 0;  // resumes that found their readings removed
  std::size_t in_flight = 0;           // publishes not yet acknowledged
  core::Seq acknowledged = 0;          // the acknowledged cursor
};

struct RepublishStats {
  bool connected = false;
  std::vector<RepublishTargetStats> targets;
};

class Republisher {
 public:
  // References must outlive this object; `cursors` and `audit` may be null (no persistence: every
  // start begins at the head; no audit). The publisher is started and stopped by start()/stop().
  Republisher(const config::RepublishConfig& config, const hub::FollowerContext& context,
              hub::CommitSignal& signal, MessagePublisher& publisher, log::MetaStore* cursors,
              access::AuditTrail* audit);
  ~Republisher();  // stops if running
  Republisher(const Republisher&) = delete;
  Republisher& operator=(const Republisher&) = delete;

  // Loads (or initialises and saves) each target's cursor, starts the publisher and the worker.
  // A cursor that cannot be read or saved is an error (nothing started): republishing without a
  // durable position would silently skip or repeat after the next restart.
  core::Status start();
  // Stops the worker, then the publisher (in-flight publishes get its grace), and saves the
  // cursors. Idempotent.
  void stop();

  RepublishStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with publish completions, which may outlive a stop
};

}  // namespace databroker::mqtt
