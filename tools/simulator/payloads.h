// Payload builders: one sample as each ingest format carries it, with its MQTT topic, its HTTP
// route and the reading the broker should store once it has decoded it.
//
// The formats and topics are those of the ingest contract (tools/simulator/README.md) and the
// data-formats reference §1–§2: native JSON; a SenML pack (RFC 8428, absolute base time, base
// name `urn:dev:ops:{id}:`, `lat`/`lon` records); a The Things Stack v3 uplink with
// `decoded_payload`; a ChirpStack v4 `up` event with `object`. For the network-server formats
// `frm_payload`/`data` hold the bytes the device would send (the DF702 17-byte heartbeat for
// bins) and the decoded part is what the device's codec makes of exactly those bytes, so
// `expected` holds the values after the device's rounding (a distance in whole mm, a temperature
// in whole ℃) mapped back as the contract says.
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "broker/core/reading.h"
#include "tools/simulator/fleet.h"

namespace databroker::simulator {

struct Message {
  std::string topic;         // MQTT topic
  std::string http_target;   // HTTP route (path and query)
  std::string content_type;  // of the HTTP body
  // The MQTT payload. Native readings over HTTP go in batches to /v1/readings and are built by
  // native_json(expected, true) instead.
  std::string body;
  core::Reading expected;  // what the broker stores from it (no seq, no received_at)
};

Message encode(const SensorInfo& sensor, const Sample& sample);

// `{"ts":…,"values":{…},"location":{…}}`, with "sensor" and "kind" first when `with_target`
// (the cross-sensor batch form).
std::string native_json(const core::Reading& reading, bool with_target);

// RFC 4648 base64 with padding, as TTS `frm_payload` and ChirpStack `data` use it.
std::string base64(std::string_view bytes);

// The contract's mapping of a DF702 distance to a fill level in %: a bin `depth_mm` deep whose
// sensor cannot see the top 200 mm.
double fill_from_distance(int distance_mm, int depth_mm);

}  // namespace databroker::simulator
