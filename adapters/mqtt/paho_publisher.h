// The MessagePublisher of production: a Paho C++ async client of the MQTT broker, with its own
// client id, used only to publish (the republisher's output).
//
// Clean session, in-memory client persistence: nothing outgoing is kept across a reconnect or a
// restart, because the republisher keeps its own position in the durable log and publishes
// again from there (catch-up), so Paho never needs to buffer beyond the republisher's in-flight
// bound. A lost connection fails every outstanding completion at once (the republisher then
// rewinds); reconnects follow the backoff of mqtt.reconnect_min..reconnect_max, as for ingest,
// also when the first connect fails.
//
// Paho stays in paho_publisher.cc and the folder's private PahoConnection (paho_connection.h),
// shared with ingest; this header is Paho-free. Threading: see publisher.h.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "adapters/mqtt/publisher.h"

namespace databroker::mqtt {

struct PahoPublisherOptions {
  std::string uri;
  std::string client_id;  // must not be empty, nor the ingest client's id
  std::string username;   // empty: no credentials
  std::string password;
  std::chrono::milliseconds keepalive{30'000};
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{5'000};
  int max_inflight = 100;  // Paho's window of unacknowledged QoS 1/2 messages
};

std::unique_ptr<MessagePublisher> make_paho_publisher(PahoPublisherOptions options);

}  // namespace databroker::mqtt
