// MessagePublisher: the narrow door through which the republisher writes to the MQTT broker.
//
// The republish logic (republisher.h) only needs "publish this payload on this topic and tell me
// when the MQTT broker has it", so that is all this interface offers; Paho stays behind it
// (paho_publisher.h) and tests use a fake (tests/support/fake_publisher.h) to drive
// acknowledgements, failures and outages by hand, without a broker.
//
// Contract of an implementation:
//  - publish() never blocks on the network: it hands the message to the client or refuses at
//    once (Unavailable while disconnected). On success the completion runs exactly once, later,
//    on a client thread: ok once the MQTT broker acknowledged it (QoS 1/2) or it was written to
//    the socket (QoS 0); an error when the publish failed or the connection was lost first. A
//    completion never runs inside publish().
//  - Completions and the connection handler must be quick (take a lock, notify) and must not
//    call back into the publisher.
//  - stop() fails every outstanding completion before it returns; afterwards none runs.
//
// Threading: start() and stop() from one controlling thread; publish() and is_connected() from
// any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "broker/core/result.h"

namespace databroker::mqtt {

class MessagePublisher {
 public:
  using Completion = std::function<void(const core::Status& outcome)>;
  // Called after every (re)connect, on a client thread.
  using ConnectionHandler = std::function<void()>;

  virtual ~MessagePublisher() = default;

  // Starts connecting in the background and returns; `on_connected` (may be empty) is kept until
  // stop(). InvalidArgument for a malformed configuration.
  virtual core::Status start(ConnectionHandler on_connected) = 0;
  // Disconnects (giving in-flight publishes a short grace), fails what is still outstanding,
  // and stops reconnecting. Idempotent; bounded even when the MQTT broker is unreachable.
  virtual void stop() = 0;

  virtual bool is_connected() const = 0;

  // Hands one message to the client (see the header comment). `payload` is shared, not copied,
  // until the client takes it. Unavailable when not connected, InvalidArgument for a topic or
  // QoS the client refuses; `done` is then dropped without being called.
  virtual core::Status publish(const std::string& topic, std::shared_ptr<const std::string> payload,
                               int qos, bool retain, Completion done) = 0;
};

}  // namespace databroker::mqtt
