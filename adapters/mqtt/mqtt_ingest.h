// MQTT ingest: a Paho C++ async client of the city's MQTT broker.
//
// Subscribes to `{topic_prefix}/+/+` (kind, sensor id) with QoS 1 on a persistent session (clean
// session off, stable client id), so readings published while databroker is down wait in the
// MQTT broker. Reconnects automatically with capped backoff and resubscribes.
//
// The Paho callback only decodes the payload and hands the reading to the ingest door. When the
// ingest queue is full the callback waits (backpressure towards the MQTT broker, which then
// holds the messages); it never drops silently. Rejected payloads are counted per reason and
// logged rate-limited; with `error_topic_prefix` set, an error report is published to
// `{error_topic_prefix}/{sensor_id}`.
//
// This is the only file pair that includes Paho headers. Threading: start() and stop() from one
// controlling thread; counters readable from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/config/config.h"
#include "broker/core/result.h"
#include "broker/core/time.h"
#include "broker/ingest/ingest_sink.h"

namespace databroker::mqtt {

struct MqttCounters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> connects{0};
  std::atomic<std::uint64_t> connection_losses{0};
};

class MqttIngest {
 public:
  // References must outlive this object.
  MqttIngest(const config::MqttConfig& config, ingest::IngestSink& sink, const core::Clock& clock);
  ~MqttIngest();  // stops if running

  // Starts connecting in the background and returns; the connection may come later (the MQTT
  // broker may be down at start). InvalidArgument for a malformed URI.
  core::Status start();
  // Disconnects (waiting for in-flight deliveries to be handed to the ingest door) and stops
  // reconnecting. Idempotent.
  void stop();

  bool is_connected() const;
  const MqttCounters& counters() const;
  // (reason, count) pairs of rejected payloads, for /metrics.
  std::vector<std::pair<std::string, std::uint64_t>> rejections_by_reason() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace databroker::mqtt
