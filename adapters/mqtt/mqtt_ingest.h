// MQTT ingest: a Paho C++ async client of the city's MQTT broker.
//
// Subscribes to `{topic_prefix}/+/+` (kind, sensor id), and to the MQTT topic of every declared
// ingest source (SenML, The Things Stack, ChirpStack, or native on another topic; see
// broker/core/ingest_source.h), with QoS 1 on a persistent session (clean
// session off, stable client id), so readings published while databroker is down wait in the
// MQTT broker. Reconnects with a backoff doubling from reconnect_min to reconnect_max, also when
// the first connect fails (the MQTT broker may start after us), and subscribes after every
// connect.
//
// A message on a source's topic is decoded by that source's codec (adapters/codecs/
// source_decoder.h), with the kind and sensor id the topic captures; any other message on the
// native filter by the native codec. The configuration guarantees that no two filters overlap.
//
// The Paho callback only decodes the payload and hands the reading to the ingest door. When the
// ingest queue is full the callback waits (backpressure towards the MQTT broker, which then
// holds the messages); it never drops silently. Rejected payloads are counted per reason and
// logged rate-limited; with `error_topic_prefix` set, an error report is published to
// `{error_topic_prefix}/{sensor_id}`.
//
// Loss window: Paho acknowledges a QoS 1 message (PUBACK) when it receives it, before our
// callback runs, so a message is the MQTT broker's responsibility until then and ours after.
// Paho keeps no files (in-memory client persistence: nothing is written in the working
// directory); what it holds in memory is the message in our callback plus the few it has already
// read from the socket. Messages lost after the PUBACK are counted in `lost` and logged as errors.
//
// Paho stays in mqtt_ingest.cc and the folder's private PahoConnection (paho_connection.h), which
// owns the client and its reconnects; this header is Paho-free. Threading: start() and stop()
// from one controlling thread; counters readable from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "broker/config/config.h"
#include "broker/core/ingest_source.h"
#include "broker/core/kinds.h"
#include "broker/core/result.h"
#include "broker/core/time.h"
#include "broker/ingest/ingest_sink.h"

namespace databroker::mqtt {

// Counts of MQTT messages (one message may carry an array of readings) and connection events.
// A received message is accepted (queued at the ingest door), rejected, or lost; a queued one
// whose commit then fails counts as accepted and lost. `backpressure_waits` counts messages that
// had to wait for room in the ingest queue at least once.
struct MqttCounters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> connects{0};
  std::atomic<std::uint64_t> connection_losses{0};
  std::atomic<std::uint64_t> backpressure_waits{0};
  // Acknowledged to the MQTT broker but not stored: still refused by the ingest door when stop()
  // gave up, or failed in the durable log after being queued. Should stay 0; alert on it.
  std::atomic<std::uint64_t> lost{0};
  std::atomic<std::uint64_t> error_reports{0};  // published to the error topic
};

// The declared sources read over MQTT (those with an mqtt_topic) and the kinds their codecs map
// names to. Both must outlive the MqttIngest; `kinds` is required when a source is.
struct MqttSources {
  const std::vector<core::IngestSource>* sources = nullptr;
  const core::KindCatalog* kinds = nullptr;
};

class MqttIngest {
 public:
  // References must outlive this object.
  MqttIngest(const config::MqttConfig& config, ingest::IngestSink& sink, const core::Clock& clock,
             MqttSources sources = {});
  ~MqttIngest();  // stops if running

  // Starts connecting in the background and returns; the connection may come later (the MQTT
  // broker may be down at start). InvalidArgument for a malformed URI, an empty client id or a
  // QoS outside 0..2. A no-op when already running; may be called again after stop().
  core::Status start();
  // Disconnects (waiting for in-flight deliveries to be handed to the ingest door) and stops
  // reconnecting. Idempotent. Bounded: a delivery still refused by a full ingest queue gets a
  // short grace (about 2 s) and is then counted lost; disconnecting from an unreachable MQTT
  // broker does not wait.
  void stop();

  // Connected and subscribed (SUBACK received): ready to receive. For /readyz.
  bool is_connected() const;
  const MqttCounters& counters() const;
  // (reason, count) pairs of rejected payloads, for /metrics.
  std::vector<std::pair<std::string, std::uint64_t>> rejections_by_reason() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace databroker::mqtt
