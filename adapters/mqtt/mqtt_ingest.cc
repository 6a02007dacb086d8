#include "adapters/mqtt/mqtt_ingest.h"

#include <mqtt/async_client.h>

#include <algorithm>
#include <condition_variable>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include "adapters/codecs/native_json.h"
#include "adapters/mqtt/paho_error.h"
#include "broker/core/logging.h"
#include "broker/core/reading.h"

namespace databroker::mqtt {

namespace {

namespace paho = ::mqtt;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kComponent = "mqtt";
// Far above any real sensor message; keeps one hostile payload from costing a large parse.
constexpr std::size_t kMaxPayloadBytes = std::size_t{1024} * 1024;
constexpr std::size_t kMaxReadingsPerMessage = 1000;
constexpr std::size_t kMaxReasonKeys = 64;
constexpr std::size_t kMaxReportedErrors = 16;
constexpr std::size_t kMaxLoggedTopicBytes = 160;
// submit() is called with waits of at most this much, so that stop() is not held up by a full
// ingest queue for the whole backpressure_wait.
constexpr milliseconds kSubmitSlice{250};
constexpr milliseconds kRetryBackoffMin{10};
constexpr milliseconds kRetryBackoffMax{200};
constexpr milliseconds kStopGrace{2000};
constexpr milliseconds kDisconnectTimeout{1000};
constexpr std::chrono::seconds kConnectTimeout{5};
constexpr milliseconds kMinReconnectDelay{50};
// A connection that lasted less than this before it was lost does not reset the reconnect
// backoff: two instances sharing a client id would otherwise take the session from each other
// as fast as reconnect_min allows.
constexpr std::chrono::seconds kStableConnection{10};
constexpr std::chrono::seconds kRejectionLogInterval{10};

std::string printable_topic(std::string_view topic) {
  if (topic.size() <= kMaxLoggedTopicBytes) {
    return std::string(topic);
  }
  return std::string(topic.substr(0, kMaxLoggedTopicBytes)) + "...";
}

// Paho's keepalive is in whole seconds, and 0 would turn it off.
std::chrono::seconds whole_seconds_at_least_one(milliseconds duration) {
  auto seconds = (duration.count() + 999) / 1000;
  return std::chrono::seconds(std::max<std::int64_t>(1, seconds));
}

struct TopicParts {
  std::string_view kind;
  std::string_view sensor_id;
  std::vector<core::FieldError> problems;  // empty when both parts are valid
};

// Splits `{prefix}/{kind}/{sensor_id}`; a wrong shape or an invalid part is a problem, never a
// crash, whatever the MQTT broker hands us.
TopicParts parse_topic(std::string_view topic, std::string_view prefix) {
  TopicParts parts;
  std::string shape = std::string(prefix) + "/{kind}/{sensor_id}";
  if (topic.size() <= prefix.size() + 1 || topic.substr(0, prefix.size()) != prefix ||
      topic[prefix.size()] != '/') {
    parts.problems.push_back({"topic", "invalid_topic", "the topic is not " + shape});
    return parts;
  }
  std::string_view rest = topic.substr(prefix.size() + 1);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos) {
    parts.problems.push_back({"topic", "invalid_topic", "the topic is not " + shape});
    return parts;
  }
  parts.kind = rest.substr(0, slash);
  parts.sensor_id = rest.substr(slash + 1);
  if (!core::is_valid_kind_name(parts.kind)) {
    parts.problems.push_back({"kind", "invalid_kind", "a kind name is [a-z][a-z0-9_]{0,63}"});
  }
  if (!core::is_valid_sensor_id(parts.sensor_id)) {
    parts.problems.push_back(
        {"sensor", "invalid_sensor_id", "a sensor id is [A-Za-z0-9._:-]{1,128}"});
  }
  return parts;
}

// `{"sensor":…,"kind":…,"topic":…,"received_at":…,"error":…,"message":…,"errors":[…]}`; at
// most kMaxReportedErrors entries, so a report stays small whatever the payload.
std::string error_report_json(std::string_view sensor_id, std::string_view kind,
                              std::string_view topic, core::TimestampMs received_at,
                              const core::Error& error) {
  std::string out = "{\"sensor\":\"";
  core::append_json_escaped(out, sensor_id);
  out += "\",\"kind\":\"";
  core::append_json_escaped(out, kind);
  out += "\",\"topic\":\"";
  core::append_json_escaped(out, printable_topic(topic));
  out += "\",\"received_at\":\"";
  out += core::format_rfc3339(received_at);
  out += "\",\"error\":\"";
  out += core::to_string(error.code);
  out += "\",\"message\":\"";
  core::append_json_escaped(out, error.message);
  out += "\",\"errors\":[";
  std::size_t listed = std::min(error.details.size(), kMaxReportedErrors);
  for (std::size_t i = 0; i < listed; ++i) {
    const auto& detail = error.details[i];
    if (i > 0) {
      out += ',';
    }
    out += "{\"field\":\"";
    core::append_json_escaped(out, detail.field);
    out += "\",\"reason\":\"";
    core::append_json_escaped(out, detail.reason);
    out += "\",\"detail\":\"";
    core::append_json_escaped(out, detail.detail);
    out += "\"}";
  }
  out += "]";
  if (listed < error.details.size()) {
    out += ",\"more_errors\":" + std::to_string(error.details.size() - listed);
  }
  out += "}";
  return out;
}

// Forwards Paho's action results to a member function; lives as long as the client.
class ActionListener final : public paho::iaction_listener {
 public:
  using Handler = std::function<void(bool success, const paho::token& token)>;
  explicit ActionListener(Handler handler) : handler_(std::move(handler)) {}

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

}  // namespace

struct MqttIngest::Impl {
  Impl(const config::MqttConfig& config, ingest::IngestSink& sink, const core::Clock& clock)
      : config(config),
        sink(sink),
        clock(clock),
        connect_listener(
            [this](bool success, const paho::token& token) { on_connect_result(success, token); }),
        subscribe_listener([this](bool success, const paho::token& token) {
          on_subscribe_result(success, token);
        }) {}

  core::Status start();
  void stop();

  // Paho callbacks, on Paho's threads. Each one enters through CallbackScope.
  void on_message(const paho::const_message_ptr& message);
  void on_connected(const std::string& cause);
  void on_connection_lost(const std::string& cause);
  void on_connect_result(bool success, const paho::token& token);
  void on_subscribe_result(bool success, const paho::token& token);

  void handle_message(const std::string& topic, std::string_view payload);
  void deliver(const std::vector<core::Reading>& batch, std::string_view topic,
               std::string_view sensor_id, std::string_view kind);
  void reject(std::string_view topic, std::string_view sensor_id, std::string_view kind,
              const core::Error& error);
  void publish_error_report(std::string_view topic, std::string_view sensor_id,
                            std::string_view kind, const core::Error& error);
  void subscribe();
  core::Status connect();
  void run_connector();
  void schedule_connect_retry();

  // Counts callbacks in progress, so that stop() destroys the client only when none touches
  // it; after stop() closed the door, callbacks return at once.
  class CallbackScope {
   public:
    explicit CallbackScope(Impl& impl) : impl_(impl) {
      std::lock_guard lock(impl_.state_mutex);
      open_ = !impl_.closed;
      ++impl_.active_callbacks;
    }
    ~CallbackScope() {
      std::lock_guard lock(impl_.state_mutex);
      --impl_.active_callbacks;
      impl_.state_changed.notify_all();
    }
    CallbackScope(const CallbackScope&) = delete;
    CallbackScope& operator=(const CallbackScope&) = delete;
    bool is_open() const { return open_; }

   private:
    Impl& impl_;
    bool open_ = false;
  };

  const config::MqttConfig& config;
  ingest::IngestSink& sink;
  const core::Clock& clock;
  // Shared with ingest completions, which may run on the committer after this object is gone.
  std::shared_ptr<MqttCounters> counters = std::make_shared<MqttCounters>();
  core::RateLimitedLog rate_limited_log{kRejectionLogInterval};
  std::string subscription;

  mutable std::mutex reasons_mutex;  // guards reasons
  std::map<std::string, std::uint64_t, std::less<>> reasons;

  std::atomic<bool> connected{false};
  std::atomic<bool> subscribed{false};

  std::mutex state_mutex;  // guards the fields below up to `connector`
  std::condition_variable state_changed;
  bool running = false;
  bool stopping = false;
  bool closed = false;  // stop() is about to destroy the client: callbacks do nothing
  SteadyClock::time_point stop_deadline{};
  SteadyClock::time_point connected_since{};
  std::optional<SteadyClock::time_point> connect_retry_at;
  milliseconds connect_backoff{0};
  int active_callbacks = 0;
  std::thread connector;

  // Declared before the client: Paho may call them while the client is destroyed.
  ActionListener connect_listener;
  ActionListener subscribe_listener;
  paho::connect_options connect_options;
  // Written only by start() and stop() while no callback can run; read by callbacks.
  std::unique_ptr<paho::async_client> client;
};

core::Status MqttIngest::Impl::start() {
  {
    std::lock_guard lock(state_mutex);
    if (running) {
      return core::ok();
    }
  }
  if (config.client_id.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "mqtt.client_id must not be empty: a persistent session needs a stable id");
  }
  if (config.qos < 0 || config.qos > 2) {
    return core::fail(core::ErrorCode::InvalidArgument, "mqtt.qos must be 0, 1 or 2");
  }
  subscription = config.topic_prefix + "/+/+";
  try {
    // A null persistence object selects MQTTCLIENT_PERSISTENCE_NONE: Paho keeps its state in
    // memory and writes nothing in the working directory. Its file store would only protect our
    // own outgoing messages (QoS 0 error reports); incoming QoS 1 messages wait in the MQTT
    // broker's persistent session, not in Paho's store.
    auto created = std::make_unique<paho::async_client>(
        config.uri, config.client_id, paho::create_options(MQTTVERSION_3_1_1), nullptr);
    created->set_message_callback(
        [this](const paho::const_message_ptr& message) { on_message(message); });
    created->set_connected_handler([this](const std::string& cause) { on_connected(cause); });
    created->set_connection_lost_handler(
        [this](const std::string& cause) { on_connection_lost(cause); });

    // Paho's automatic reconnect stays off: it does not retry a first connect that fails, its
    // intervals are whole seconds, and it looks at them only every 3 s, so a restarted MQTT
    // broker would wait up to ~4 s for us. run_connector() does all (re)connects instead.
    auto builder = paho::connect_options_builder();
    builder.mqtt_version(MQTTVERSION_3_1_1)
        .clean_session(false)
        .keep_alive_interval(whole_seconds_at_least_one(config.keepalive))
        .connect_timeout(kConnectTimeout)
        .automatic_reconnect(false);
    if (!config.username.empty()) {
      builder.user_name(config.username);
    }
    if (!config.password.empty()) {
      builder.password(config.password);
    }
    connect_options = builder.finalize();
    client = std::move(created);
  } catch (const paho::exception& error) {
    return tl::unexpected(to_error(error, "creating the MQTT client for " + config.uri));
  }

  {
    std::lock_guard lock(state_mutex);
    running = true;
    stopping = false;
    closed = false;
    connect_retry_at.reset();
    connect_backoff = std::max(config.reconnect_min, kMinReconnectDelay);
  }
  auto status = connect();
  if (!status) {
    stop();
    return status;
  }
  connector = std::thread([this] { run_connector(); });
  core::log_info(kComponent, "connecting to " + config.uri + " as " + config.client_id +
                                 ", subscribing to " + subscription);
  return core::ok();
}

core::Status MqttIngest::Impl::connect() {
  try {
    client->connect(connect_options, nullptr, connect_listener);
    return core::ok();
  } catch (const paho::exception& error) {
    return tl::unexpected(to_error(error, "connecting to " + config.uri));
  }
}

// Every connect after the first runs here, when a failed attempt or a lost connection scheduled
// one: the configured backoff, doubling from reconnect_min to reconnect_max.
void MqttIngest::Impl::run_connector() {
  std::unique_lock lock(state_mutex);
  while (!stopping) {
    if (!connect_retry_at) {
      state_changed.wait(lock, [&] { return stopping || connect_retry_at.has_value(); });
      continue;
    }
    if (SteadyClock::now() < *connect_retry_at) {
      state_changed.wait_until(lock, *connect_retry_at);
      continue;
    }
    connect_retry_at.reset();
    lock.unlock();
    auto status = connect();
    if (!status) {
      core::log_warn(kComponent, status.error().message);
      schedule_connect_retry();
    }
    lock.lock();
  }
}

void MqttIngest::Impl::schedule_connect_retry() {
  std::lock_guard lock(state_mutex);
  if (stopping) {
    return;
  }
  connect_retry_at = SteadyClock::now() + connect_backoff;
  connect_backoff = std::clamp(connect_backoff * 2, kMinReconnectDelay,
                               std::max(config.reconnect_max, kMinReconnectDelay));
  state_changed.notify_all();
}

void MqttIngest::Impl::on_connect_result(bool success, const paho::token& token) {
  CallbackScope scope(*this);
  if (!scope.is_open() || success) {
    return;
  }
  rate_limited_log.warn(
      kComponent, "connect",
      "cannot connect to " + config.uri + " (" + describe_failure(token) + "); retrying");
  schedule_connect_retry();
}

void MqttIngest::Impl::on_connected(const std::string& cause) {
  CallbackScope scope(*this);
  if (!scope.is_open()) {
    return;
  }
  {
    std::lock_guard lock(state_mutex);
    connected_since = SteadyClock::now();
    connect_retry_at.reset();
  }
  connected = true;
  ++counters->connects;
  core::log_info(kComponent, "connected to " + config.uri +
                                 (cause.empty() ? std::string() : " (" + cause + ")"));
  subscribe();
}

// Called after every connect: a resumed session keeps its subscription, but a first one (or a
// session the MQTT broker lost) has none. Subscribing again is harmless.
void MqttIngest::Impl::subscribe() {
  try {
    client->subscribe(subscription, config.qos, nullptr, subscribe_listener);
  } catch (const paho::exception& error) {
    core::log_error(kComponent, to_error(error, "subscribing to " + subscription).message);
  }
}

void MqttIngest::Impl::on_subscribe_result(bool success, const paho::token& token) {
  CallbackScope scope(*this);
  if (!scope.is_open()) {
    return;
  }
  if (success) {
    subscribed = true;
    core::log_info(kComponent, "subscribed to " + subscription);
    return;
  }
  // Not ready: /readyz says so, and the next reconnect subscribes again.
  core::log_error(kComponent, "subscribing to " + subscription + " failed (" +
                                  describe_failure(token) +
                                  "); no readings will arrive over MQTT until a reconnect");
}

void MqttIngest::Impl::on_connection_lost(const std::string& cause) {
  CallbackScope scope(*this);
  if (!scope.is_open()) {
    return;
  }
  connected = false;
  subscribed = false;
  ++counters->connection_losses;
  core::log_warn(kComponent, "lost the connection to " + config.uri +
                                 (cause.empty() ? std::string() : " (" + cause + ")") +
                                 "; reconnecting");
  {
    std::lock_guard lock(state_mutex);
    if (SteadyClock::now() - connected_since >= kStableConnection) {
      connect_backoff = std::max(config.reconnect_min, kMinReconnectDelay);
    }
  }
  schedule_connect_retry();
}

void MqttIngest::Impl::on_message(const paho::const_message_ptr& message) {
  CallbackScope scope(*this);
  if (!scope.is_open()) {
    // Paho already acknowledged it; say so rather than lose it silently.
    ++counters->lost;
    core::log_error(kComponent, "a message arrived while stopping and was dropped");
    return;
  }
  try {
    if (!message) {
      return;
    }
    ++counters->received;
    const auto& payload = message->get_payload_ref();
    handle_message(message->get_topic(), std::string_view(payload.data(), payload.size()));
  } catch (const std::exception& error) {
    ++counters->lost;
    core::log_error(kComponent, std::string("dropped a message after an error: ") + error.what());
  } catch (...) {
    ++counters->lost;
    core::log_error(kComponent, "dropped a message after an unknown error");
  }
}

void MqttIngest::Impl::handle_message(const std::string& topic, std::string_view payload) {
  TopicParts parts = parse_topic(topic, config.topic_prefix);
  if (!parts.problems.empty()) {
    reject(
        topic, parts.sensor_id, parts.kind,
        core::Error{core::ErrorCode::InvalidArgument, "invalid topic", std::move(parts.problems)});
    return;
  }
  if (payload.size() > kMaxPayloadBytes) {
    reject(topic, parts.sensor_id, parts.kind,
           core::Error{
               core::ErrorCode::InvalidArgument,
               "payload too large",
               {{"payload", "payload_too_large",
                 "the payload is larger than " + std::to_string(kMaxPayloadBytes) + " bytes"}}});
    return;
  }
  auto batch = codecs::decode_native(payload, {parts.sensor_id, parts.kind}, clock.now_ms(),
                                     /*allow_array=*/true, kMaxReadingsPerMessage);
  if (!batch) {
    reject(topic, parts.sensor_id, parts.kind, batch.error());
    return;
  }
  deliver(*batch, topic, parts.sensor_id, parts.kind);
}

// Waits while the ingest door refuses for lack of room: this blocks Paho's delivery thread, so
// the MQTT broker holds further messages. The message was acknowledged already, so giving up
// would lose it; only stop() ends the wait, after a grace period.
void MqttIngest::Impl::deliver(const std::vector<core::Reading>& batch, std::string_view topic,
                               std::string_view sensor_id, std::string_view kind) {
  auto started = SteadyClock::now();
  auto next_alarm = started + config.backpressure_wait;
  milliseconds backoff = kRetryBackoffMin;
  bool waited = false;
  // Count in the completion: a failed commit after a PUBACK is a loss an operator must see.
  auto completion = [counters = counters](core::Result<ingest::Accepted> result) {
    if (result) {
      return;
    }
    ++counters->lost;
    try {
      core::log_error(kComponent,
                      "a reading received over MQTT was not stored: " + result.error().message);
    } catch (...) {
    }
  };
  while (true) {
    auto wait = std::clamp(config.backpressure_wait, milliseconds(0), kSubmitSlice);
    auto status = sink.submit(batch, ingest::IngestPath::Mqtt, completion, wait);
    if (status) {
      ++counters->accepted;
      if (waited) {
        auto held = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started);
        core::log_info(kComponent, "the ingest queue took a held message from sensor " +
                                       std::string(sensor_id) + " after " +
                                       std::to_string(held.count()) + " ms");
      }
      return;
    }
    const core::Error& error = status.error();
    if (error.code != core::ErrorCode::ResourceExhausted &&
        error.code != core::ErrorCode::Unavailable) {
      reject(topic, sensor_id, kind, error);
      return;
    }
    auto now = SteadyClock::now();
    if (!waited) {
      waited = true;
      ++counters->backpressure_waits;
      rate_limited_log.warn(kComponent, "backpressure",
                            "the ingest queue is full (" + error.message +
                                "); holding MQTT deliveries until it has room");
    }
    if (now >= next_alarm) {
      auto held = std::chrono::duration_cast<milliseconds>(now - started);
      core::log_error(kComponent, "the ingest door has refused a message from sensor " +
                                      std::string(sensor_id) + " for " +
                                      std::to_string(held.count()) + " ms (" + error.message +
                                      "); still retrying, MQTT ingest is stalled");
      next_alarm = now + config.backpressure_wait;
    }
    {
      std::unique_lock lock(state_mutex);
      if (stopping && now >= stop_deadline) {
        lock.unlock();
        ++counters->lost;
        core::log_error(kComponent, "stopping: dropped a message from sensor " +
                                        std::string(sensor_id) + " with " +
                                        std::to_string(batch.size()) +
                                        " reading(s) that the ingest door kept refusing (" +
                                        error.message + ")");
        return;
      }
      state_changed.wait_for(lock, backoff);
    }
    backoff = std::min(backoff * 2, kRetryBackoffMax);
  }
}

void MqttIngest::Impl::reject(std::string_view topic, std::string_view sensor_id,
                              std::string_view kind, const core::Error& error) {
  ++counters->rejected;
  std::set<std::string_view> distinct;
  for (const auto& detail : error.details) {
    distinct.insert(detail.reason);
  }
  if (distinct.empty()) {
    distinct.insert(core::to_string(error.code));
  }
  {
    std::lock_guard lock(reasons_mutex);
    for (auto reason : distinct) {
      auto it = reasons.find(reason);
      if (it == reasons.end()) {
        // Reasons are codes from our own decoders and validator, but bound the map anyway.
        it = reasons.try_emplace(reasons.size() < kMaxReasonKeys ? std::string(reason) : "other")
                 .first;
      }
      ++it->second;
    }
  }
  std::string message = "rejected a message on " + printable_topic(topic) + ": " + error.message;
  if (!error.details.empty()) {
    const auto& first = error.details.front();
    message += " (" + first.field + ": " + first.reason + ", " + first.detail + ")";
    if (error.details.size() > 1) {
      message += " and " + std::to_string(error.details.size() - 1) + " more";
    }
  }
  rate_limited_log.warn(kComponent, *distinct.begin(), message);
  if (!config.error_topic_prefix.empty() && core::is_valid_sensor_id(sensor_id)) {
    publish_error_report(topic, sensor_id, kind, error);
  }
}

// QoS 0, not retained: a report is a diagnostic for whoever listens now, and must never hold up
// ingest. The sensor id was validated, so it cannot add levels or wildcards to the topic.
void MqttIngest::Impl::publish_error_report(std::string_view topic, std::string_view sensor_id,
                                            std::string_view kind, const core::Error& error) {
  std::string report_topic = config.error_topic_prefix + "/" + std::string(sensor_id);
  std::string report = error_report_json(sensor_id, kind, topic, clock.now_ms(), error);
  try {
    client->publish(report_topic, report.data(), report.size(), 0, false);
    ++counters->error_reports;
  } catch (const paho::exception& failure) {
    rate_limited_log.warn(
        kComponent, "error_report",
        to_error(failure, "publishing an error report to " + report_topic).message);
  }
}

void MqttIngest::Impl::stop() {
  {
    std::lock_guard lock(state_mutex);
    if (!running) {
      return;
    }
    stopping = true;
    stop_deadline = SteadyClock::now() + kStopGrace;
    connect_retry_at.reset();
    state_changed.notify_all();
  }
  if (connector.joinable()) {
    connector.join();
  }

  // The connector is gone, so nothing reconnects; the waits are bounded so that stop() never
  // hangs on the network.
  try {
    auto token = client->disconnect(static_cast<int>(kDisconnectTimeout.count()));
    if (!token->wait_for(kDisconnectTimeout + milliseconds(1000))) {
      core::log_warn(kComponent, "disconnect did not complete in time");
    }
  } catch (const paho::exception& error) {
    if (error.get_return_code() != MQTTASYNC_DISCONNECTED) {
      core::log_warn(kComponent, to_error(error, "disconnecting").message);
    }
  }

  {
    std::unique_lock lock(state_mutex);
    closed = true;
    // A callback in deliver() gives up after kStopGrace; the others are short.
    while (!state_changed.wait_for(lock, std::chrono::seconds(5),
                                   [&] { return active_callbacks == 0; })) {
      core::log_warn(kComponent, "waiting for an MQTT callback to finish");
    }
  }
  client.reset();
  connected = false;
  subscribed = false;
  std::lock_guard lock(state_mutex);
  running = false;
  core::log_info(kComponent, "stopped");
}

MqttIngest::MqttIngest(const config::MqttConfig& config, ingest::IngestSink& sink,
                       const core::Clock& clock)
    : impl_(std::make_unique<Impl>(config, sink, clock)) {}

MqttIngest::~MqttIngest() { stop(); }

core::Status MqttIngest::start() { return impl_->start(); }

void MqttIngest::stop() { impl_->stop(); }

bool MqttIngest::is_connected() const { return impl_->connected && impl_->subscribed; }

const MqttCounters& MqttIngest::counters() const { return *impl_->counters; }

std::vector<std::pair<std::string, std::uint64_t>> MqttIngest::rejections_by_reason() const {
  std::lock_guard lock(impl_->reasons_mutex);
  return {impl_->reasons.begin(), impl_->reasons.end()};
}

}  // namespace databroker::mqtt
