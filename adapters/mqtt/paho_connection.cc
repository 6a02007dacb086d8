#include "adapters/mqtt/paho_connection.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "adapters/mqtt/paho_error.h"

namespace databroker::mqtt {

namespace {

namespace paho = ::mqtt;
using std::chrono::milliseconds;

constexpr milliseconds kDisconnectTimeout{1000};
constexpr std::chrono::seconds kConnectTimeout{5};
constexpr milliseconds kMinReconnectDelay{50};
// A connection that lasted less than this before it was lost does not reset the reconnect
// backoff: two instances sharing a client id would otherwise take the session from each other
// as fast as reconnect_min allows.
constexpr std::chrono::seconds kStableConnection{10};
constexpr std::chrono::seconds kLogInterval{10};

// Paho's keepalive is in whole seconds, and 0 would turn it off.
std::chrono::seconds whole_seconds_at_least_one(milliseconds duration) {
  auto seconds = (duration.count() + 999) / 1000;
  return std::chrono::seconds(std::max<std::int64_t>(1, seconds));
}

std::string with_cause(const std::string& cause) {
  return cause.empty() ? std::string() : " (" + cause + ")";
}

}  // namespace

void ActionListener::call(bool success, const paho::token& token) noexcept {
  try {
    handler_(success, token);
  } catch (const std::exception& error) {
    core::log_error(component_, std::string("action callback failed: ") + error.what());
  } catch (...) {
    core::log_error(component_, "action callback failed");
  }
}

PahoConnection::CallbackScope::CallbackScope(PahoConnection& connection) : connection_(connection) {
  std::lock_guard lock(connection_.state_mutex_);
  open_ = !connection_.closed_;
  ++connection_.active_callbacks_;
}

PahoConnection::CallbackScope::~CallbackScope() {
  std::lock_guard lock(connection_.state_mutex_);
  --connection_.active_callbacks_;
  connection_.state_changed_.notify_all();
}

PahoConnection::PahoConnection(std::string_view component, PahoConnectionHooks hooks)
    : component_(component),
      hooks_(std::move(hooks)),
      rate_limited_log_(kLogInterval),
      connect_listener_(component, [this](bool success, const paho::token& token) {
        on_connect_result(success, token);
      }) {}

PahoConnection::~PahoConnection() { stop(); }

bool PahoConnection::is_running() const {
  std::lock_guard lock(state_mutex_);
  return running_;
}

core::Status PahoConnection::start(PahoConnectionOptions options) {
  if (is_running()) {
    return core::ok();
  }
  options_ = std::move(options);
  try {
    // A null persistence object selects MQTTCLIENT_PERSISTENCE_NONE: Paho keeps its state in
    // memory and writes nothing in the working directory. Its file store would only protect our
    // own outgoing messages: ingest publishes only QoS 0 error reports, and its incoming QoS 1
    // messages wait in the MQTT broker's persistent session, not in Paho's store; for republish
    // the cursor in the durable log is what survives a restart, so the store would only
    // duplicate it on disk.
    paho::create_options create(MQTTVERSION_3_1_1);
    std::optional<int> window;
    if (options_.max_inflight) {
      // Paho also caps the messages queued inside the client (default 100) and refuses
      // publishes beyond that even while connected; the owner's window (the republisher's) is
      // the real bound, so the cap follows it. Sending while disconnected stays off: a publish
      // then fails at once.
      window = std::clamp(*options_.max_inflight, 1, 65535);
      create.set_max_buffered_messages(*window);
    }
    auto created =
        std::make_unique<paho::async_client>(options_.uri, options_.client_id, create, nullptr);
    if (hooks_.on_message) {
      created->set_message_callback(hooks_.on_message);
    }
    created->set_connected_handler([this](const std::string& cause) { on_connected(cause); });
    created->set_connection_lost_handler(
        [this](const std::string& cause) { on_connection_lost(cause); });

    // Paho's automatic reconnect stays off: it does not retry a first connect that fails, its
    // intervals are whole seconds, and it looks at them only every 3 s, so a restarted MQTT
    // broker would wait up to ~4 s for us. run_connector() does all (re)connects instead.
    auto builder = paho::connect_options_builder();
    builder.mqtt_version(MQTTVERSION_3_1_1)
        .clean_session(options_.clean_session)
        .keep_alive_interval(whole_seconds_at_least_one(options_.keepalive))
        .connect_timeout(kConnectTimeout)
        .automatic_reconnect(false);
    if (window) {
      builder.max_inflight(*window);
    }
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
  return core::ok();
}

core::Status PahoConnection::connect() {
  try {
    client_->connect(connect_options_, nullptr, connect_listener_);
    return core::ok();
  } catch (const paho::exception& error) {
    return tl::unexpected(to_error(error, "connecting to " + options_.uri));
  }
}

// Every connect after the first runs here, when a failed attempt or a lost connection scheduled
// one: the configured backoff, doubling from reconnect_min to reconnect_max.
void PahoConnection::run_connector() {
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
      rate_limited_log_.warn(component_, "connect", status.error().message);
      schedule_connect_retry();
    }
    lock.lock();
  }
}

void PahoConnection::schedule_connect_retry() {
  std::lock_guard lock(state_mutex_);
  if (stopping_) {
    return;
  }
  connect_retry_at_ = SteadyClock::now() + connect_backoff_;
  connect_backoff_ = std::clamp(connect_backoff_ * 2, kMinReconnectDelay,
                                std::max(options_.reconnect_max, kMinReconnectDelay));
  state_changed_.notify_all();
}

void PahoConnection::on_connect_result(bool success, const paho::token& token) {
  CallbackScope scope(*this);
  if (!scope.is_open() || success) {
    return;
  }
  rate_limited_log_.warn(
      component_, "connect",
      "cannot connect to " + options_.uri + " (" + describe_failure(token) + "); retrying");
  schedule_connect_retry();
}

void PahoConnection::on_connected(const std::string& cause) {
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
  core::log_info(component_,
                 "connected to " + options_.uri + " as " + options_.client_id + with_cause(cause));
  call_hook(hooks_.on_connected, "the connection handler failed");
}

void PahoConnection::on_connection_lost(const std::string& cause) {
  CallbackScope scope(*this);
  if (!scope.is_open()) {
    return;
  }
  connected_ = false;
  core::log_warn(component_,
                 "lost the connection to " + options_.uri + with_cause(cause) + "; reconnecting");
  call_hook(hooks_.on_connection_lost, "the connection-lost handler failed");
  {
    std::lock_guard lock(state_mutex_);
    if (SteadyClock::now() - connected_since_ >= kStableConnection) {
      connect_backoff_ = std::max(options_.reconnect_min, kMinReconnectDelay);
    }
  }
  schedule_connect_retry();
}

// No exception may leave a Paho callback, and the reconnect must be scheduled whatever the hook
// did.
void PahoConnection::call_hook(const std::function<void()>& hook, std::string_view what) {
  if (!hook) {
    return;
  }
  try {
    hook();
  } catch (const std::exception& error) {
    core::log_error(component_, std::string(what) + ": " + error.what());
  } catch (...) {
    core::log_error(component_, what);
  }
}

void PahoConnection::stop() {
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

  // The connector is gone, so nothing reconnects; the waits are bounded so that stop() never
  // hangs on the network. The disconnect's timeout is also the grace in-flight publishes get to
  // be acknowledged.
  try {
    auto token = client_->disconnect(static_cast<int>(kDisconnectTimeout.count()));
    if (!token->wait_for(kDisconnectTimeout + milliseconds(1000))) {
      core::log_warn(component_, "disconnect did not complete in time");
    }
  } catch (const paho::exception& error) {
    if (error.get_return_code() != MQTTASYNC_DISCONNECTED) {
      core::log_warn(component_, to_error(error, "disconnecting").message);
    }
  }

  {
    std::unique_lock lock(state_mutex_);
    closed_ = true;
    // The owner's callbacks end on their own once stopping (a delivery MqttIngest holds back
    // gives up after its stop grace); the others are short.
    while (!state_changed_.wait_for(lock, std::chrono::seconds(5),
                                    [&] { return active_callbacks_ == 0; })) {
      core::log_warn(component_, "waiting for an MQTT callback to finish");
    }
  }
  client_.reset();
  connected_ = false;
  std::lock_guard lock(state_mutex_);
  running_ = false;
}

}  // namespace databroker::mqtt
