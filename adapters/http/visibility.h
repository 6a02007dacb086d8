// Which streams a caller may see, until the policy engine decides it.
//
// Interim rule: only profiles with the `internal` right see streams (all of them); everyone else
// (anonymous, partners, ingest gateways, admins without `internal`) sees none, and every
// per-stream route answers them 404 exactly as for an unknown stream. Every stream reports class
// "closed". This is the single place the policy engine replaces: handlers ask only these
// functions, never the profile directly.
//
// Pure; thread-safe.
#pragma once

#include <string_view>

#include "broker/access/identity.h"
#include "broker/registry/sensor_registry.h"

namespace databroker::http {

// True when `identity` may see the stream's existence, metadata and readings.
bool can_read_stream(const access::Identity& identity, const registry::SensorInfo& sensor);

// The stream's class as shown in metadata ("open", "shared" or "closed").
std::string_view stream_class(const registry::SensorInfo& sensor);

}  // namespace databroker::http
