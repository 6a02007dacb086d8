// PahoConnection: one Paho C++ async client of the MQTT broker and its (re)connects, shared by
// MQTT ingest (mqtt_ingest.cc, persistent session) and the republisher's client
// (paho_publisher.cc, clean session).
//
// It owns the `mqtt::async_client` (MQTT 3.1.1, in-memory client persistence), the connect
// options, the connector thread that reconnects with a backoff doubling from reconnect_min to
// reconnect_max (also when the first connect fails), the connected flag and the bounded stop.
// What differs between its users comes in as options (clean session, the in-flight window) and
// hooks (incoming messages, what to do after a connect and after a lost connection).
//
// Invariant: the client is destroyed only when no callback is using it. Every Paho callback,
// the owner's too (its own action listeners, the message hook), enters through a CallbackScope,
// which counts it; stop() closes the door and waits until none is left.
//
// Private to adapters/mqtt: it includes Paho, so no header outside this folder may include it.
// Threading: start() and stop() from one controlling thread; is_connected() and is_running()
// from any thread; the hooks run on Paho's threads.
#pragma once

#include <mqtt/async_client.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "broker/core/logging.h"
#include "broker/core/result.h"

namespace databroker::mqtt {

struct PahoConnectionOptions {
  std::string uri;
  std::string client_id;  // must not be empty; checked by the owner, with its own reason
  std::string username;   // empty: no credentials
  std::string password;
  std::chrono::milliseconds keepalive{30'000};
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{5'000};
  bool clean_session = true;
  // Paho's window of unacknowledged QoS 1/2 messages, also the cap on messages queued inside the
  // client (clamped to 1..65535). Empty: Paho's defaults.
  std::optional<int> max_inflight;
};

// What the owner does on Paho's threads. Each may be empty. A hook must be quick, must not call
// start() or stop(), and does not need to catch: the connection logs what escapes.
struct PahoConnectionHooks {
  // Every incoming message, one at a time. The hook enters a CallbackScope itself, so that it
  // can account for a message that arrives while stopping.
  std::function<void(const ::mqtt::const_message_ptr& message)> on_message;
  // After every connect, with is_connected() already true.
  std::function<void()> on_connected;
  // After a lost connection, with is_connected() already false, before the next attempt is
  // scheduled.
  std::function<void()> on_connection_lost;
};

// Forwards Paho's action results to a handler; no exception leaves a Paho callback. Must
// outlive the client it is handed to (Paho may call it while the client is destroyed).
class ActionListener final : public ::mqtt::iaction_listener {
 public:
  using Handler = std::function<void(bool success, const ::mqtt::token& token)>;
  // `component` names the log lines of a failed handler; it must outlive the listener.
  ActionListener(std::string_view component, Handler handler)
      : component_(component), handler_(std::move(handler)) {}

  void on_success(const ::mqtt::token& token) override { call(true, token); }
  void on_failure(const ::mqtt::token& token) override { call(false, token); }

 private:
  void call(bool success, const ::mqtt::token& token) noexcept;

  std::string_view component_;
  Handler handler_;
};

class PahoConnection {
 public:
  // `component` names the log lines (a string literal: "mqtt", "mqtt-out"); the hooks are kept
  // for the connection's lifetime.
  PahoConnection(std::string_view component, PahoConnectionHooks hooks);
  ~PahoConnection();  // stops if running
  PahoConnection(const PahoConnection&) = delete;
  PahoConnection& operator=(const PahoConnection&) = delete;

  // Creates the client and starts connecting in the background; the connection may come later
  // (the MQTT broker may be down at start). InvalidArgument for a malformed URI or options. A
  // no-op when already running; may be called again after stop(), with new options.
  core::Status start(PahoConnectionOptions options);
  // Stops the connector, disconnects (bounded: 1 s for Paho, 2 s in all; at once when the MQTT
  // broker is unreachable), waits for callbacks in progress, then destroys the client. A callback
  // the owner holds up must end on its own once stop() began. Idempotent.
  void stop();

  bool is_running() const;
  bool is_connected() const { return connected_; }

  // The client, for the owner's subscribes and publishes: only between a successful start() and
  // stop(), from a callback inside its CallbackScope or from a thread the owner stops first.
  ::mqtt::async_client& client() { return *client_; }

  // Counts a callback in progress, so that stop() destroys the client only when none touches
  // it; after stop() closed the door, is_open() is false and the callback should return at once.
  class CallbackScope {
   public:
    explicit CallbackScope(PahoConnection& connection);
    ~CallbackScope();
    CallbackScope(const CallbackScope&) = delete;
    CallbackScope& operator=(const CallbackScope&) = delete;
    bool is_open() const { return open_; }

   private:
    PahoConnection& connection_;
    bool open_ = false;
  };

 private:
  using SteadyClock = std::chrono::steady_clock;

  core::Status connect();
  void run_connector();
  void schedule_connect_retry();
  void on_connect_result(bool success, const ::mqtt::token& token);
  void on_connected(const std::string& cause);
  void on_connection_lost(const std::string& cause);
  void call_hook(const std::function<void()>& hook, std::string_view what);

  const std::string_view component_;
  const PahoConnectionHooks hooks_;
  PahoConnectionOptions options_;  // written by start() only, before any callback
  core::RateLimitedLog rate_limited_log_;
  std::atomic<bool> connected_{false};

  mutable std::mutex state_mutex_;  // guards the fields below up to connector_
  std::condition_variable state_changed_;
  bool running_ = false;
  bool stopping_ = false;
  bool closed_ = false;  // stop() is about to destroy the client: callbacks do nothing
  SteadyClock::time_point connected_since_{};
  std::optional<SteadyClock::time_point> connect_retry_at_;
  std::chrono::milliseconds connect_backoff_{0};
  int active_callbacks_ = 0;
  std::thread connector_;

  // Declared before the client: Paho may call it while the client is destroyed.
  ActionListener connect_listener_;
  ::mqtt::connect_options connect_options_;
  // Written only by start() and stop() while no callback can run; read by callbacks.
  std::unique_ptr<::mqtt::async_client> client_;
};

}  // namespace databroker::mqtt
