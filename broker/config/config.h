// The broker's configuration: one YAML file, validated whole at start.
//
// Every key has a default (see deploy/databroker.example.yaml, which documents each one). A few
// settings an operator changes per host can be overridden from the environment:
// DATABROKER_HTTP_LISTEN (host:port), DATABROKER_MQTT_URI, DATABROKER_DATA_DIR. Secrets never
// come from the command line: the MQTT password comes from DATABROKER_MQTT_PASSWORD or from the
// file named by `mqtt.password_file`.
//
// Loading reports every problem at once as `file:line: reason`, so an operator fixes a file in
// one pass. Plain values; build once at start and share as const.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/access/identity.h"
#include "broker/core/ingest_source.h"
#include "broker/core/kinds.h"
#include "broker/core/result.h"
#include "broker/ingest/validation.h"
#include "broker/log/reading_log.h"
#include "broker/registry/sensor_registry.h"

namespace databroker::config {

using Millis = std::chrono::milliseconds;

struct HttpConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port (tests)
  int threads = 2;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  Millis header_timeout{10'000};
  Millis body_timeout{30'000};
  Millis idle_timeout{60'000};
  std::size_t max_connections = 1024;
  std::size_t max_page_limit = 1000;  // cap on `limit` for history and feed reads
  Millis sse_heartbeat{15'000};       // an SSE comment after this long without an event
};

// Republishing readings to the MQTT broker (adapters/mqtt/republisher.h): open data to
// `{open_prefix}/{kind}/{sensor_id}` through the open view, and, for each profile in `partners`,
// the streams granted to it to `{shared_prefix}/{profile}/{kind}/{sensor_id}` through its grant's
// view. Off by default: it writes to the city's MQTT broker, whose ACLs (not databroker) decide
// who may read those topics, so the operator turns it on once they are in place.
struct RepublishConfig {
  bool enabled = false;
  std::string client_id;  // empty: `{mqtt.client_id}-out`
  bool open = true;       // republish open data (with enabled)
  std::string open_prefix = "open";
  std::vector<std::string> partners;  // profile names (declared, not internal)
  std::string shared_prefix = "shared";
  int qos = 1;
  bool retain = false;
  std::size_t max_in_flight = 100;  // unacknowledged publishes per target (open, each partner)
};

struct MqttConfig {
  bool enabled = true;
  std::string uri = "tcp://127.0.0.1:1883";
  std::string client_id = "databroker";
  std::string username;
  std::string password;  // from DATABROKER_MQTT_PASSWORD or password_file, never the file itself
  std::string topic_prefix = "sensors";
  int qos = 1;
  Millis keepalive{30'000};
  Millis reconnect_min{250};
  Millis reconnect_max{5'000};
  std::string error_topic_prefix;    // e.g. "databroker/errors"; empty = no error reports
  Millis backpressure_wait{30'000};  // how long a delivery may wait for room in the ingest queue
  // Uses uri, username, password, keepalive and the reconnect backoff above; independent of
  // `enabled` (ingest), so a broker that ingests over HTTP only can still republish.
  RepublishConfig republish;
};

struct StorageConfig {
  std::string data_dir = "./data";
  log::Durability durability = log::Durability::Sync;
  std::optional<Millis> retention;  // none = keep forever
  std::size_t queue_capacity_readings = 100'000;
  std::size_t max_commit_readings = 10'000;
  // Writes stop (503, MQTT backpressure) while the data directory's file system has less free
  // space than this, and resume by themselves once it has more (broker/log/reading_log.h).
  std::uint64_t min_free_mb = 128;
};

struct IngestConfig {
  ingest::ValidationRules rules;
  bool strict_sensors = false;  // reject readings of sensors not declared in sensors_file
  // Optional YAML list of sensors; written relative to the config file, held here resolved
  // against its folder. Its sensors are loaded into Config::sensors.
  std::string sensors_file;
  // Declared sources of SenML, The Things Stack and ChirpStack payloads (and native ones on
  // other topics): MQTT topics besides {mqtt.topic_prefix}/+/+, and POST /v1/ingest/{name}.
  // Checked whole: no two MQTT filters overlap, every mapping targets a measurement of the kind.
  std::vector<core::IngestSource> sources;
};

enum class LogFormat { Text, Json };

struct LoggingConfig {
  std::string level = "info";  // debug, info, warn, error
  LogFormat format = LogFormat::Text;
};

// Partner webhooks (adapters/webhook): how batches are sent and when a failing one pauses.
struct WebhookConfig {
  bool enabled = true;
  std::size_t max_webhooks = 100;            // registrations at most
  std::size_t batch_size = 100;              // events per POST (1..1000)
  std::size_t max_body_bytes = 1024 * 1024;  // a batch is cut before it grows past this
  Millis request_timeout{10'000};            // connect, send and answer, in all
  Millis backoff_min{1'000};                 // the first retry waits this long
  Millis backoff_max{300'000};               // retries wait at most this long
  Millis pause_after{86'400'000};            // failing this long pauses the webhook
  // PEM CAs for https receivers (resolved against the config file's folder); empty: the
  // system's trust store.
  std::string ca_file;
};

struct Config {
  std::string source;  // the file it came from, for messages
  HttpConfig http;
  MqttConfig mqtt;
  StorageConfig storage;
  IngestConfig ingest;
  LoggingConfig logging;
  WebhookConfig webhooks;
  std::vector<core::SensorKind> extra_kinds;  // added to (or replacing) the built-in kinds
  std::vector<access::Profile> profiles;      // `public` is implicit
  std::vector<registry::SensorInfo> sensors;  // from ingest.sensors_file, when set
  // The policy document (resolved against the config file's folder; DATABROKER_POLICY_FILE
  // overrides it). Empty: no policy, so only internal profiles read anything (default closed).
  std::string policy_file;
};

// One problem found while loading: where and why.
struct ConfigProblem {
  std::string file;  // the config file, the sensors file, or "environment" for a variable
  int line = 0;      // 1-based; 0 when the problem has no place (e.g. an environment variable)
  std::string reason;

  std::string to_string() const;  // "file:line: reason"
};

using Environment = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment (getenv).
Environment process_environment();

// Parses and validates a configuration document. `file` names it in problems and anchors
// relative paths (sensors_file, password_file). Returns every problem found, not just the first.
// Unknown keys are problems too: a typo must not silently fall back to a default.
tl::expected<Config, std::vector<ConfigProblem>> parse_config(std::string_view yaml_text,
                                                              std::string_view file,
                                                              const Environment& env);

// Reads `path` and parses it; a missing or unreadable file is a problem at line 0.
tl::expected<Config, std::vector<ConfigProblem>> load_config(const std::string& path,
                                                             const Environment& env);

// Parses a duration: "250ms", "30s", "15m", "12h", "90d"; a bare integer is seconds.
std::optional<Millis> parse_duration(std::string_view text);

}  // namespace databroker::config
