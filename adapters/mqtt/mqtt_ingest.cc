#include "adapters/mqtt/mqtt_ingest.h"

#include <algorithm>
#include <condition_variable>
#include <set>
#include <string_view>
#include <utility>

#include "adapters/codecs/native_json.h"
#include "adapters/codecs/source_decoder.h"
#include "adapters/mqtt/paho_connection.h"
#include "adapters/mqtt/paho_error.h"
#include "broker/core/logging.h"
#include "broker/core/reading.h"
#include "broker/core/text.h"

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
constexpr std::chrono::seconds kRejectionLogInterval{10};

std::string printable_topic(std::string_view topic) {
  if (topic.size() <= kMaxLoggedTopicBytes) {
    return std::string(topic);
  }
  return std::string(topic.substr(0, kMaxLoggedTopicBytes)) + "...";
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

}  // namespace

struct MqttIngest::Impl {
  Impl(const config::MqttConfig& config, ingest::IngestSink& sink, const core::Clock& clock,
       MqttSources sources)
      : config(config),
        sink(sink),
        clock(clock),
        sources(sources),
        subscribe_listener(kComponent,
                           [this](bool success, const paho::token& token) {
                             on_subscribe_result(success, token);
                           }),
        connection(
            kComponent,
            {.on_message = [this](const paho::const_message_ptr& message) { on_message(message); },
             .on_connected = [this] { on_connected(); },
             .on_connection_lost = [this] { on_connection_lost(); }}) {}

  core::Status start();
  void stop();

  // Paho callbacks, on Paho's threads. on_message() and on_subscribe_result() enter through a
  // PahoConnection::CallbackScope; the connection hooks run inside the connection's own.
  void on_message(const paho::const_message_ptr& message);
  void on_connected();
  void on_connection_lost();
  void on_subscribe_result(bool success, const paho::token& token);

  void handle_message(const std::string& topic, std::string_view payload);
  // Decodes a message on a declared source's topic; false when no source's topic matches.
  bool handle_source_message(const std::string& topic, std::string_view payload);
  void deliver(const std::vector<core::Reading>& batch, std::string_view topic,
               std::string_view sensor_id, std::string_view kind);
  void reject(std::string_view topic, std::string_view sensor_id, std::string_view kind,
              const core::Error& error);
  void publish_error_report(std::string_view topic, std::string_view sensor_id,
                            std::string_view kind, const core::Error& error);
  void subscribe();

  const config::MqttConfig& config;
  ingest::IngestSink& sink;
  const core::Clock& clock;
  const MqttSources sources;
  // Shared with ingest completions, which may run on the committer after this object is gone.
  std::shared_ptr<MqttCounters> counters = std::make_shared<MqttCounters>();
  core::RateLimitedLog rate_limited_log{kRejectionLogInterval};
  std::vector<std::string> subscriptions;  // the native filter first, then each source's
  std::string subscription;                // all of them, for log lines

  mutable std::mutex reasons_mutex;  // guards reasons
  std::map<std::string, std::uint64_t, std::less<>> reasons;

  std::atomic<bool> subscribed{false};

  // Ends a delivery held by a full ingest queue once stop() has given it kStopGrace.
  std::mutex stop_mutex;  // guards stopping and stop_deadline
  std::condition_variable stop_requested;
  bool stopping = false;
  SteadyClock::time_point stop_deadline{};

  // Declared before the connection: Paho may call it while the client is destroyed.
  ActionListener subscribe_listener;
  PahoConnection connection;
};

core::Status MqttIngest::Impl::start() {
  if (connection.is_running()) {
    return core::ok();
  }
  if (config.client_id.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "mqtt.client_id must not be empty: a persistent session needs a stable id");
  }
  if (config.qos < 0 || config.qos > 2) {
    return core::fail(core::ErrorCode::InvalidArgument, "mqtt.qos must be 0, 1 or 2");
  }
  subscriptions = {config.topic_prefix + "/+/+"};
  if (sources.sources) {
    if (!sources.kinds && !sources.sources->empty()) {
      return core::fail(core::ErrorCode::InvalidArgument,
                        "MQTT ingest sources need the kind catalog");
    }
    for (const auto& source : *sources.sources) {
      if (source.mqtt_topic) subscriptions.push_back(source.mqtt_topic->filter());
    }
  }
  subscription = core::join(subscriptions);
  {
    std::lock_guard lock(stop_mutex);
    stopping = false;
  }
  auto status = connection.start({.uri = config.uri,
                                  .client_id = config.client_id,
                                  .username = config.username,
                                  .password = config.password,
                                  .keepalive = config.keepalive,
                                  .reconnect_min = config.reconnect_min,
                                  .reconnect_max = config.reconnect_max,
                                  .clean_session = false,
                                  .max_inflight = std::nullopt});
  if (!status) {
    return status;
  }
  core::log_info(kComponent, "connecting to " + config.uri + " as " + config.client_id +
                                 ", subscribing to " + subscription);
  return core::ok();
}

void MqttIngest::Impl::on_connected() {
  ++counters->connects;
  subscribe();
}

// Called after every connect: a resumed session keeps its subscription, but a first one (or a
// session the MQTT broker lost) has none. Subscribing again is harmless.
void MqttIngest::Impl::subscribe() {
  try {
    connection.client().subscribe(
        paho::string_collection::create(subscriptions),
        paho::iasync_client::qos_collection(subscriptions.size(), config.qos), nullptr,
        subscribe_listener);
  } catch (const paho::exception& error) {
    core::log_error(kComponent, to_error(error, "subscribing to " + subscription).message);
  }
}

void MqttIngest::Impl::on_subscribe_result(bool success, const paho::token& token) {
  PahoConnection::CallbackScope scope(connection);
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

void MqttIngest::Impl::on_connection_lost() {
  subscribed = false;
  ++counters->connection_losses;
}

void MqttIngest::Impl::on_message(const paho::const_message_ptr& message) {
  PahoConnection::CallbackScope scope(connection);
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

bool MqttIngest::Impl::handle_source_message(const std::string& topic, std::string_view payload) {
  if (!sources.sources) return false;
  for (const auto& source : *sources.sources) {
    if (!source.mqtt_topic) continue;
    auto match = source.mqtt_topic->match(topic);
    if (!match) continue;
    std::vector<core::FieldError> problems;
    if (source.mqtt_topic->captures_kind() && !core::is_valid_kind_name(match->kind)) {
      problems.push_back({"kind", "invalid_kind", "a kind name is [a-z][a-z0-9_]{0,63}"});
    }
    if (source.mqtt_topic->captures_sensor_id() && !core::is_valid_sensor_id(match->sensor_id)) {
      problems.push_back({"sensor", "invalid_sensor_id", "a sensor id is [A-Za-z0-9._:-]{1,128}"});
    }
    const std::string_view kind = source.kind.empty() ? match->kind : source.kind;
    if (!problems.empty()) {
      reject(topic, match->sensor_id, kind,
             core::Error{core::ErrorCode::InvalidArgument, "invalid topic", std::move(problems)});
      return true;
    }
    if (payload.size() > kMaxPayloadBytes) {
      reject(topic, match->sensor_id, kind,
             core::Error{
                 core::ErrorCode::InvalidArgument,
                 "payload too large",
                 {{"payload", "payload_too_large",
                   "the payload is larger than " + std::to_string(kMaxPayloadBytes) + " bytes"}}});
      return true;
    }
    // No registry here: over MQTT the kind is the source's or the topic's.
    auto batch =
        codecs::decode_for_source(source, payload, {match->sensor_id, match->kind}, *sources.kinds,
                                  {}, clock.now_ms(), kMaxReadingsPerMessage);
    if (!batch) {
      reject(topic, match->sensor_id, kind, batch.error());
      return true;
    }
    const std::string sensor_id = batch->empty() ? "" : batch->front().sensor_id;
    deliver(*batch, topic, sensor_id, kind);
    return true;
  }
  return false;
}

void MqttIngest::Impl::handle_message(const std::string& topic, std::string_view payload) {
  if (handle_source_message(topic, payload)) return;
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
      std::unique_lock lock(stop_mutex);
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
      stop_requested.wait_for(lock, backoff);
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
    connection.client().publish(report_topic, report.data(), report.size(), 0, false);
    ++counters->error_reports;
  } catch (const paho::exception& failure) {
    rate_limited_log.warn(
        kComponent, "error_report",
        to_error(failure, "publishing an error report to " + report_topic).message);
  }
}

void MqttIngest::Impl::stop() {
  if (!connection.is_running()) {
    return;
  }
  {
    std::lock_guard lock(stop_mutex);
    stopping = true;
    stop_deadline = SteadyClock::now() + kStopGrace;
  }
  stop_requested.notify_all();
  // Waits for callbacks in progress, so a held delivery must give up on its own: deliver() does
  // after kStopGrace.
  connection.stop();
  subscribed = false;
  core::log_info(kComponent, "stopped");
}

MqttIngest::MqttIngest(const config::MqttConfig& config, ingest::IngestSink& sink,
                       const core::Clock& clock, MqttSources sources)
    : impl_(std::make_unique<Impl>(config, sink, clock, sources)) {}

MqttIngest::~MqttIngest() { stop(); }

core::Status MqttIngest::start() { return impl_->start(); }

void MqttIngest::stop() { impl_->stop(); }

bool MqttIngest::is_connected() const {
  return impl_->connection.is_connected() && impl_->subscribed;
}

const MqttCounters& MqttIngest::counters() const { return *impl_->counters; }

std::vector<std::pair<std::string, std::uint64_t>> MqttIngest::rejections_by_reason() const {
  std::lock_guard lock(impl_->reasons_mutex);
  return {impl_->reasons.begin(), impl_->reasons.end()};
}

}  // namespace databroker::mqtt
