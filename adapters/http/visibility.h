// What a caller may see of a stream: the one place where the HTTP adapter asks the policy.
//
// Handlers take one policy snapshot per request (a reload mid-request cannot mix two versions)
// and ask `stream_view` for each stream they touch. An invisible stream is answered exactly like
// an unknown one (404, same body), and its readings never enter a response. A visible stream is
// served raw to internal profiles and through the view of its open rule or grant to everyone
// else; policies::apply_view (readings) and policies::view_location with the view's metadata
// rules (stream metadata, in stream_handlers.cc) are the only transformations.
//
// Pure; thread-safe.
#pragma once

#include <string_view>

#include "broker/access/identity.h"
#include "broker/registry/sensor_registry.h"
#include "policies/engine.h"

namespace databroker::http {

policies::StreamFacts facts_of(const registry::SensorInfo& sensor);
policies::Caller caller_of(const access::Identity& identity);

struct StreamView {
  policies::Decision decision;
  policies::Access access;

  bool visible() const { return access.visible; }
  // Shared data reached through a grant: such reads are audited.
  bool is_granted() const { return access.grant != nullptr; }
};

StreamView stream_view(const policies::PolicySnapshot& policy, const access::Identity& identity,
                       const registry::SensorInfo& sensor, core::TimestampMs now);

}  // namespace databroker::http
