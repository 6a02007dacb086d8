#include "broker/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <tuple>
#include <type_traits>
#include <utility>

#include "broker/core/logging.h"
#include "broker/core/text.h"
#include "broker/core/units.h"
#include "policies/yaml_document.h"

namespace databroker::config {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kEnvironmentFile = "environment";
constexpr std::string_view kEnvHttpListen = "DATABROKER_HTTP_LISTEN";
constexpr std::string_view kEnvMqttUri = "DATABROKER_MQTT_URI";
constexpr std::string_view kEnvDataDir = "DATABROKER_DATA_DIR";
constexpr std::string_view kEnvPolicyFile = "DATABROKER_POLICY_FILE";
constexpr std::string_view kEnvMqttPassword = "DATABROKER_MQTT_PASSWORD";

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

// yaml-cpp tags a quoted scalar "!" and a plain one "?". Numbers and booleans must be plain:
// `port: "8080"` is a string in YAML, and accepting it would hide a templating mistake.
bool is_plain_scalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() != "!"; }

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) {
    return "nothing";
  }
  if (node.IsMap()) {
    return "a map";
  }
  if (node.IsSequence()) {
    return "a list";
  }
  if (!is_plain_scalar(node)) {
    return "the string \"" + node.Scalar() + "\"";
  }
  return "'" + node.Scalar() + "'";
}

struct FileText {
  std::string text;
  std::string error;  // empty when the file was read
};

// The files a configuration names (sensors, password) are small; a device or a pipe there
// (/dev/zero, a FIFO) would hang the start, so only regular files of bounded size are read.
constexpr std::uintmax_t kMaxReferencedFileBytes = 64ull << 20;

FileText read_text_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return {"", "is a directory"};
  }
  if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
    return {"", "is not a regular file"};
  }
  if (const auto size = fs::file_size(path, ec); !ec && size > kMaxReferencedFileBytes) {
    return {"", "is larger than 64 MiB"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return {"", std::strerror(errno)};
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return {"", "read failed"};
  }
  return {buffer.str(), ""};
}

// Relative paths in the configuration are anchored at the configuration file's folder, so the
// broker finds its files whatever the working directory of the service manager.
std::string resolve_relative(std::string_view config_file, const std::string& path) {
  fs::path p(path);
  if (p.is_absolute()) {
    return p.lexically_normal().string();
  }
  return (fs::path(config_file).parent_path() / p).lexically_normal().string();
}

struct Field {
  YAML::Node value;
  int line = 0;  // the line of the key: a value that is empty or a block starts elsewhere
};

// The entries of one YAML map, checked against the keys its section knows.
class Fields {
 public:
  Fields(std::string path, int line) : path_(std::move(path)), line_(line) {}

  const Field* find(std::string_view key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  int line() const { return line_; }
  const std::string& path() const { return path_; }
  std::string path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  void insert(std::string key, Field field) { entries_.emplace(std::move(key), std::move(field)); }

 private:
  std::string path_;
  int line_;
  std::map<std::string, Field, std::less<>> entries_;
};

struct RejectedKey {
  std::string_view key;
  std::string_view reason;
};

// Reads values out of one YAML document and records every problem with this document's name.
// Every reader leaves its output untouched when the value is absent or wrong, so a problem never
// also produces a half-set value.
class DocumentReader {
 public:
  DocumentReader(std::string file, std::vector<ConfigProblem>& problems)
      : file_(std::move(file)), problems_(problems) {}

  const std::string& file() const { return file_; }

  void report(int line, std::string reason) {
    problems_.push_back(ConfigProblem{file_, line, std::move(reason)});
  }

  // The entries of a map, after reporting unknown, rejected and duplicate keys. Nothing when
  // `node` is not a map (reported); an empty Fields for an empty value (`http:` alone).
  std::optional<Fields> fields(const YAML::Node& node, int line, const std::string& path,
                               std::span<const std::string_view> known,
                               std::span<const RejectedKey> rejected = {}) {
    Fields out(path, line);
    if (node.IsNull()) {
      return out;
    }
    if (!node.IsMap()) {
      report(line, (path.empty() ? std::string("the document") : path) + ": expected a map, got " +
                       describe(node));
      return std::nullopt;
    }
    std::map<std::string, int, std::less<>> first_line;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      const int key_line = line_of(key);
      if (!key.IsScalar() || key.Scalar().empty()) {
        report(key_line, prefix(path) + "keys must be names, got " + describe(key));
        continue;
      }
      const std::string name = key.Scalar();
      auto [it, fresh] = first_line.emplace(name, key_line);
      if (!fresh) {
        report(key_line, out.path(name) + ": duplicate key (first on line " +
                             std::to_string(it->second) + ")");
        continue;
      }
      auto reject = std::find_if(rejected.begin(), rejected.end(),
                                 [&](const RejectedKey& r) { return r.key == name; });
      if (reject != rejected.end()) {
        report(key_line, out.path(name) + ": " + std::string(reject->reason));
        continue;
      }
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        report(key_line, unknown_key(path, name, known));
        continue;
      }
      out.insert(name, Field{entry.second, key_line});
    }
    return out;
  }

  // The nested map under `key`, when present and a map.
  std::optional<Fields> section(const Fields& parent, std::string_view key,
                                std::span<const std::string_view> known,
                                std::span<const RejectedKey> rejected = {}) {
    const Field* field = parent.find(key);
    if (!field) {
      return Fields(parent.path(key), parent.line());
    }
    return fields(field->value, field->line, parent.path(key), known, rejected);
  }

  // A string; an empty value (`key:` alone) reads as "".
  bool read_string(const Fields& fields, std::string_view key, std::string& out) {
    const Field* field = fields.find(key);
    if (!field) {
      return false;
    }
    if (field->value.IsNull()) {
      out.clear();
      return true;
    }
    if (!field->value.IsScalar()) {
      report(field->line, fields.path(key) + ": expected a string, got " + describe(field->value));
      return false;
    }
    out = field->value.Scalar();
    return true;
  }

  // A string that must not be empty.
  bool read_required_string(const Fields& fields, std::string_view key, std::string& out) {
    std::string value;
    if (!fields.contains(key)) {
      report(fields.line(), fields.path(key) + ": is required");
      return false;
    }
    if (!read_string(fields, key, value)) {
      return false;
    }
    if (value.empty()) {
      report(fields.find(key)->line, fields.path(key) + ": must not be empty");
      return false;
    }
    out = std::move(value);
    return true;
  }

  bool read_bool(const Fields& fields, std::string_view key, bool& out) {
    const Field* field = fields.find(key);
    if (!field) {
      return false;
    }
    std::optional<bool> value;
    if (is_plain_scalar(field->value)) {
      value = core::parse_strict_bool(field->value.Scalar());
    }
    if (!value) {
      report(field->line,
             fields.path(key) + ": expected true or false, got " + describe(field->value));
      return false;
    }
    out = *value;
    return true;
  }

  // An integer in [min, max]; `max` absent means no upper bound.
  template <class Int>
  bool read_integer(const Fields& fields, std::string_view key, long long min,
                    std::optional<long long> max, Int& out) {
    const Field* field = fields.find(key);
    if (!field) {
      return false;
    }
    std::optional<long long> value;
    if (is_plain_scalar(field->value)) {
      value = core::parse_integer(field->value.Scalar());
    }
    if (!value) {
      report(field->line,
             fields.path(key) + ": expected an integer, got " + describe(field->value));
      return false;
    }
    if (*value < min || (max && *value > *max)) {
      std::string range = max ? std::to_string(min) + " to " + std::to_string(*max)
                              : "at least " + std::to_string(min);
      report(field->line,
             fields.path(key) + ": " + std::to_string(*value) + " is out of range (" + range + ")");
      return false;
    }
    out = static_cast<Int>(*value);
    return true;
  }

  // A count or a size in bytes: an integer above zero.
  bool read_size(const Fields& fields, std::string_view key, std::size_t& out) {
    return read_integer(fields, key, 1, std::nullopt, out);
  }

  bool read_number(const Fields& fields, std::string_view key, std::optional<double>& out) {
    const Field* field = fields.find(key);
    if (!field) {
      return false;
    }
    std::optional<double> value;
    if (is_plain_scalar(field->value)) {
      value = core::parse_finite_number(field->value.Scalar());
    }
    if (!value) {
      report(field->line,
             fields.path(key) + ": expected a finite number, got " + describe(field->value));
      return false;
    }
    out = value;
    return true;
  }

  // A number in [min, max].
  bool read_number_in(const Fields& fields, std::string_view key, double min, double max,
                      std::optional<double>& out) {
    std::optional<double> value;
    if (!read_number(fields, key, value)) {
      return false;
    }
    if (*value < min || *value > max) {
      std::ostringstream reason;
      reason << fields.path(key) << ": " << *value << " is out of range (" << min << " to " << max
             << ")";
      report(fields.find(key)->line, reason.str());
      return false;
    }
    out = value;
    return true;
  }

  // A duration of at least `min` (and at most `max`, when given).
  bool read_duration(const Fields& fields, std::string_view key, Millis min, Millis& out,
                     std::optional<Millis> max = std::nullopt) {
    const Field* field = fields.find(key);
    if (!field) {
      return false;
    }
    std::optional<Millis> value;
    if (field->value.IsScalar()) {
      value = parse_duration(field->value.Scalar());
    }
    if (!value) {
      report(field->line, fields.path(key) +
                              ": expected a duration such as 250ms, 30s, 15m, 12h or 90d, got " +
                              describe(field->value));
      return false;
    }
    if (*value < min || (max && *value > *max)) {
      std::string range = max ? " (" + format_duration(min) + " to " + format_duration(*max) + ")"
                              : " (at least " + format_duration(min) + ")";
      report(field->line,
             fields.path(key) + ": " + field->value.Scalar() + " is out of range" + range);
      return false;
    }
    out = *value;
    return true;
  }

  // One of a closed set of words.
  template <class Enum>
  bool read_choice(const Fields& fields, std::string_view key,
                   std::type_identity_t<std::span<const std::pair<std::string_view, Enum>>> choices,
                   Enum& out) {
    const Field* field = fields.find(key);
    if (!field) {
      return false;
    }
    if (field->value.IsScalar()) {
      for (const auto& [word, value] : choices) {
        if (field->value.Scalar() == word) {
          out = value;
          return true;
        }
      }
    }
    std::vector<std::string_view> words;
    for (const auto& choice : choices) {
      words.push_back(choice.first);
    }
    report(field->line, fields.path(key) + ": expected one of " + core::join(words) + ", got " +
                            describe(field->value));
    return false;
  }

  static std::string format_duration(Millis d) {
    const auto ms = d.count();
    if (ms != 0 && ms % 86'400'000 == 0) {
      return std::to_string(ms / 86'400'000) + "d";
    }
    if (ms != 0 && ms % 3'600'000 == 0) {
      return std::to_string(ms / 3'600'000) + "h";
    }
    if (ms != 0 && ms % 60'000 == 0) {
      return std::to_string(ms / 60'000) + "m";
    }
    if (ms % 1000 == 0) {
      return std::to_string(ms / 1000) + "s";
    }
    return std::to_string(ms) + "ms";
  }

 private:
  static std::string prefix(const std::string& path) { return path.empty() ? "" : path + ": "; }

  static std::string unknown_key(const std::string& path, const std::string& name,
                                 std::span<const std::string_view> known) {
    std::string where = path.empty() ? "" : " in " + path;
    if (auto meant = core::closest_word(name, known)) {
      return "unknown key '" + name + "'" + where + " (did you mean '" + std::string(*meant) +
             "'?)";
    }
    return "unknown key '" + name + "'" + where + " (known keys: " + core::join(known) + ")";
  }

  std::string file_;
  std::vector<ConfigProblem>& problems_;
};

// Loads one YAML document (policies/yaml_document.h: never YAML::LoadAll); a syntax error becomes
// a problem with its line.
std::optional<YAML::Node> load_document(std::string_view text, DocumentReader& reader) {
  try {
    policies::YamlDocument document = policies::load_yaml_document(text);
    if (document.second_document_line > 0) {
      reader.report(document.second_document_line, "expected one YAML document, found more");
    }
    return document.root;
  } catch (const YAML::Exception& e) {
    reader.report(e.mark.is_null() ? 0 : e.mark.line + 1, "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
}

constexpr std::string_view kTopKeys[] = {"http",  "mqtt",     "storage",     "ingest",  "logging",
                                         "kinds", "profiles", "policy_file", "webhooks"};
constexpr std::string_view kHttpKeys[] = {
    "host",           "port",         "threads",      "max_header_bytes", "max_body_bytes",
    "header_timeout", "body_timeout", "idle_timeout", "max_connections",  "max_page_limit",
    "sse_heartbeat"};
constexpr std::string_view kMqttKeys[] = {"enabled",
                                          "uri",
                                          "client_id",
                                          "username",
                                          "password_file",
                                          "topic_prefix",
                                          "qos",
                                          "keepalive",
                                          "reconnect_min",
                                          "reconnect_max",
                                          "error_topic_prefix",
                                          "backpressure_wait",
                                          "republish"};
constexpr std::string_view kRepublishKeys[] = {"enabled",     "client_id", "open",
                                               "open_prefix", "partners",  "shared_prefix",
                                               "qos",         "retain",    "max_in_flight"};
constexpr RejectedKey kMqttRejected[] = {
    {"password",
     "secrets do not belong in the configuration file; set DATABROKER_MQTT_PASSWORD or name a "
     "file only the broker can read in mqtt.password_file"}};
constexpr std::string_view kStorageKeys[] = {
    "data_dir",   "durability", "retention", "queue_capacity_readings", "max_commit_readings",
    "min_free_mb"};
constexpr std::string_view kIngestKeys[] = {"unknown_measurements", "max_future_skew",
                                            "strict_sensors", "sensors_file", "sources"};
constexpr std::string_view kSourceKeys[] = {"name", "format",    "mqtt_topic", "http",
                                            "kind", "sensor_id", "mapping"};
constexpr std::string_view kMappingKeys[] = {"from",  "to",     "unit",
                                             "scale", "offset", "fill_from_distance"};
constexpr std::string_view kFillKeys[] = {"bin_depth_mm", "blind_zone_mm", "bin_depth_tag"};
constexpr std::pair<std::string_view, core::SourceFormat> kSourceFormats[] = {
    {"native", core::SourceFormat::Native},
    {"senml", core::SourceFormat::Senml},
    {"tts", core::SourceFormat::Tts},
    {"chirpstack", core::SourceFormat::ChirpStack}};
constexpr std::pair<std::string_view, core::SensorIdRule> kSensorIdRules[] = {
    {"device_id", core::SensorIdRule::DeviceId}, {"dev_eui", core::SensorIdRule::DevEui}};
constexpr std::string_view kLoggingKeys[] = {"level", "format"};
constexpr std::string_view kWebhookKeys[] = {"enabled",        "max_webhooks",    "batch_size",
                                             "max_body_bytes", "request_timeout", "backoff_min",
                                             "backoff_max",    "pause_after",     "ca_file"};
constexpr std::string_view kKindKeys[] = {"name", "description", "measurements"};
constexpr std::string_view kMeasurementKeys[] = {"name", "unit", "type", "min", "max"};
constexpr std::string_view kProfileKeys[] = {"ingest", "internal", "admin", "description",
                                             "rate_limit"};
constexpr std::string_view kRateLimitKeys[] = {"requests_per_second", "burst"};
constexpr std::string_view kSensorKeys[] = {"id",   "kind", "name",  "location",
                                            "zone", "tags", "owner", "steward"};
constexpr std::string_view kLocationKeys[] = {"lat", "lon", "alt"};

constexpr std::pair<std::string_view, log::Durability> kDurabilities[] = {
    {"sync", log::Durability::Sync}, {"buffered", log::Durability::Buffered}};
constexpr std::pair<std::string_view, ingest::UnknownMeasurements> kUnknownMeasurements[] = {
    {"keep", ingest::UnknownMeasurements::Keep}, {"reject", ingest::UnknownMeasurements::Reject}};
constexpr std::pair<std::string_view, LogFormat> kLogFormats[] = {{"text", LogFormat::Text},
                                                                  {"json", LogFormat::Json}};
constexpr std::pair<std::string_view, core::ValueType> kValueTypes[] = {
    {"number", core::ValueType::Number},
    {"integer", core::ValueType::Integer},
    {"boolean", core::ValueType::Boolean}};

// Problems of a host name or address as written in http.host or DATABROKER_HTTP_LISTEN.
std::optional<std::string> check_host(std::string_view host) {
  if (host.empty()) {
    return "the host is empty";
  }
  for (char c : host) {
    if (c == '[' || c == ']' || c == '/' || c == ' ' || c == '\t' || c == '@') {
      return "'" + std::string(host) + "' is not a host name or IP address";
    }
  }
  return std::nullopt;
}

// Paho's URI schemes; anything else fails at connect time, long after start.
std::optional<std::string> check_mqtt_uri(std::string_view uri) {
  constexpr std::string_view kSchemes[] = {"tcp", "ssl", "mqtt", "mqtts", "ws", "wss"};
  const auto sep = uri.find("://");
  const std::string_view scheme = sep == std::string_view::npos ? "" : uri.substr(0, sep);
  if (std::find(std::begin(kSchemes), std::end(kSchemes), scheme) == std::end(kSchemes)) {
    return "'" + std::string(uri) + "' is not an MQTT URI (expected " + core::join(kSchemes) +
           "://host[:port])";
  }
  const std::string_view rest = uri.substr(sep + 3);
  if (rest.empty() || rest.front() == ':' || rest.front() == '/') {
    return "'" + std::string(uri) + "' names no host";
  }
  return std::nullopt;
}

// MQTT topic names must not carry wildcards or empty levels at the edges.
std::optional<std::string> check_topic_prefix(std::string_view prefix) {
  if (prefix.find_first_of("+#") != std::string_view::npos) {
    return "'" + std::string(prefix) + "' contains an MQTT wildcard (+ or #)";
  }
  if (!prefix.empty() && (prefix.front() == '/' || prefix.back() == '/')) {
    return "'" + std::string(prefix) + "' must not start or end with '/'";
  }
  return std::nullopt;
}

void parse_http(DocumentReader& r, const Fields& top, HttpConfig& http) {
  auto f = r.section(top, "http", kHttpKeys);
  if (!f) {
    return;
  }
  std::string host;
  if (r.read_string(*f, "host", host)) {
    if (auto problem = check_host(host)) {
      r.report(f->find("host")->line, "http.host: " + *problem);
    } else {
      http.host = host;
    }
  }
  r.read_integer(*f, "port", 0, 65535, http.port);
  r.read_integer(*f, "threads", 1, 64, http.threads);
  r.read_size(*f, "max_header_bytes", http.max_header_bytes);
  r.read_size(*f, "max_body_bytes", http.max_body_bytes);
  r.read_duration(*f, "header_timeout", Millis(1), http.header_timeout);
  r.read_duration(*f, "body_timeout", Millis(1), http.body_timeout);
  r.read_duration(*f, "idle_timeout", Millis(1), http.idle_timeout);
  r.read_size(*f, "max_connections", http.max_connections);
  r.read_size(*f, "max_page_limit", http.max_page_limit);
  r.read_duration(*f, "sse_heartbeat", Millis(1), http.sse_heartbeat);
}

// Two topic prefixes overlap when one is the other or a whole-level prefix of it ("a" and
// "a/b"): republished topics could then land under the ingest subscription and be read back in.
bool prefixes_overlap(std::string_view a, std::string_view b) {
  const auto covers = [](std::string_view outer, std::string_view inner) {
    return inner.size() > outer.size() && inner.substr(0, outer.size()) == outer &&
           inner[outer.size()] == '/';
  };
  return a == b || covers(a, b) || covers(b, a);
}

// The partner profiles named in mqtt.republish.partners, with their lines, checked against the
// declared profiles once those are read.
using PartnerLines = std::vector<std::pair<std::string, int>>;

void parse_republish(DocumentReader& r, const Fields& mqtt_fields, const MqttConfig& mqtt,
                     RepublishConfig& out, PartnerLines& partner_lines) {
  auto f = r.section(mqtt_fields, "republish", kRepublishKeys);
  if (!f) {
    return;
  }
  r.read_bool(*f, "enabled", out.enabled);
  std::string text;
  if (r.read_string(*f, "client_id", text)) {
    out.client_id = text;
  }
  // Two connections with one client id take the session from each other, over and over.
  const std::string effective_id = out.client_id.empty() ? mqtt.client_id + "-out" : out.client_id;
  if (effective_id == mqtt.client_id) {
    r.report(f->find("client_id")->line,
             "mqtt.republish.client_id: must differ from mqtt.client_id ('" + mqtt.client_id +
                 "'); leave it empty for '" + mqtt.client_id + "-out'");
  }
  r.read_bool(*f, "open", out.open);
  for (auto [key, target] : {std::pair{"open_prefix", &out.open_prefix},
                             std::pair{"shared_prefix", &out.shared_prefix}}) {
    if (!r.read_string(*f, key, text)) {
      continue;
    }
    auto problem =
        text.empty() ? std::optional<std::string>("must not be empty") : check_topic_prefix(text);
    if (problem) {
      r.report(f->find(key)->line, f->path(key) + ": " + *problem);
    } else {
      *target = text;
    }
  }
  if (const Field* partners = f->find("partners"); partners && !partners->value.IsNull()) {
    if (!partners->value.IsSequence()) {
      r.report(partners->line, "mqtt.republish.partners: expected a list of profile names, got " +
                                   describe(partners->value));
    } else {
      std::set<std::string, std::less<>> seen;
      for (const auto& entry : partners->value) {
        const int line = line_of(entry) ? line_of(entry) : partners->line;
        if (!entry.IsScalar() || entry.Scalar().empty()) {
          r.report(line,
                   "mqtt.republish.partners: expected a profile name, got " + describe(entry));
          continue;
        }
        if (!seen.insert(entry.Scalar()).second) {
          r.report(line, "mqtt.republish.partners: '" + entry.Scalar() + "' is listed twice");
          continue;
        }
        partner_lines.emplace_back(entry.Scalar(), line);
        out.partners.push_back(entry.Scalar());
      }
    }
  }
  r.read_integer(*f, "qos", 0, 2, out.qos);
  r.read_bool(*f, "retain", out.retain);
  // Paho counts in-flight messages in 16 bits.
  r.read_integer(*f, "max_in_flight", 1, 65535, out.max_in_flight);

  if (!out.enabled) {
    return;
  }
  const auto line_of_key = [&](std::string_view key) {
    const Field* field = f->find(key);
    return field ? field->line : f->line();
  };
  if (out.open && prefixes_overlap(out.open_prefix, mqtt.topic_prefix)) {
    r.report(line_of_key("open_prefix"), "mqtt.republish.open_prefix: '" + out.open_prefix +
                                             "' overlaps mqtt.topic_prefix '" + mqtt.topic_prefix +
                                             "': republished readings would be ingested again");
  }
  if (!out.partners.empty() && prefixes_overlap(out.shared_prefix, mqtt.topic_prefix)) {
    r.report(line_of_key("shared_prefix"), "mqtt.republish.shared_prefix: '" + out.shared_prefix +
                                               "' overlaps mqtt.topic_prefix '" +
                                               mqtt.topic_prefix +
                                               "': republished readings would be ingested again");
  }
  if (out.open && !out.partners.empty() && prefixes_overlap(out.open_prefix, out.shared_prefix)) {
    r.report(line_of_key("shared_prefix"),
             "mqtt.republish.shared_prefix: '" + out.shared_prefix + "' overlaps open_prefix '" +
                 out.open_prefix + "': a partner's ACL would cover open topics or the reverse");
  }
}

// A partner must be a declared profile without the internal right: internal profiles see every
// stream raw and hold no grants, and `public` is what open_prefix is for.
void check_republish_partners(DocumentReader& r, const PartnerLines& partners,
                              const std::vector<access::Profile>& profiles) {
  for (const auto& [name, line] : partners) {
    // Named, not captured: clang 14 (the fuzz build) cannot capture a structured binding.
    const std::string& partner = name;
    auto it = std::find_if(profiles.begin(), profiles.end(),
                           [&partner](const access::Profile& p) { return p.name == partner; });
    if (name == access::kPublicProfile) {
      r.report(line,
               "mqtt.republish.partners: 'public' holds no grants; open data goes to "
               "open_prefix");
    } else if (it == profiles.end()) {
      r.report(line, "mqtt.republish.partners: '" + name + "' is not a declared profile");
    } else if (it->internal) {
      r.report(line, "mqtt.republish.partners: '" + name +
                         "' is internal (it sees everything raw and holds no grants); only "
                         "partner profiles can be republished");
    }
  }
}

// Returns the resolved password file, if one is named.
std::optional<std::pair<std::string, int>> parse_mqtt(DocumentReader& r, const Fields& top,
                                                      MqttConfig& mqtt,
                                                      PartnerLines& partner_lines) {
  auto f = r.section(top, "mqtt", kMqttKeys, kMqttRejected);
  if (!f) {
    return std::nullopt;
  }
  r.read_bool(*f, "enabled", mqtt.enabled);
  std::string text;
  if (r.read_string(*f, "uri", text)) {
    if (auto problem = check_mqtt_uri(text)) {
      r.report(f->find("uri")->line, "mqtt.uri: " + *problem);
    } else {
      mqtt.uri = text;
    }
  }
  if (r.read_string(*f, "client_id", text)) {
    // An empty client id asks the broker for a random one, which cannot hold the persistent
    // session the broker relies on to keep readings published while it is down.
    if (text.empty()) {
      r.report(f->find("client_id")->line,
               "mqtt.client_id: must not be empty (a persistent session needs a stable id)");
    } else {
      mqtt.client_id = text;
    }
  }
  r.read_string(*f, "username", mqtt.username);
  if (r.read_string(*f, "topic_prefix", text)) {
    auto problem =
        text.empty() ? std::optional<std::string>("must not be empty") : check_topic_prefix(text);
    if (problem) {
      r.report(f->find("topic_prefix")->line, "mqtt.topic_prefix: " + *problem);
    } else {
      mqtt.topic_prefix = text;
    }
  }
  r.read_integer(*f, "qos", 0, 2, mqtt.qos);
  // MQTT carries the keep-alive as whole seconds in 16 bits.
  r.read_duration(*f, "keepalive", Millis(1000), mqtt.keepalive, Millis(65'535'000));
  r.read_duration(*f, "reconnect_min", Millis(1), mqtt.reconnect_min);
  r.read_duration(*f, "reconnect_max", Millis(1), mqtt.reconnect_max);
  if (mqtt.reconnect_min > mqtt.reconnect_max) {
    const Field* at = f->find("reconnect_max");
    if (!at) {
      at = f->find("reconnect_min");
    }
    r.report(at ? at->line : f->line(),
             "mqtt.reconnect_min (" + DocumentReader::format_duration(mqtt.reconnect_min) +
                 ") must not exceed mqtt.reconnect_max (" +
                 DocumentReader::format_duration(mqtt.reconnect_max) + ")");
  }
  if (r.read_string(*f, "error_topic_prefix", text)) {
    if (auto problem = check_topic_prefix(text)) {
      r.report(f->find("error_topic_prefix")->line, "mqtt.error_topic_prefix: " + *problem);
    } else {
      mqtt.error_topic_prefix = text;
    }
  }
  r.read_duration(*f, "backpressure_wait", Millis(0), mqtt.backpressure_wait);
  parse_republish(r, *f, mqtt, mqtt.republish, partner_lines);
  if (r.read_string(*f, "password_file", text) && !text.empty()) {
    return std::pair{resolve_relative(r.file(), text), f->find("password_file")->line};
  }
  return std::nullopt;
}

void parse_storage(DocumentReader& r, const Fields& top, StorageConfig& storage) {
  auto f = r.section(top, "storage", kStorageKeys);
  if (!f) {
    return;
  }
  std::string text;
  if (r.read_string(*f, "data_dir", text)) {
    if (text.empty()) {
      r.report(f->find("data_dir")->line, "storage.data_dir: must not be empty");
    } else {
      storage.data_dir = text;
    }
  }
  r.read_choice(*f, "durability", kDurabilities, storage.durability);
  if (const Field* retention = f->find("retention")) {
    if (retention->value.IsNull() ||
        (retention->value.IsScalar() && retention->value.Scalar() == "forever")) {
      storage.retention.reset();
    } else {
      Millis value{};
      if (r.read_duration(*f, "retention", Millis(1), value)) {
        storage.retention = value;
      }
    }
  }
  r.read_size(*f, "queue_capacity_readings", storage.queue_capacity_readings);
  r.read_size(*f, "max_commit_readings", storage.max_commit_readings);
  r.read_integer(*f, "min_free_mb", 0, 1'000'000, storage.min_free_mb);
}

// Returns the sensors file as written and its line, if one is named; `sources` gets the
// ingest.sources entry, read once the kinds are known.
std::optional<std::pair<std::string, int>> parse_ingest(DocumentReader& r, const Fields& top,
                                                        IngestConfig& ingest,
                                                        std::optional<Field>& sources) {
  auto f = r.section(top, "ingest", kIngestKeys);
  if (!f) {
    return std::nullopt;
  }
  if (const Field* field = f->find("sources")) {
    sources = *field;
  }
  r.read_choice(*f, "unknown_measurements", kUnknownMeasurements,
                ingest.rules.unknown_measurements);
  Millis skew(ingest.rules.max_future_skew_ms);
  if (r.read_duration(*f, "max_future_skew", Millis(0), skew)) {
    ingest.rules.max_future_skew_ms = skew.count();
  }
  r.read_bool(*f, "strict_sensors", ingest.strict_sensors);
  std::string text;
  if (r.read_string(*f, "sensors_file", text) && !text.empty()) {
    return std::pair{text, f->find("sensors_file")->line};
  }
  return std::nullopt;
}

void parse_logging(DocumentReader& r, const Fields& top, LoggingConfig& logging) {
  auto f = r.section(top, "logging", kLoggingKeys);
  if (!f) {
    return;
  }
  if (const Field* level = f->find("level")) {
    core::LogLevel parsed{};
    if (level->value.IsScalar() && core::parse_log_level(level->value.Scalar(), parsed)) {
      logging.level = level->value.Scalar() == "warning" ? "warn" : level->value.Scalar();
    } else {
      r.report(level->line, "logging.level: expected one of debug, info, warn, error, got " +
                                describe(level->value));
    }
  }
  r.read_choice(*f, "format", kLogFormats, logging.format);
}

void parse_webhooks(DocumentReader& r, const Fields& top, WebhookConfig& webhooks) {
  auto f = r.section(top, "webhooks", kWebhookKeys);
  if (!f) {
    return;
  }
  r.read_bool(*f, "enabled", webhooks.enabled);
  r.read_integer(*f, "max_webhooks", 1, 10'000, webhooks.max_webhooks);
  r.read_integer(*f, "batch_size", 1, 1000, webhooks.batch_size);
  r.read_integer(*f, "max_body_bytes", 1024, 64 * 1024 * 1024, webhooks.max_body_bytes);
  r.read_duration(*f, "request_timeout", Millis(1), webhooks.request_timeout, Millis(300'000));
  r.read_duration(*f, "backoff_min", Millis(1), webhooks.backoff_min);
  r.read_duration(*f, "backoff_max", Millis(1), webhooks.backoff_max);
  r.read_duration(*f, "pause_after", Millis(0), webhooks.pause_after);
  std::string ca_file;
  if (r.read_string(*f, "ca_file", ca_file) && !ca_file.empty()) {
    webhooks.ca_file = resolve_relative(r.file(), ca_file);
  }
  if (webhooks.backoff_min > webhooks.backoff_max) {
    const Field* at = f->find("backoff_max");
    if (!at) {
      at = f->find("backoff_min");
    }
    r.report(at ? at->line : f->line(),
             "webhooks.backoff_min (" + DocumentReader::format_duration(webhooks.backoff_min) +
                 ") must not exceed webhooks.backoff_max (" +
                 DocumentReader::format_duration(webhooks.backoff_max) + ")");
  }
}

// Reads the `kinds` list. Every declared name lands in `declared`, valid or not, so that sensors
// of a kind with a typo in its schema are not also reported as of an unknown kind.
void parse_kinds(DocumentReader& r, const Fields& top, std::vector<core::SensorKind>& out,
                 std::set<std::string, std::less<>>& declared) {
  const Field* field = top.find("kinds");
  if (!field || field->value.IsNull()) {
    return;
  }
  if (!field->value.IsSequence()) {
    r.report(field->line, "kinds: expected a list of kinds, got " + describe(field->value));
    return;
  }
  std::map<std::string, int, std::less<>> first_line;
  std::size_t index = 0;
  for (const auto& item : field->value) {
    const int line = item.IsNull() ? field->line : line_of(item);
    const std::string path = "kinds[" + std::to_string(index++) + "]";
    auto f = r.fields(item, line, path, kKindKeys);
    if (!f) {
      continue;
    }
    core::SensorKind kind;
    bool valid = r.read_required_string(*f, "name", kind.name);
    if (valid) {
      declared.insert(kind.name);
      const int name_line = f->find("name")->line;
      if (!core::is_valid_kind_name(kind.name)) {
        r.report(name_line, path + ".name: '" + kind.name + "' must match [a-z][a-z0-9_]{0,63}");
        valid = false;
      }
      auto [it, fresh] = first_line.emplace(kind.name, name_line);
      if (!fresh) {
        r.report(name_line, path + ".name: kind '" + kind.name +
                                "' is declared twice (first on line " + std::to_string(it->second) +
                                ")");
        valid = false;
      }
    }
    r.read_string(*f, "description", kind.description);

    const Field* list = f->find("measurements");
    if (!list || list->value.IsNull() || (list->value.IsSequence() && list->value.size() == 0)) {
      r.report(list ? list->line : f->line(), path + ".measurements: a kind needs at least one");
      continue;
    }
    if (!list->value.IsSequence()) {
      r.report(list->line, path + ".measurements: expected a list, got " + describe(list->value));
      continue;
    }
    std::map<std::string, int, std::less<>> measurement_lines;
    std::size_t m_index = 0;
    for (const auto& m_item : list->value) {
      const int m_line = m_item.IsNull() ? list->line : line_of(m_item);
      const std::string m_path = path + ".measurements[" + std::to_string(m_index++) + "]";
      auto m = r.fields(m_item, m_line, m_path, kMeasurementKeys);
      if (!m) {
        valid = false;
        continue;
      }
      core::MeasurementSpec spec;
      if (r.read_required_string(*m, "name", spec.name)) {
        const int name_line = m->find("name")->line;
        if (!core::is_valid_kind_name(spec.name)) {
          r.report(name_line,
                   m_path + ".name: '" + spec.name + "' must match [a-z][a-z0-9_]{0,63}");
          valid = false;
        }
        auto [it, fresh] = measurement_lines.emplace(spec.name, name_line);
        if (!fresh) {
          r.report(name_line, m_path + ".name: measurement '" + spec.name +
                                  "' is declared twice (first on line " +
                                  std::to_string(it->second) + ")");
          valid = false;
        }
      } else {
        valid = false;
      }
      r.read_string(*m, "unit", spec.unit);
      if (m->contains("type") && !r.read_choice(*m, "type", kValueTypes, spec.type)) {
        valid = false;
      }
      if (m->contains("min") && !r.read_number(*m, "min", spec.min)) {
        valid = false;
      }
      if (m->contains("max") && !r.read_number(*m, "max", spec.max)) {
        valid = false;
      }
      if (spec.type == core::ValueType::Boolean && (spec.min || spec.max)) {
        r.report(m->line(), m_path + ": min and max apply to number and integer measurements only");
        valid = false;
      }
      if (spec.min && spec.max && *spec.min > *spec.max) {
        r.report(m->find("min")->line, m_path + ": min is greater than max");
        valid = false;
      }
      kind.measurements.push_back(std::move(spec));
    }
    if (!valid) {
      continue;
    }
    // The catalog's own rules are the last word, so the loader cannot drift from them.
    core::KindCatalog probe;
    if (auto status = probe.add(kind); !status) {
      r.report(f->line(), path + ": " + status.error().message);
      continue;
    }
    out.push_back(std::move(kind));
  }
}

// `rate_limit: {requests_per_second: R, burst: B}` of a profile; burst defaults to one second's
// worth (at least 1). False when it was given and is invalid (reported).
bool parse_rate_limit(DocumentReader& r, const Fields& profile, access::RateLimit& out) {
  if (!profile.find("rate_limit")) return true;
  auto f = r.section(profile, "rate_limit", kRateLimitKeys);
  if (!f) return false;
  std::optional<double> rate;
  std::optional<double> burst;
  const bool rate_ok = r.read_number_in(*f, "requests_per_second", 0.001, 1e9, rate);
  const bool burst_ok = !f->find("burst") || r.read_number_in(*f, "burst", 1, 1e9, burst);
  if (!f->find("requests_per_second")) {
    r.report(f->line(), f->path("requests_per_second") + ": required");
    return false;
  }
  if (!rate_ok || !burst_ok) return false;
  out.requests_per_second = *rate;
  out.burst = burst.value_or(std::max(1.0, *rate));
  return true;
}

void parse_profiles(DocumentReader& r, const Fields& top, std::vector<access::Profile>& out) {
  const Field* field = top.find("profiles");
  if (!field || field->value.IsNull()) {
    return;
  }
  if (!field->value.IsMap()) {
    r.report(field->line,
             "profiles: expected a map of profile names, got " + describe(field->value));
    return;
  }
  std::map<std::string, int, std::less<>> first_line;
  for (const auto& entry : field->value) {
    const int line = line_of(entry.first);
    const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "";
    const std::string path = "profiles." + name;
    auto [it, fresh] = first_line.emplace(name, line);
    if (!fresh) {
      r.report(line, path + ": duplicate key (first on line " + std::to_string(it->second) + ")");
      continue;
    }
    bool valid = true;
    if (!access::is_valid_profile_name(name)) {
      r.report(line, "profiles: '" + name + "' is not a valid profile name ([A-Za-z0-9_-]{1,64})");
      valid = false;
    }
    auto f = r.fields(entry.second, line, path, kProfileKeys);
    if (!f) {
      continue;
    }
    access::Profile profile;
    profile.name = name;
    r.read_bool(*f, "ingest", profile.ingest);
    r.read_bool(*f, "internal", profile.internal);
    r.read_bool(*f, "admin", profile.admin);
    r.read_string(*f, "description", profile.description);
    if (!parse_rate_limit(r, *f, profile.rate_limit)) valid = false;
    if (name == access::kPublicProfile && (profile.ingest || profile.internal || profile.admin)) {
      r.report(line,
               path + ": the public profile is every anonymous caller and can have no rights");
      valid = false;
    }
    if (valid) {
      out.push_back(std::move(profile));
    }
  }
}

// One `mapping` entry of a network-server source; nothing when it is invalid (reported).
std::optional<core::FieldMapping> parse_mapping(DocumentReader& r, const YAML::Node& item, int line,
                                                const std::string& path,
                                                const core::SourceFormat format,
                                                const core::SensorKind* kind) {
  auto f = r.fields(item, line, path, kMappingKeys);
  if (!f) {
    return std::nullopt;
  }
  core::FieldMapping mapping;
  bool valid = r.read_required_string(*f, "from", mapping.from);
  valid = r.read_required_string(*f, "to", mapping.to) && valid;
  r.read_string(*f, "unit", mapping.unit);
  std::optional<double> number;
  if (f->contains("scale") && !r.read_number(*f, "scale", number)) {
    valid = false;
  } else if (number) {
    mapping.scale = *number;
  }
  number.reset();
  if (f->contains("offset") && !r.read_number(*f, "offset", number)) {
    valid = false;
  } else if (number) {
    mapping.offset = *number;
  }
  if (!mapping.from.empty() && (mapping.from.front() == '.' || mapping.from.back() == '.' ||
                                mapping.from.find("..") != std::string::npos)) {
    r.report(f->find("from")->line, path + ".from: '" + mapping.from + "' has an empty step");
    valid = false;
  }
  const core::MeasurementSpec* spec =
      kind && !mapping.to.empty() ? kind->find(mapping.to) : nullptr;
  if (kind && !mapping.to.empty() && !spec) {
    std::vector<std::string_view> names;
    for (const auto& m : kind->measurements) {
      names.push_back(m.name);
    }
    r.report(f->find("to")->line, path + ".to: kind '" + kind->name + "' has no measurement '" +
                                      mapping.to + "' (it has " + core::join(names) + ")");
    valid = false;
  }
  if (!mapping.unit.empty() && !core::find_unit(mapping.unit) &&
      (!spec || spec->unit != mapping.unit)) {
    r.report(f->find("unit")->line, path + ".unit: unknown unit '" + mapping.unit + "'");
    valid = false;
  }
  if (const Field* fill = f->find("fill_from_distance")) {
    auto g = r.fields(fill->value, fill->line, path + ".fill_from_distance", kFillKeys);
    if (!g) {
      return std::nullopt;
    }
    core::FillFromDistance geometry;
    std::optional<double> depth, blind;
    if (r.read_number(*g, "bin_depth_mm", depth)) {
      geometry.bin_depth_mm = *depth;
    } else if (g->contains("bin_depth_mm")) {
      valid = false;
    }
    if (r.read_number(*g, "blind_zone_mm", blind)) {
      geometry.blind_zone_mm = *blind;
    } else if (g->contains("blind_zone_mm")) {
      valid = false;
    }
    r.read_string(*g, "bin_depth_tag", geometry.bin_depth_tag);
    if (geometry.blind_zone_mm < 0 || geometry.bin_depth_mm <= geometry.blind_zone_mm) {
      r.report(fill->line, path +
                               ".fill_from_distance: bin_depth_mm must exceed blind_zone_mm, "
                               "and blind_zone_mm must not be negative");
      valid = false;
    }
    if (!geometry.bin_depth_tag.empty() && format != core::SourceFormat::ChirpStack) {
      r.report(g->find("bin_depth_tag")->line,
               path +
                   ".fill_from_distance.bin_depth_tag: device tags are read from ChirpStack's "
                   "deviceInfo.tags only");
      valid = false;
    }
    if (spec && !core::units_convert("/", spec->unit)) {
      r.report(fill->line, path + ".fill_from_distance: measurement '" + spec->name +
                               "' is not a fraction (its unit is '" + spec->unit + "')");
      valid = false;
    }
    if (!mapping.unit.empty() && !core::units_convert(mapping.unit, "mm")) {
      r.report(f->find("unit")->line,
               path + ".unit: '" + mapping.unit + "' is not a length, as a distance must be");
      valid = false;
    }
    mapping.fill = geometry;
  } else if (spec && !mapping.unit.empty() && core::find_unit(mapping.unit) &&
             !core::units_convert(mapping.unit, spec->unit)) {
    r.report(f->find("unit")->line, path + ".unit: '" + mapping.unit +
                                        "' does not convert to the unit of '" + spec->name +
                                        "' ('" + spec->unit + "')");
    valid = false;
  }
  if (spec && spec->type == core::ValueType::Boolean &&
      (!mapping.unit.empty() || mapping.fill || f->contains("scale") || f->contains("offset"))) {
    r.report(f->line(),
             path + ": '" + spec->name +
                 "' is a boolean: unit, scale, offset and fill_from_distance do not apply");
    valid = false;
  }
  if (!valid) {
    return std::nullopt;
  }
  return mapping;
}

// Source names are URL path segments (POST /v1/ingest/{name}) and metric labels.
bool is_valid_source_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !std::islower(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

void parse_sources(DocumentReader& r, const Field& field, const core::KindCatalog& catalog,
                   const std::set<std::string, std::less<>>& declared_kinds, const MqttConfig& mqtt,
                   std::vector<core::IngestSource>& out) {
  if (field.value.IsNull()) {
    return;
  }
  if (!field.value.IsSequence()) {
    r.report(field.line,
             "ingest.sources: expected a list of sources, got " + describe(field.value));
    return;
  }
  std::map<std::string, int, std::less<>> first_line;
  // The native subscription is a filter like the others: a source under it would be read twice.
  std::vector<std::tuple<std::string, std::string, int>> filters = {
      {mqtt.topic_prefix + "/+/+", "mqtt.topic_prefix", 0}};
  std::size_t index = 0;
  for (const auto& item : field.value) {
    const int line = item.IsNull() ? field.line : line_of(item);
    const std::string path = "ingest.sources[" + std::to_string(index++) + "]";
    auto f = r.fields(item, line, path, kSourceKeys);
    if (!f) {
      continue;
    }
    core::IngestSource source;
    bool valid = r.read_required_string(*f, "name", source.name);
    if (valid) {
      const int name_line = f->find("name")->line;
      if (!is_valid_source_name(source.name)) {
        r.report(name_line, path + ".name: '" + source.name + "' must match [a-z][a-z0-9_-]{0,63}");
        valid = false;
      } else if (auto [it, fresh] = first_line.emplace(source.name, name_line); !fresh) {
        r.report(name_line, path + ".name: source '" + source.name +
                                "' is declared twice (first on line " + std::to_string(it->second) +
                                ")");
        valid = false;
      }
    }
    if (!f->contains("format")) {
      r.report(f->line(), path + ".format: is required (native, senml, tts or chirpstack)");
      valid = false;
    } else if (!r.read_choice(*f, "format", kSourceFormats, source.format)) {
      valid = false;
    }
    const bool network = core::is_network_server(source.format);
    std::string topic;
    if (r.read_string(*f, "mqtt_topic", topic) && !topic.empty()) {
      const int topic_line = f->find("mqtt_topic")->line;
      auto pattern = core::TopicPattern::parse(topic);
      if (!pattern) {
        r.report(topic_line, path + ".mqtt_topic: " + pattern.error().message);
        valid = false;
      } else {
        if (network && pattern->captures_sensor_id()) {
          r.report(topic_line, path + ".mqtt_topic: {sensor_id} does not apply to " +
                                   std::string(core::to_string(source.format)) +
                                   ": the sensor id comes from the envelope (see sensor_id)");
          valid = false;
        } else if (!network && !pattern->captures_sensor_id()) {
          r.report(topic_line, path + ".mqtt_topic: a " +
                                   std::string(core::to_string(source.format)) +
                                   " topic needs a {sensor_id} level");
          valid = false;
        }
        for (const auto& [other, owner, other_line] : filters) {
          if (core::mqtt_filters_overlap(pattern->filter(), other)) {
            r.report(topic_line, path + ".mqtt_topic: '" + pattern->filter() + "' overlaps '" +
                                     other + "' of " + owner +
                                     (other_line > 0 ? " (line " + std::to_string(other_line) + ")"
                                                     : std::string()) +
                                     ": a message would match both");
            valid = false;
          }
        }
        filters.emplace_back(pattern->filter(), path, topic_line);
        source.mqtt_topic = std::move(*pattern);
      }
    }
    r.read_bool(*f, "http", source.http);
    if (!source.mqtt_topic && !source.http && !f->contains("mqtt_topic") && !f->contains("http")) {
      r.report(f->line(), path + ": a source needs an mqtt_topic or http: true");
      valid = false;
    }
    const core::SensorKind* kind = nullptr;
    if (r.read_string(*f, "kind", source.kind) && !source.kind.empty()) {
      kind = catalog.find(source.kind);
      if (!kind && !declared_kinds.contains(source.kind)) {
        std::vector<std::string> names = catalog.names();
        std::vector<std::string_view> views(names.begin(), names.end());
        r.report(f->find("kind")->line, path + ".kind: unknown kind '" + source.kind +
                                            "' (known: " + core::join(views) + ")");
        valid = false;
      }
      if (source.mqtt_topic && source.mqtt_topic->captures_kind()) {
        r.report(f->find("kind")->line,
                 path + ".kind: the topic captures {kind}; give the kind in one place only");
        valid = false;
      }
    }
    if (network && source.kind.empty() &&
        !(source.mqtt_topic && source.mqtt_topic->captures_kind())) {
      r.report(f->line(), path + ".kind: is required for a " +
                              std::string(core::to_string(source.format)) +
                              " source (or a {kind} level in mqtt_topic)");
      valid = false;
    }
    if (f->contains("sensor_id")) {
      if (!network) {
        r.report(f->find("sensor_id")->line,
                 path + ".sensor_id: applies to tts and chirpstack sources only");
        valid = false;
      } else if (!r.read_choice(*f, "sensor_id", kSensorIdRules, source.sensor_id)) {
        valid = false;
      }
    }
    const Field* mapping = f->find("mapping");
    if (!network) {
      if (mapping) {
        r.report(mapping->line, path +
                                    ".mapping: applies to tts and chirpstack sources only ("
                                    "SenML names map to measurements by themselves)");
        valid = false;
      }
    } else if (!mapping || !mapping->value.IsSequence() || mapping->value.size() == 0) {
      r.report(mapping ? mapping->line : f->line(),
               path + ".mapping: a list of {from, to} entries is required");
      valid = false;
    } else {
      std::map<std::string, int, std::less<>> targets;
      std::size_t m_index = 0;
      for (const auto& entry : mapping->value) {
        const int m_line = entry.IsNull() ? mapping->line : line_of(entry);
        const std::string m_path = path + ".mapping[" + std::to_string(m_index++) + "]";
        auto parsed = parse_mapping(r, entry, m_line, m_path, source.format, kind);
        if (!parsed) {
          valid = false;
          continue;
        }
        if (auto [it, fresh] = targets.emplace(parsed->to, m_line); !fresh) {
          r.report(m_line, m_path + ".to: '" + parsed->to + "' is mapped twice (first on line " +
                               std::to_string(it->second) + ")");
          valid = false;
          continue;
        }
        source.mapping.push_back(std::move(*parsed));
      }
    }
    if (valid) {
      out.push_back(std::move(source));
    }
  }
}

void parse_sensors(DocumentReader& r, std::string_view text, const core::KindCatalog& catalog,
                   const std::set<std::string, std::less<>>& declared_kinds,
                   std::vector<registry::SensorInfo>& out) {
  auto root = load_document(text, r);
  if (!root || root->IsNull()) {
    return;
  }
  if (!root->IsSequence()) {
    r.report(line_of(*root) ? line_of(*root) : 1,
             "expected a list of sensors, got " + describe(*root));
    return;
  }
  std::map<std::string, int, std::less<>> first_line;
  std::size_t index = 0;
  for (const auto& item : *root) {
    const int line = line_of(item);
    const std::string path = "sensors[" + std::to_string(index++) + "]";
    if (item.IsNull()) {
      r.report(line, path + ": an empty entry");
      continue;
    }
    auto f = r.fields(item, line, path, kSensorKeys);
    if (!f) {
      continue;
    }
    registry::SensorInfo sensor;
    sensor.declared = true;
    bool valid = r.read_required_string(*f, "id", sensor.id);
    if (valid) {
      const int id_line = f->find("id")->line;
      if (!core::is_valid_sensor_id(sensor.id)) {
        r.report(id_line, path + ".id: '" + sensor.id + "' must match [A-Za-z0-9._:-]{1,128}");
        valid = false;
      } else if (auto [it, fresh] = first_line.emplace(sensor.id, id_line); !fresh) {
        r.report(id_line, path + ".id: duplicate sensor id '" + sensor.id + "' (first on line " +
                              std::to_string(it->second) + ")");
        valid = false;
      }
    }
    if (r.read_required_string(*f, "kind", sensor.kind)) {
      if (!catalog.find(sensor.kind) && !declared_kinds.contains(sensor.kind)) {
        std::vector<std::string> names = catalog.names();
        std::vector<std::string_view> views(names.begin(), names.end());
        r.report(f->find("kind")->line, path + ".kind: unknown kind '" + sensor.kind +
                                            "' (known: " + core::join(views) + ")");
        valid = false;
      }
    } else {
      valid = false;
    }
    r.read_string(*f, "name", sensor.name);
    r.read_string(*f, "zone", sensor.zone);
    r.read_string(*f, "owner", sensor.owner);
    r.read_string(*f, "steward", sensor.steward);
    if (const Field* tags = f->find("tags"); tags && !tags->value.IsNull()) {
      if (!tags->value.IsSequence()) {
        r.report(tags->line,
                 path + ".tags: expected a list of strings, got " + describe(tags->value));
        valid = false;
      } else {
        for (const auto& tag : tags->value) {
          if (!tag.IsScalar() || tag.Scalar().empty()) {
            r.report(line_of(tag) ? line_of(tag) : tags->line,
                     path + ".tags: expected a non-empty string, got " + describe(tag));
            valid = false;
          } else {
            sensor.tags.push_back(tag.Scalar());
          }
        }
      }
    }
    if (const Field* location = f->find("location"); location && !location->value.IsNull()) {
      auto l = r.fields(location->value, location->line, path + ".location", kLocationKeys);
      if (!l) {
        valid = false;
      } else {
        std::optional<double> lat, lon, alt;
        for (auto key : {"lat", "lon"}) {
          if (!l->contains(key)) {
            r.report(location->line, l->path(key) + ": is required");
            valid = false;
          }
        }
        if (l->contains("lat") && !r.read_number_in(*l, "lat", -90, 90, lat)) {
          valid = false;
        }
        if (l->contains("lon") && !r.read_number_in(*l, "lon", -180, 180, lon)) {
          valid = false;
        }
        if (l->contains("alt") && !r.read_number(*l, "alt", alt)) {
          valid = false;
        }
        if (lat && lon) {
          sensor.location = core::Location{*lat, *lon, alt};
        }
      }
    }
    if (valid) {
      out.push_back(std::move(sensor));
    }
  }
}

void env_problem(std::vector<ConfigProblem>& problems, std::string_view variable,
                 std::string reason) {
  problems.push_back(ConfigProblem{std::string(kEnvironmentFile), 0,
                                   std::string(variable) + ": " + std::move(reason)});
}

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// "host:port", "[v6-address]:port".
std::optional<HostPort> parse_host_port(std::string_view text, std::string& reason) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      reason = "'" + std::string(text) + "' is not [address]:port";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      reason = "'" + std::string(text) + "' is not host:port";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      reason = "'" + std::string(text) + "': write an IPv6 address in brackets, as [::1]:8080";
      return std::nullopt;
    }
  }
  if (auto problem = check_host(host)) {
    reason = "'" + std::string(text) + "': " + *problem;
    return std::nullopt;
  }
  auto number = core::parse_integer(port);
  if (!number || port.front() == '-' || port.front() == '+' || *number > 65535) {
    reason = "'" + std::string(text) + "': the port must be an integer from 0 to 65535";
    return std::nullopt;
  }
  return HostPort{std::string(host), static_cast<std::uint16_t>(*number)};
}

// A set variable must say something; an empty one is more likely a broken template than a wish.
std::optional<std::string> read_env(const Environment& env, std::string_view name,
                                    std::vector<ConfigProblem>& problems) {
  if (!env) {
    return std::nullopt;
  }
  auto value = env(name);
  if (value && value->empty()) {
    env_problem(problems, name, "is set but empty");
    return std::nullopt;
  }
  return value;
}

void apply_environment(const Environment& env, Config& config,
                       std::vector<ConfigProblem>& problems) {
  if (auto listen = read_env(env, kEnvHttpListen, problems)) {
    std::string reason;
    if (auto parsed = parse_host_port(*listen, reason)) {
      config.http.host = parsed->host;
      config.http.port = parsed->port;
    } else {
      env_problem(problems, kEnvHttpListen, reason);
    }
  }
  if (auto uri = read_env(env, kEnvMqttUri, problems)) {
    if (auto problem = check_mqtt_uri(*uri)) {
      env_problem(problems, kEnvMqttUri, *problem);
    } else {
      config.mqtt.uri = *uri;
    }
  }
  if (auto dir = read_env(env, kEnvDataDir, problems)) {
    config.storage.data_dir = *dir;
  }
  // Relative to the working directory, like any path given on a command line.
  if (auto policy = read_env(env, kEnvPolicyFile, problems)) {
    config.policy_file = *policy;
  }
}

std::string strip_trailing_newlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

// The environment wins over the file, as for every other override; the file is then not read,
// so a stale path on a host that sets the variable is no error.
void load_password(const Environment& env, const std::optional<std::pair<std::string, int>>& file,
                   DocumentReader& r, Config& config, std::vector<ConfigProblem>& problems) {
  if (auto password = read_env(env, kEnvMqttPassword, problems)) {
    config.mqtt.password = *password;
    return;
  }
  if (!file) {
    return;
  }
  FileText read = read_text_file(file->first);
  if (!read.error.empty()) {
    r.report(file->second, "mqtt.password_file: cannot read '" + file->first + "': " + read.error);
    return;
  }
  std::string password = strip_trailing_newlines(std::move(read.text));
  if (password.empty()) {
    r.report(file->second, "mqtt.password_file: '" + file->first + "' is empty");
  } else if (password.find_first_of("\r\n") != std::string::npos) {
    r.report(file->second, "mqtt.password_file: '" + file->first + "' holds more than one line");
  } else {
    config.mqtt.password = std::move(password);
  }
}

// Problems read best in file order: the configuration, then the sensors file, then the
// environment. Within one file, by line.
void sort_problems(std::vector<ConfigProblem>& problems) {
  std::map<std::string, std::size_t, std::less<>> rank;
  for (const auto& p : problems) {
    if (p.file != kEnvironmentFile) {
      rank.emplace(p.file, rank.size());
    }
  }
  rank.emplace(std::string(kEnvironmentFile), rank.size());
  std::stable_sort(problems.begin(), problems.end(),
                   [&](const ConfigProblem& a, const ConfigProblem& b) {
                     const auto ra = rank.at(a.file), rb = rank.at(b.file);
                     if (ra != rb) {
                       return ra < rb;
                     }
                     return a.line < b.line;
                   });
}

tl::expected<Config, std::vector<ConfigProblem>> parse_config_checked(std::string_view yaml_text,
                                                                      std::string_view file,
                                                                      const Environment& env) {
  std::vector<ConfigProblem> problems;
  Config config;
  config.source = std::string(file);
  DocumentReader r(std::string(file), problems);

  std::optional<std::pair<std::string, int>> password_file;
  if (auto root = load_document(yaml_text, r)) {
    if (auto top = r.fields(*root, std::max(1, line_of(*root)), "", kTopKeys)) {
      parse_http(r, *top, config.http);
      PartnerLines partner_lines;
      password_file = parse_mqtt(r, *top, config.mqtt, partner_lines);
      parse_storage(r, *top, config.storage);
      std::optional<Field> sources_field;
      auto sensors_file = parse_ingest(r, *top, config.ingest, sources_field);
      parse_logging(r, *top, config.logging);
      parse_webhooks(r, *top, config.webhooks);

      std::set<std::string, std::less<>> declared_kinds;
      parse_kinds(r, *top, config.extra_kinds, declared_kinds);
      parse_profiles(r, *top, config.profiles);
      check_republish_partners(r, partner_lines, config.profiles);
      core::KindCatalog catalog = core::KindCatalog::with_builtins();
      for (const auto& kind : config.extra_kinds) {
        // Already checked against the same rules in parse_kinds.
        (void)catalog.add(kind);
      }
      if (sources_field) {
        parse_sources(r, *sources_field, catalog, declared_kinds, config.mqtt,
                      config.ingest.sources);
      }
      std::string policy_file;
      if (r.read_string(*top, "policy_file", policy_file) && !policy_file.empty()) {
        // Read and checked by the policy loader at start, which reports its own file:line.
        config.policy_file = resolve_relative(file, policy_file);
      }

      if (sensors_file) {
        const std::string path = resolve_relative(file, sensors_file->first);
        config.ingest.sensors_file = path;
        FileText read = read_text_file(path);
        if (!read.error.empty()) {
          r.report(sensors_file->second,
                   "ingest.sensors_file: cannot read '" + path + "': " + read.error);
        } else {
          DocumentReader sensors_reader(path, problems);
          parse_sensors(sensors_reader, read.text, catalog, declared_kinds, config.sensors);
        }
      }
    }
  }
  apply_environment(env, config, problems);
  load_password(env, password_file, r, config, problems);

  if (!problems.empty()) {
    sort_problems(problems);
    return tl::unexpected(std::move(problems));
  }
  return config;
}

}  // namespace

std::string ConfigProblem::to_string() const {
  if (line <= 0) {
    return file + ": " + reason;
  }
  return file + ":" + std::to_string(line) + ": " + reason;
}

Environment process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (!value) {
      return std::nullopt;
    }
    return std::string(value);
  };
}

tl::expected<Config, std::vector<ConfigProblem>> parse_config(std::string_view yaml_text,
                                                              std::string_view file,
                                                              const Environment& env) {
  // yaml-cpp reports with exceptions; none may leave this file. Syntax errors are caught where
  // documents are loaded; this is the net for anything the node API throws despite the checks.
  try {
    return parse_config_checked(yaml_text, file, env);
  } catch (const YAML::Exception& e) {
    return tl::unexpected(std::vector<ConfigProblem>{
        {std::string(file), e.mark.is_null() ? 0 : e.mark.line + 1, "YAML error: " + e.msg}});
  }
}

tl::expected<Config, std::vector<ConfigProblem>> load_config(const std::string& path,
                                                             const Environment& env) {
  FileText read = read_text_file(path);
  if (!read.error.empty()) {
    return tl::unexpected(std::vector<ConfigProblem>{{path, 0, "cannot read: " + read.error}});
  }
  return parse_config(read.text, path, env);
}

std::optional<Millis> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  // 15 digits of days still fit; more is a typo, not a duration.
  if (digits == 0 || digits > 15) {
    return std::nullopt;
  }
  const auto number = core::parse_integer(text.substr(0, digits));
  if (!number) {
    return std::nullopt;
  }
  const std::string_view unit = text.substr(digits);
  long long scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else if (unit == "d") {
    scale = 86'400'000;
  } else {
    return std::nullopt;
  }
  if (*number > std::numeric_limits<long long>::max() / scale) {
    return std::nullopt;
  }
  return Millis(*number * scale);
}

}  // namespace databroker::config
