// Getting messages to the broker: over MQTT (Paho's async client) or over HTTP (one keep-alive
// Beast connection), with the counts the simulator's summary reports.
//
// HTTP: native readings go in batches to /v1/readings; every other format one message per POST
// to its route (Message::http_target). `acknowledged` counts readings answered with 202, refused
// ones are counted by the reason in the problem+json answer (each validation problem's `reason`,
// else the problem type). MQTT: `acknowledged` counts messages the MQTT broker acknowledged
// (PUBACK or PUBCOMP; at QoS 0, messages Paho has written); what the databroker did with them is
// read from its /metrics (read_mqtt_counters()).
//
// A publisher is used by one thread. publish() never throws; transport failures are counted as
// refusals with the reason "transport_error".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker/core/result.h"
#include "tools/simulator/payloads.h"

namespace databroker::simulator {

struct Summary {
  std::uint64_t sent = 0;          // readings handed to the transport
  std::uint64_t acknowledged = 0;  // see above
  std::map<std::string, std::uint64_t> refused;

  std::uint64_t refused_total() const;
};

class Publisher {
 public:
  virtual ~Publisher() = default;
  // Sends one message (or buffers it into the next batch); may wait while too many are in
  // flight.
  virtual void publish(const Message& message) = 0;
  // Sends what is buffered and waits up to `deadline` for outstanding acknowledgements.
  virtual void finish(std::chrono::milliseconds deadline) = 0;
  virtual Summary summary() const = 0;
};

struct MqttSettings {
  std::string host = "127.0.0.1";
  int port = 1883;
  int qos = 1;
  std::string client_id = "databroker-simulator";
};

struct HttpSettings {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::string key;
  std::size_t batch = 1;  // native readings per POST
};

// Connects first, so a wrong port fails at once (Unavailable) rather than in the summary.
core::Result<std::unique_ptr<Publisher>> connect_mqtt(const MqttSettings& settings);
core::Result<std::unique_ptr<Publisher>> connect_http(const HttpSettings& settings);

// The databroker's MQTT ingest counters from GET /metrics: stored readings and refused messages
// by reason. Nothing when the broker does not answer or runs without MQTT ingest.
struct MqttCounters {
  std::uint64_t stored = 0;
  std::map<std::string, std::uint64_t> refused;
};
std::optional<MqttCounters> read_mqtt_counters(const std::string& host, unsigned short port);

// Parses the Prometheus text of /metrics into MqttCounters (exposed for tests).
std::optional<MqttCounters> parse_mqtt_counters(const std::string& metrics_text);

// The refusals of one problem+json answer that refused `readings` readings: each reading named
// by a problem (`field` starting with "[i]") under its first problem's reason, the rest under the
// problem type (its last URN or path segment).
std::map<std::string, std::uint64_t> refusals_from_problem(unsigned status, const std::string& body,
                                                           std::uint64_t readings);

}  // namespace databroker::simulator
