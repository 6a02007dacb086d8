#include "adapters/mqtt/paho_publisher.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

#include "adapters/mqtt/paho_connection.h"
#include "adapters/mqtt/paho_error.h"
#include "broker/core/logging.h"

namespace databroker::mqtt {

namespace {

namespace paho = ::mqtt;

constexpr std::string_view kComponent = "mqtt-out";

class PahoPublisher final : public MessagePublisher {
 public:
  explicit PahoPublisher(PahoPublisherOptions options)
      : options_(std::move(options)),
        publish_listener_(
            kComponent,
            [this](bool success, const paho::token& token) { on_publish_result(success, token); }),
        connection_(kComponent, {.on_message = nullptr,  // publishes only
                                 .on_connected = [this] { on_connected(); },
                                 .on_connection_lost = [this] { on_connection_lost(); }}) {}
  ~PahoPublisher() override { stop(); }

  core::Status start(ConnectionHandler on_connected) override;
  void stop() override;
  bool is_connected() const override { return connection_.is_connected(); }
  core::Status publish(const std::string& topic, std::shared_ptr<const std::string> payload,
                       int qos, bool retain, Completion done) override;

 private:
  // Connection hooks, on a client thread inside the connection's callback scope.
  void on_connected();
  void on_connection_lost();
  void on_publish_result(bool success, const paho::token& token);
  // Runs (outside every lock) and forgets the completions still outstanding.
  void fail_outstanding(const std::string& why);

  const PahoPublisherOptions options_;
  ConnectionHandler on_connected_;  // written by start() and stop() only, while no callback runs

  std::mutex pending_mutex_;  // guards pending_ and next_id_
  std::map<std::uint64_t, Completion> pending_;
  std::uint64_t next_id_ = 1;

  // Declared before the connection: Paho may call it while the client is destroyed.
  ActionListener publish_listener_;
  PahoConnection connection_;
};

core::Status PahoPublisher::start(ConnectionHandler handler) {
  if (connection_.is_running()) {
    return core::ok();
  }
  if (options_.client_id.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "the republisher's MQTT client id must not be empty");
  }
  on_connected_ = std::move(handler);
  // Clean session: the republisher's cursor in the durable log, not the MQTT session, is what
  // survives a reconnect or a restart.
  auto status = connection_.start({.uri = options_.uri,
                                   .client_id = options_.client_id,
                                   .username = options_.username,
                                   .password = options_.password,
                                   .keepalive = options_.keepalive,
                                   .reconnect_min = options_.reconnect_min,
                                   .reconnect_max = options_.reconnect_max,
                                   .clean_session = true,
                                   .max_inflight = options_.max_inflight});
  if (!status) {
    on_connected_ = nullptr;
    return status;
  }
  core::log_info(kComponent, "connecting to " + options_.uri + " as " + options_.client_id);
  return core::ok();
}

void PahoPublisher::on_connected() {
  if (on_connected_) {
    on_connected_();
  }
}

void PahoPublisher::on_connection_lost() {
  // With a clean session nothing in flight survives the reconnect: say so now, so that the
  // republisher rewinds instead of waiting for acknowledgements that will never come.
  fail_outstanding("the connection to the MQTT broker was lost");
}

core::Status PahoPublisher::publish(const std::string& topic,
                                    std::shared_ptr<const std::string> payload, int qos,
                                    bool retain, Completion done) {
  if (!connection_.is_connected()) {
    return core::fail(core::ErrorCode::Unavailable, "not connected to the MQTT broker");
  }
  std::uint64_t id = 0;
  {
    std::lock_guard lock(pending_mutex_);
    id = next_id_++;
    pending_.emplace(id, std::move(done));
  }
  try {
    auto message = paho::message::create(topic, paho::binary_ref(std::move(payload)), qos, retain);
    // The id travels as the user context, so a late or unknown result finds nothing to call.
    connection_.client().publish(message, reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)),
                                 publish_listener_);
    return core::ok();
  } catch (const paho::exception& error) {
    std::lock_guard lock(pending_mutex_);
    pending_.erase(id);
    return tl::unexpected(to_error(error, "publishing to " + topic));
  }
}

void PahoPublisher::on_publish_result(bool success, const paho::token& token) {
  PahoConnection::CallbackScope scope(connection_);
  const auto id =
      static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(token.get_user_context()));
  Completion done;
  {
    std::lock_guard lock(pending_mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) {
      return;  // failed already, when the connection was lost
    }
    done = std::move(it->second);
    pending_.erase(it);
  }
  if (success) {
    done(core::ok());
  } else {
    done(core::fail(core::ErrorCode::Unavailable, "publish failed: " + describe_failure(token)));
  }
}

void PahoPublisher::fail_outstanding(const std::string& why) {
  std::map<std::uint64_t, Completion> failed;
  {
    std::lock_guard lock(pending_mutex_);
    failed.swap(pending_);
  }
  for (auto& [id, done] : failed) {
    done(core::fail(core::ErrorCode::Unavailable, why));
  }
}

void PahoPublisher::stop() {
  if (!connection_.is_running()) {
    return;
  }
  // In-flight publishes get the disconnect's grace to be acknowledged; afterwards no callback
  // runs, so what is still outstanding fails here, once.
  connection_.stop();
  fail_outstanding("the republisher stopped");
  on_connected_ = nullptr;
  core::log_info(kComponent, "stopped");
}

}  // namespace

std::unique_ptr<MessagePublisher> make_paho_publisher(PahoPublisherOptions options) {
  return std::make_unique<PahoPublisher>(std::move(options));
}

}  // namespace databroker::mqtt
