#include "adapters/mqtt/paho_publisher.h"

#include <mqtt/async_client.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/mqtt/paho_error.h"
#include "broker/core/logging.h"

namespace databroker::mqtt {

namespace {

namespace paho = ::mqtt;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kComponent = "mqtt-out";
constexpr milliseconds kDisconnectTimeout{1000};
constexpr std::chrono::seconds kConnectTimeout{5};
constexpr milliseconds kMinReconnectDelay{50};
constexpr std::chrono::seconds kStableConnection{10};
constexpr std::chrono::seconds kLogInterval{10};

std::chrono::seconds whole_seconds_at_least_one(milliseconds duration) {
  auto seconds = (duration.count() + 999) / 1000;
  return std::chrono::seconds(std::max<std::int64_t>(1, seconds));
}

// Forwards Paho's action results; no exception leaves a Paho callback.
class Listener final : public paho::iaction_listener {
 public:
  using Handler = std::function<void(bool success, const paho::token& token)>;
  explicit Listener(Handler handler) : handler_(std::move(handler)) {}
  void on_success(const paho::token& token) override { call(true, token); }
  void on_failure(const paho::token& token) override { call(false, token); }

 private:
  void call(bool success, const paho::token& token) noexcept {
    try {
      handler_(success, token);
    } catch (const std::exception& error) {
      core::log_error(kComponent, std::string("action callback failed: ") + error.what());
    } catch (...) {
      core::log_error(kComponent, "action callback failed");
    }
  }
  Handler handler_;
};

class PahoPublisher final : public MessagePublisher {
 public:
  explicit PahoPublisher(PahoPublisherOptions options)
      : options_(std::move(options)),
        connect_listener_(
            [this](bool success, const paho::token& token) { on_connect_result(success, token); }),
        publish_listener_([this](bool success, const paho::token& token) {
          on_publish_result(success, token);
        }) {}
  ~PahoPublisher() override { stop(); }

  core::Status start(ConnectionHandler on_connected) override;
  void stop() override;
  bool is_connected() const override { return connected_; }
  core::Status publish(const std::string& topic, std::shared_ptr<const std::string> payload,
                       int qos, bool retain, Completion done) override;

 private:
  // Counts callbacks in progress so that stop() destroys the client only when none uses it.
  class CallbackScope {
   public:
    explicit CallbackScope(PahoPublisher& owner) : owner_(owner) {
      std::lock_guard lock(owner_.state_mutex_);
      open_ = !owner_.closed_;
      ++owner_.active_callbacks_;
    }
    ~CallbackScope() {
      std::lock_guard lock(owner_.state_mutex_);
      --owner_.active_callbacks_;
      owner_.state_changed_.notify_all();
    }
    CallbackScope(const CallbackScope&) = delete;
    CallbackScope& operator=(const CallbackScope&) = delete;
    bool is_open() const { return open_; }

   private:
    PahoPublisher& owner_;
    bool open_ = false;
  };

  core::Status connect();
  void run_connector();
  void schedule_connect_retry();
  void on_connected(const std::string& cause);
  void on_connection_lost(const std::string& cause);
  void on_connect_result(bool success, const paho::token& token);
  void on_publish_result(bool success, const paho::token& token);
  // Runs (outside every lock) and forgets the completions still outstanding.
  void fail_outstanding(const std::string& why);

  const PahoPublisherOptions options_;
  core::RateLimitedLog rate_limited_log_{kLogInterval};
  std::atomic<bool> connected_{false};
  ConnectionHandler on_connected_;  // written by start() only, before any callback

  std::mutex pending_mutex_;  // guards pending_ and next_id_
  std::map<std::uint64_t, Completion> pending_;
  std::uint64_t next_id_ = 1;

  std::mutex state_mutex_;  // guards the fields below up to connector_
  std::condition_variable state_changed_;
  bool running_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  SteadyClock::time_point connected_since_{};
  std::optional<SteadyClock::time_point> connect_retry_at_;
  milliseconds connect_backoff_{0};
  int active_callbacks_ = 0;
  std::thread connector_;

  // Declared before the client: Paho may call them while the client is destroyed.
  Listener connect_listener_;
  Listener publish_listener_;
  paho::connect_options connect_options_;
  std::unique_ptr<paho::async_client> client_;  // written only while no callback can run
};

core::Status PahoPublisher::start(ConnectionHandler handler) {
  {
    std::lock_guard lock(state_mutex_);
    if (running_) {
      return core::ok();
    }
  }
  if (options_.client_id.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "the republisher's MQTT client id must not be empty");
  }
  on_connected_ = std::move(handler);
  try {
    // Null persistence: in memory. The republisher's cursor in the durable log is what survives
    // a restart, so Paho's file store would only duplicate it on disk.
    // Paho also caps the messages queued inside the client (default 100) and refuses publishes
    // beyond that even while connected; the republisher's window is the real bound, so the cap
    // follows it. Sending while disconnected stays off: publish() then refuses at once.
    const int window = std::clamp(options_.max_inflight, 1, 65535);
    paho::create_options create(MQTTVERSION_3_1_1);
    create.set_max_buffered_messages(window);
    auto created =
        std::make_unique<paho::async_client>(options_.uri, options_.client_id, create, nullptr);
    created->set_connected_handler([this](const std::string& cause) { on_connected(cause); });
    created->set_connection_lost_handler(
        [this](const std::string& cause) { on_connection_lost(cause); });
    // Reconnects are ours (see adapters/mqtt/README.md for why not Paho's automatic reconnect).
    auto builder = paho::connect_options_builder();
    builder.mqtt_version(MQTTVERSION_3_1_1)
        .clean_session(true)
        .keep_alive_interval(whole_seconds_at_least_one(options_.keepalive))
        .connect_timeout(kConnectTimeout)
        .automatic_reconnect(false)
        .max_inflight(window);
    if (!options_.username.empty()) {
      builder.user_name(options_.username);
    }
    if (!options_.password.empty()) {
      builder.password(options_.password);
    }
    connect_options_ = builder.finalize();
    client_ = std::move(created);
  } catch (const paho::exception& error) {
    return tl::unexpected(to_error(error, "creating the MQTT client for " + options_.uri));
  }
  {
    std::lock_guard lock(state_mutex_);
    running_ = true;
    stopping_ = false;
    closed_ = false;
    connect_retry_at_.reset();
    connect_backoff_ = std::max(options_.reconnect_min, kMinReconnectDelay);
  }
  if (auto status = connect(); !status) {
    stop();
    return status;
  }
  connector_ = std::thread([this] { run_connector(); });
  core::log_info(kComponent, "connecting to " + options_.uri + " as " + options_.client_id);
  return core::ok();
}

core::Status PahoPublisher::connect() {
  try {
    client_->connect(connect_options_, nullptr, connect_listener_);
    return core::ok();
  } catch (const paho::exception& error) {
    return tl::unexpected(to_error(error, "connecting to " + options_.uri));
  }
}

void PahoPublisher::run_connector() {
  std::unique_lock lock(state_mutex_);
  while (!stopping_) {
    if (!connect_retry_at_) {
      state_changed_.wait(lock, [&] { return stopping_ || connect_retry_at_.has_value(); });
      continue;
    }
    if (SteadyClock::now() < *connect_retry_at_) {
      state_changed_.wait_until(lock, *connect_retry_at_);
      continue;
    }
    connect_retry_at_.reset();
    lock.unlock();
    if (auto status = connect(); !status) {
      rate_limited_log_.warn(kComponent, "connect", status.error().message);
      schedule_connect_retry();
    }
    lock.lock();
  }
}

void PahoPublisher::schedule_connect_retry() {
  std::lock_guard lock(state_mutex_);
  if (stopping_) {
    return;
  }
  connect_retry_at_ = SteadyClock::now() + connect_backoff_;
  connect_backoff_ = std::clamp(connect_backoff_ * 2, kMinReconnectDelay,
                                std::max(options_.reconnect_max, kMinReconnectDelay));
  state_changed_.notify_all();
}

void PahoPublisher::on_connect_result(bool success, const paho::token& token) {
  CallbackScope scope(*this);
  if (!scope.is_open() || success) {
    return;
  }
  rate_limited_log_.warn(
      kComponent, "connect",
      "cannot connect to " + options_.uri + " (" + describe_failure(token) + "); retrying");
  schedule_connect_retry();
}

void PahoPublisher::on_connected(const std::string& cause) {
  CallbackScope scope(*this);
  if (!scope.is_open()) {
    return;
  }
  {
    std::lock_guard lock(state_mutex_);
    connected_since_ = SteadyClock::now();
    connect_retry_at_.reset();
  }
  connected_ = true;
  core::log_info(kComponent, "connected to " + options_.uri + " as " + options_.client_id +
                                 (cause.empty() ? std::string() : " (" + cause + ")"));
  try {
    if (on_connected_) {
      on_connected_();
    }
  } catch (...) {
    core::log_error(kComponent, "the connection handler failed");
  }
}

void PahoPublisher::on_connection_lost(const std::string& cause) {
  CallbackScope scope(*this);
  if (!scope.is_open()) {
    return;
  }
  connected_ = false;
  core::log_warn(kComponent, "lost the connection to " + options_.uri +
                                 (cause.empty() ? std::string() : " (" + cause + ")") +
                                 "; reconnecting");
  // With a clean session nothing in flight survives the reconnect: say so now, so that the
  // republisher rewinds instead of waiting for acknowledgements that will never come.
  fail_outstanding("the connection to the MQTT broker was lost");
  {
    std::lock_guard lock(state_mutex_);
    if (SteadyClock::now() - connected_since_ >= kStableConnection) {
      connect_backoff_ = std::max(options_.reconnect_min, kMinReconnectDelay);
    }
  }
  schedule_connect_retry();
}

core::Status PahoPublisher::publish(const std::string& topic,
                                    std::shared_ptr<const std::string> payload, int qos,
                                    bool retain, Completion done) {
  if (!connected_) {
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
    client_->publish(message, reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)),
                     publish_listener_);
    return core::ok();
  } catch (const paho::exception& error) {
    std::lock_guard lock(pending_mutex_);
    pending_.erase(id);
    return tl::unexpected(to_error(error, "publishing to " + topic));
  }
}

void PahoPublisher::on_publish_result(bool success, const paho::token& token) {
  CallbackScope scope(*this);
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
  {
    std::lock_guard lock(state_mutex_);
    if (!running_) {
      return;
    }
    stopping_ = true;
    connect_retry_at_.reset();
    state_changed_.notify_all();
  }
  if (connector_.joinable()) {
    connector_.join();
  }
  // In-flight publishes get the disconnect's grace to be acknowledged.
  try {
    auto token = client_->disconnect(static_cast<int>(kDisconnectTimeout.count()));
    if (!token->wait_for(kDisconnectTimeout + milliseconds(1000))) {
      core::log_warn(kComponent, "disconnect did not complete in time");
    }
  } catch (const paho::exception& error) {
    if (error.get_return_code() != MQTTASYNC_DISCONNECTED) {
      core::log_warn(kComponent, to_error(error, "disconnecting").message);
    }
  }
  {
    std::unique_lock lock(state_mutex_);
    closed_ = true;
    while (!state_changed_.wait_for(lock, std::chrono::seconds(5),
                                    [&] { return active_callbacks_ == 0; })) {
      core::log_warn(kComponent, "waiting for an MQTT callback to finish");
    }
  }
  connected_ = false;
  fail_outstanding("the republisher stopped");
  client_.reset();
  std::lock_guard lock(state_mutex_);
  running_ = false;
  on_connected_ = nullptr;
  core::log_info(kComponent, "stopped");
}

}  // namespace

std::unique_ptr<MessagePublisher> make_paho_publisher(PahoPublisherOptions options) {
  return std::make_unique<PahoPublisher>(std::move(options));
}

}  // namespace databroker::mqtt
