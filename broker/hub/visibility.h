// What a consumer may see of a stream: the one place where delivery paths ask the policy.
//
// REST handlers, live subscribers (SSE, WebSocket), webhooks and the MQTT republisher take one
// policy snapshot per request or batch (a reload mid-request cannot mix two versions) and ask
// `stream_view` for each stream they touch. An invisible stream is answered exactly like an
// unknown one (404, same body; no event), and its readings never leave. A visible stream is
// served raw to internal profiles and through the view of its open rule or grant to everyone
// else; policies::apply_view (readings) and policies::view_location with the view's metadata
// rules (stream metadata) are the only transformations.
//
// Pure; thread-safe.
#pragma once

#include <string_view>

#include "broker/access/identity.h"
#include "broker/registry/sensor_registry.h"
#include "policies/engine.h"

namespace databroker::hub {

policies::StreamFacts facts_of(const registry::SensorInfo& sensor);
// The anonymous identity (no profile) is the `public` caller.
policies::Caller caller_of(const access::Identity& identity);

struct StreamView {
  policies::Decision decision;
  policies::Access access;

  bool visible() const { return access.visible; }
  // Shared data reached through a grant: such reads are audited.
  bool is_granted() const { return access.grant != nullptr; }
  // The transformation to apply; null for raw (internal callers, or an identity view).
  const policies::View* transform() const {
    return access.view == nullptr || access.view->is_identity() ? nullptr : access.view;
  }
};

// The decision and access of `caller` for `sensor` at `now`. The pointers inside point into
// `policy`: keep the snapshot alive while using them.
StreamView stream_view(const policies::PolicySnapshot& policy, const policies::Caller& caller,
                       const registry::SensorInfo& sensor, core::TimestampMs now);
inline StreamView stream_view(const policies::PolicySnapshot& policy,
                              const access::Identity& identity, const registry::SensorInfo& sensor,
                              core::TimestampMs now) {
  return stream_view(policy, caller_of(identity), sensor, now);
}

}  // namespace databroker::hub
