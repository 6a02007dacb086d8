#include "broker/config/config.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace databroker::config {
namespace {

constexpr const char* kSourceDir = DATABROKER_SOURCE_DIR;
constexpr const char* kDataDir = DATABROKER_SOURCE_DIR "/tests/data/config";

Environment environment(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](std::string_view name) -> std::optional<std::string> {
    auto it = variables.find(std::string(name));
    if (it == variables.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

Environment no_environment() { return environment({}); }

Config parse_ok(const std::string& yaml, const Environment& env = no_environment()) {
  auto config = parse_config(yaml, "test.yaml", env);
  if (!config) {
    for (const auto& p : config.error()) {
      UNSCOPED_INFO(p.to_string());
    }
  }
  REQUIRE(config);
  return *config;
}

std::vector<ConfigProblem> problems_of(const std::string& yaml,
                                       const Environment& env = no_environment(),
                                       const std::string& file = "test.yaml") {
  auto config = parse_config(yaml, file, env);
  REQUIRE_FALSE(config);
  for (const auto& p : config.error()) {
    UNSCOPED_INFO(p.to_string());
  }
  return config.error();
}

std::vector<ConfigProblem> load_problems(const std::string& path,
                                         const Environment& env = no_environment()) {
  auto config = load_config(path, env);
  REQUIRE_FALSE(config);
  for (const auto& p : config.error()) {
    UNSCOPED_INFO(p.to_string());
  }
  return config.error();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The one problem on `line` of `file`; fails the test unless there is exactly one.
const ConfigProblem& problem_on(const std::vector<ConfigProblem>& problems, const std::string& file,
                                int line) {
  auto matches = std::count_if(problems.begin(), problems.end(), [&](const ConfigProblem& p) {
    return p.file == file && p.line == line;
  });
  INFO("problems on " << file << ":" << line);
  REQUIRE(matches == 1);
  return *std::find_if(problems.begin(), problems.end(),
                       [&](const ConfigProblem& p) { return p.file == file && p.line == line; });
}

std::vector<int> lines_of(const std::vector<ConfigProblem>& problems, const std::string& file) {
  std::vector<int> lines;
  for (const auto& p : problems) {
    if (p.file == file) {
      lines.push_back(p.line);
    }
  }
  return lines;
}

void require_same_http(const HttpConfig& a, const HttpConfig& b) {
  CHECK(a.host == b.host);
  CHECK(a.port == b.port);
  CHECK(a.threads == b.threads);
  CHECK(a.max_header_bytes == b.max_header_bytes);
  CHECK(a.max_body_bytes == b.max_body_bytes);
  CHECK(a.header_timeout == b.header_timeout);
  CHECK(a.body_timeout == b.body_timeout);
  CHECK(a.idle_timeout == b.idle_timeout);
  CHECK(a.max_connections == b.max_connections);
  CHECK(a.max_page_limit == b.max_page_limit);
  CHECK(a.sse_heartbeat == b.sse_heartbeat);
}

void require_same_mqtt(const MqttConfig& a, const MqttConfig& b) {
  CHECK(a.enabled == b.enabled);
  CHECK(a.uri == b.uri);
  CHECK(a.client_id == b.client_id);
  CHECK(a.username == b.username);
  CHECK(a.password == b.password);
  CHECK(a.topic_prefix == b.topic_prefix);
  CHECK(a.qos == b.qos);
  CHECK(a.keepalive == b.keepalive);
  CHECK(a.reconnect_min == b.reconnect_min);
  CHECK(a.reconnect_max == b.reconnect_max);
  CHECK(a.error_topic_prefix == b.error_topic_prefix);
  CHECK(a.backpressure_wait == b.backpressure_wait);
  CHECK(a.republish.enabled == b.republish.enabled);
  CHECK(a.republish.client_id == b.republish.client_id);
  CHECK(a.republish.open == b.republish.open);
  CHECK(a.republish.open_prefix == b.republish.open_prefix);
  CHECK(a.republish.partners == b.republish.partners);
  CHECK(a.republish.shared_prefix == b.republish.shared_prefix);
  CHECK(a.republish.qos == b.republish.qos);
  CHECK(a.republish.retain == b.republish.retain);
  CHECK(a.republish.max_in_flight == b.republish.max_in_flight);
}

void require_same_storage(const StorageConfig& a, const StorageConfig& b) {
  CHECK(a.data_dir == b.data_dir);
  CHECK(a.durability == b.durability);
  CHECK(a.retention == b.retention);
  CHECK(a.queue_capacity_readings == b.queue_capacity_readings);
  CHECK(a.max_commit_readings == b.max_commit_readings);
}

void require_default_sections(const Config& config) {
  const Config defaults;
  require_same_http(config.http, defaults.http);
  require_same_mqtt(config.mqtt, defaults.mqtt);
  require_same_storage(config.storage, defaults.storage);
  CHECK(config.ingest.rules.unknown_measurements == defaults.ingest.rules.unknown_measurements);
  CHECK(config.ingest.rules.max_future_skew_ms == defaults.ingest.rules.max_future_skew_ms);
  CHECK(config.ingest.strict_sensors == defaults.ingest.strict_sensors);
  CHECK(config.logging.level == defaults.logging.level);
  CHECK(config.logging.format == defaults.logging.format);
}

const access::Profile* find_profile(const Config& config, std::string_view name) {
  for (const auto& p : config.profiles) {
    if (p.name == name) {
      return &p;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the example configuration loads and sets every key to its default", "[config]") {
  auto config =
      load_config(std::string(kSourceDir) + "/deploy/databroker.example.yaml", no_environment());
  if (!config) {
    for (const auto& p : config.error()) {
      UNSCOPED_INFO(p.to_string());
    }
  }
  REQUIRE(config);
  require_default_sections(*config);
  CHECK(config->extra_kinds.empty());
  CHECK(config->ingest.sensors_file == std::string(kSourceDir) + "/deploy/sensors.example.yaml");
}

TEST_CASE("the example configuration declares the documented profiles", "[config]") {
  auto config =
      load_config(std::string(kSourceDir) + "/deploy/databroker.example.yaml", no_environment());
  REQUIRE(config);
  REQUIRE(config->profiles.size() == 5);
  const auto* dashboard = find_profile(*config, "city-dashboard");
  const auto* gateway = find_profile(*config, "sensor-gateway");
  const auto* ops = find_profile(*config, "ops");
  const auto* partner = find_profile(*config, "mobility-partner");
  REQUIRE(dashboard);
  REQUIRE(gateway);
  REQUIRE(ops);
  REQUIRE(partner);
  CHECK((dashboard->internal && !dashboard->ingest && !dashboard->admin));
  CHECK((gateway->ingest && !gateway->internal && !gateway->admin));
  CHECK((ops->admin && !ops->internal && !ops->ingest));
  CHECK((!partner->admin && !partner->internal && !partner->ingest));
  const auto* contractor = find_profile(*config, "waste-contractor");
  REQUIRE(contractor);
  CHECK_FALSE(contractor->has_any_right());
  CHECK_FALSE(dashboard->description.empty());
  CHECK(config->policy_file.ends_with("deploy/policy.example.yaml"));
}

TEST_CASE("the example sensors file declares sensors of all four built-in kinds", "[config]") {
  auto config =
      load_config(std::string(kSourceDir) + "/deploy/databroker.example.yaml", no_environment());
  REQUIRE(config);
  REQUIRE(config->sensors.size() >= 4);
  std::set<std::string> kinds;
  for (const auto& sensor : config->sensors) {
    kinds.insert(sensor.kind);
    CHECK(sensor.declared);
    CHECK(sensor.location.has_value());
    CHECK_FALSE(sensor.zone.empty());
  }
  CHECK(kinds == std::set<std::string>{"air_quality", "noise", "waste_bin", "parking"});
}

TEST_CASE("an empty document gives the defaults", "[config]") {
  Config config = parse_ok("");
  require_default_sections(config);
  CHECK(config.source == "test.yaml");
  CHECK(config.profiles.empty());
  CHECK(config.sensors.empty());
  Config comments_only = parse_ok("# nothing set\n");
  require_default_sections(comments_only);
}

TEST_CASE("every key is read into its field", "[config]") {
  Config config = parse_ok(R"(
http:
  host: 0.0.0.0
  port: 9090
  threads: 4
  max_header_bytes: 8192
  max_body_bytes: 1048576
  header_timeout: 5s
  body_timeout: 1m
  idle_timeout: 2m
  max_connections: 50
  max_page_limit: 200
  sse_heartbeat: 5s
mqtt:
  enabled: false
  uri: ssl://mqtt.gent.example:8883
  client_id: databroker-gent-1
  username: broker
  topic_prefix: city/sensors
  qos: 2
  keepalive: 1m
  reconnect_min: 1s
  reconnect_max: 1m
  error_topic_prefix: databroker/errors
  backpressure_wait: 0
storage:
  data_dir: /var/lib/databroker
  durability: buffered
  retention: 90d
  queue_capacity_readings: 5000
  max_commit_readings: 500
  min_free_mb: 64
ingest:
  unknown_measurements: reject
  max_future_skew: 30s
  strict_sensors: true
logging:
  level: debug
  format: json
)");
  CHECK(config.http.host == "0.0.0.0");
  CHECK(config.http.port == 9090);
  CHECK(config.http.threads == 4);
  CHECK(config.http.max_header_bytes == 8192);
  CHECK(config.http.max_body_bytes == 1048576);
  CHECK(config.http.header_timeout == Millis(5000));
  CHECK(config.http.body_timeout == Millis(60'000));
  CHECK(config.http.idle_timeout == Millis(120'000));
  CHECK(config.http.max_connections == 50);
  CHECK(config.http.max_page_limit == 200);
  CHECK(config.http.sse_heartbeat == Millis(5000));
  CHECK_FALSE(config.mqtt.enabled);
  CHECK(config.mqtt.uri == "ssl://mqtt.gent.example:8883");
  CHECK(config.mqtt.client_id == "databroker-gent-1");
  CHECK(config.mqtt.username == "broker");
  CHECK(config.mqtt.topic_prefix == "city/sensors");
  CHECK(config.mqtt.qos == 2);
  CHECK(config.mqtt.keepalive == Millis(60'000));
  CHECK(config.mqtt.reconnect_min == Millis(1000));
  CHECK(config.mqtt.reconnect_max == Millis(60'000));
  CHECK(config.mqtt.error_topic_prefix == "databroker/errors");
  CHECK(config.mqtt.backpressure_wait == Millis(0));
  CHECK(config.storage.data_dir == "/var/lib/databroker");
  CHECK(config.storage.durability == log::Durability::Buffered);
  CHECK(config.storage.retention == Millis(90LL * 86'400'000));
  CHECK(config.storage.queue_capacity_readings == 5000);
  CHECK(config.storage.max_commit_readings == 500);
  CHECK(config.storage.min_free_mb == 64);
  CHECK(config.ingest.rules.unknown_measurements == ingest::UnknownMeasurements::Reject);
  CHECK(config.ingest.rules.max_future_skew_ms == 30'000);
  CHECK(config.ingest.strict_sensors);
  CHECK(config.logging.level == "debug");
  CHECK(config.logging.format == LogFormat::Json);
}

TEST_CASE("every problem in a file is reported at once with its line", "[config]") {
  const std::string file = std::string(kDataDir) + "/many_errors.yaml";
  auto problems = load_problems(file);
  CHECK(lines_of(problems, file) ==
        std::vector<int>{4, 5, 6, 7, 9, 10, 11, 13, 14, 16, 17, 19, 20, 21, 23, 24});
  CHECK(problems.size() == 16);
  CHECK(contains(problem_on(problems, file, 4).reason, "http.port: 70000 is out of range"));
  CHECK(contains(problem_on(problems, file, 5).reason, "http.threads: expected an integer"));
  CHECK(contains(problem_on(problems, file, 6).reason, "http.max_body_bytes: 0 is out of range"));
  CHECK(contains(problem_on(problems, file, 7).reason, "http.idle_timeout: expected a duration"));
  CHECK(contains(problem_on(problems, file, 9).reason, "mqtt.qos: 3 is out of range (0 to 2)"));
  CHECK(contains(problem_on(problems, file, 10).reason, "DATABROKER_MQTT_PASSWORD"));
  CHECK(contains(problem_on(problems, file, 11).reason, "mqtt.keepalive: expected a duration"));
  CHECK(contains(problem_on(problems, file, 13).reason,
                 "storage.durability: expected one of sync, buffered"));
  CHECK(contains(problem_on(problems, file, 14).reason, "storage.retention"));
  CHECK(contains(problem_on(problems, file, 16).reason,
                 "ingest.unknown_measurements: expected one of keep, reject"));
  CHECK(contains(problem_on(problems, file, 17).reason,
                 "ingest.strict_sensors: expected true or false"));
  CHECK(contains(problem_on(problems, file, 19).reason, "logging.level"));
  CHECK(contains(problem_on(problems, file, 20).reason, "logging.format: expected one of text"));
  CHECK(contains(problem_on(problems, file, 21).reason, "unknown key 'colour' in logging"));
  CHECK(contains(problem_on(problems, file, 23).reason, "public"));
  CHECK(contains(problem_on(problems, file, 24).reason, "not a valid profile name"));
}

TEST_CASE("problems format as file:line: reason", "[config]") {
  CHECK(ConfigProblem{"a.yaml", 3, "oops"}.to_string() == "a.yaml:3: oops");
  CHECK(ConfigProblem{"environment", 0, "X: oops"}.to_string() == "environment: X: oops");
}

TEST_CASE("an unknown key is a problem that suggests the key meant", "[config]") {
  auto problems = problems_of("http:\n  prot: 8080\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 2);
  CHECK(problems[0].file == "test.yaml");
  CHECK(contains(problems[0].reason, "unknown key 'prot' in http"));
  CHECK(contains(problems[0].reason, "did you mean 'port'?"));
}

TEST_CASE("an unknown key far from any known one lists the known keys", "[config]") {
  auto problems = problems_of("logging:\n  destination: syslog\n");
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].reason, "known keys: level, format"));
}

TEST_CASE("an unknown section is a problem", "[config]") {
  auto problems = problems_of("http: {}\nhttps:\n  port: 443\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 2);
  CHECK(contains(problems[0].reason, "unknown key 'https'"));
  CHECK(contains(problems[0].reason, "did you mean 'http'?"));
}

TEST_CASE("a key given twice is a problem naming the first", "[config]") {
  auto problems = problems_of("http:\n  port: 1\n  threads: 2\n  port: 3\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 4);
  CHECK(contains(problems[0].reason, "http.port: duplicate key (first on line 2)"));
}

TEST_CASE("a YAML syntax error is reported with its line", "[config]") {
  SECTION("an unclosed flow sequence") {
    auto problems = problems_of("http:\n  port: 8080\nkinds: [a, b\nlogging: {}\n");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line >= 3);
    CHECK(contains(problems[0].reason, "YAML syntax error"));
  }
  SECTION("a tab used for indentation") {
    auto problems = problems_of("http:\n\tport: 8080\n");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line == 2);
    CHECK(contains(problems[0].reason, "YAML syntax error"));
  }
  SECTION("a bad indentation") {
    auto problems = problems_of("http:\n  port: 8080\n   threads: 2\n");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line == 3);
  }
}

TEST_CASE("a syntax error does not hide problems in the environment", "[config]") {
  auto problems = problems_of("http: [\n", environment({{"DATABROKER_HTTP_LISTEN", "nonsense"}}));
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].file == "test.yaml");
  CHECK(problems[1].file == "environment");
}

TEST_CASE("a document that is not a map is a problem", "[config]") {
  auto problems = problems_of("- http\n- mqtt\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 1);
  CHECK(contains(problems[0].reason, "expected a map"));
}

TEST_CASE("a section that is not a map is a problem", "[config]") {
  auto problems = problems_of("http: 8080\n");
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].reason, "http: expected a map, got '8080'"));
}

TEST_CASE("numbers outside their range are refused", "[config]") {
  struct Case {
    std::string yaml;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"http: {port: 65536}", "http.port: 65536 is out of range (0 to 65535)"},
      {"http: {port: -1}", "http.port: -1 is out of range"},
      {"http: {threads: 0}", "http.threads: 0 is out of range (1 to 64)"},
      {"http: {threads: 65}", "http.threads: 65 is out of range (1 to 64)"},
      {"mqtt: {qos: -1}", "mqtt.qos: -1 is out of range (0 to 2)"},
      {"http: {max_header_bytes: 0}", "http.max_header_bytes: 0 is out of range"},
      {"http: {max_connections: -5}", "http.max_connections: -5 is out of range"},
      {"http: {max_page_limit: 0}", "http.max_page_limit: 0 is out of range"},
      {"storage: {queue_capacity_readings: 0}", "storage.queue_capacity_readings: 0 is out"},
      {"storage: {max_commit_readings: 0}", "storage.max_commit_readings: 0 is out of range"},
      {"http: {port: 99999999999999999999}", "http.port: expected an integer"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    auto problems = problems_of(c.yaml);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line == 1);
    CHECK(contains(problems[0].reason, c.reason));
  }
}

TEST_CASE("the boundaries of a range are accepted", "[config]") {
  Config config = parse_ok("http: {port: 0, threads: 64}\nmqtt: {qos: 0}\n");
  CHECK(config.http.port == 0);
  CHECK(config.http.threads == 64);
  CHECK(config.mqtt.qos == 0);
  config = parse_ok("http: {port: 65535, threads: 1}\nmqtt: {qos: 2}\n");
  CHECK(config.http.port == 65535);
  CHECK(config.http.threads == 1);
}

TEST_CASE("values of the wrong type are refused", "[config]") {
  struct Case {
    std::string yaml;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"http: {port: \"8080\"}", "http.port: expected an integer, got the string \"8080\""},
      {"http: {threads: 2.5}", "http.threads: expected an integer, got '2.5'"},
      {"http: {port: [1, 2]}", "http.port: expected an integer, got a list"},
      {"http: {host: {a: 1}}", "http.host: expected a string, got a map"},
      {"mqtt: {enabled: yes}", "mqtt.enabled: expected true or false, got 'yes'"},
      {"mqtt: {enabled: \"true\"}", "mqtt.enabled: expected true or false"},
      {"mqtt: {enabled: }", "mqtt.enabled: expected true or false, got nothing"},
      {"http: {port: }", "http.port: expected an integer, got nothing"},
      {"kinds: {name: x}", "kinds: expected a list of kinds, got a map"},
      {"profiles: [ops]", "profiles: expected a map of profile names, got a list"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    auto problems = problems_of(c.yaml);
    REQUIRE(problems.size() == 1);
    CHECK(contains(problems[0].reason, c.reason));
  }
}

TEST_CASE("hosts, URIs and topic prefixes are checked", "[config]") {
  CHECK(contains(problems_of("http: {host: \"\"}")[0].reason, "http.host: the host is empty"));
  CHECK(contains(problems_of("http: {host: \"[::1]\"}")[0].reason, "http.host"));
  CHECK(contains(problems_of("mqtt: {uri: \"127.0.0.1:1883\"}")[0].reason,
                 "mqtt.uri: '127.0.0.1:1883' is not an MQTT URI"));
  CHECK(contains(problems_of("mqtt: {uri: \"http://x\"}")[0].reason, "mqtt.uri"));
  CHECK(contains(problems_of("mqtt: {uri: \"tcp://\"}")[0].reason, "names no host"));
  CHECK(contains(problems_of("mqtt: {topic_prefix: \"sensors/#\"}")[0].reason, "wildcard"));
  CHECK(contains(problems_of("mqtt: {topic_prefix: \"\"}")[0].reason, "must not be empty"));
  CHECK(contains(problems_of("mqtt: {error_topic_prefix: \"errors/\"}")[0].reason,
                 "must not start or end with '/'"));
  CHECK(contains(problems_of("mqtt: {client_id: \"\"}")[0].reason, "persistent session"));
  CHECK(contains(problems_of("storage: {data_dir: \"\"}")[0].reason, "must not be empty"));
  CHECK(
      parse_ok("http: {host: \"::\"}\nmqtt: {uri: \"wss://mqtt.example:443/mqtt\"}\n").http.host ==
      "::");
}

TEST_CASE("mqtt reconnect_min may not exceed reconnect_max", "[config]") {
  auto problems = problems_of("mqtt:\n  reconnect_min: 10s\n  reconnect_max: 2s\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 3);
  CHECK(contains(problems[0].reason, "mqtt.reconnect_min (10s) must not exceed"));
}

TEST_CASE("durations take ms, s, m, h and d, and a bare integer is seconds", "[config]") {
  CHECK(parse_duration("250ms") == Millis(250));
  CHECK(parse_duration("30s") == Millis(30'000));
  CHECK(parse_duration("15m") == Millis(15 * 60'000));
  CHECK(parse_duration("12h") == Millis(12 * 3'600'000));
  CHECK(parse_duration("90d") == Millis(90LL * 86'400'000));
  CHECK(parse_duration("45") == Millis(45'000));
  CHECK(parse_duration("0") == Millis(0));
  CHECK(parse_duration("0ms") == Millis(0));
}

TEST_CASE("malformed durations are refused", "[config]") {
  for (const char* text :
       {"", "s", "ms", "-5s", "+5s", "1.5s", "30 s", " 30s", "30s ", "30sec", "30S", "10y", "1h30m",
        "0x10", "999999999999999999d", "9999999999999999"}) {
    INFO(text);
    CHECK_FALSE(parse_duration(text).has_value());
  }
}

TEST_CASE("durations below a key's minimum are refused", "[config]") {
  CHECK(contains(problems_of("http: {idle_timeout: 0}")[0].reason,
                 "http.idle_timeout: 0 is out of range (at least 1ms)"));
  CHECK(contains(problems_of("mqtt: {keepalive: 500ms}")[0].reason,
                 "mqtt.keepalive: 500ms is out of range (1s to"));
  CHECK(contains(problems_of("mqtt: {keepalive: 1d}")[0].reason, "mqtt.keepalive"));
  CHECK(contains(problems_of("storage: {retention: 0s}")[0].reason, "storage.retention"));
}

TEST_CASE("retention is forever unless a duration is given", "[config]") {
  CHECK_FALSE(parse_ok("storage: {retention: forever}").storage.retention.has_value());
  CHECK_FALSE(parse_ok("storage: {retention: }").storage.retention.has_value());
  CHECK(parse_ok("storage: {retention: 12h}").storage.retention == Millis(12 * 3'600'000));
  CHECK(parse_ok("storage: {retention: 3600}").storage.retention == Millis(3'600'000));
}

TEST_CASE("durability, unknown measurements and log settings accept only their words", "[config]") {
  CHECK(parse_ok("storage: {durability: sync}").storage.durability == log::Durability::Sync);
  CHECK(parse_ok("storage: {durability: buffered}").storage.durability ==
        log::Durability::Buffered);
  CHECK(parse_ok("ingest: {unknown_measurements: keep}").ingest.rules.unknown_measurements ==
        ingest::UnknownMeasurements::Keep);
  for (const char* level : {"debug", "info", "warn", "error"}) {
    CHECK(parse_ok(std::string("logging: {level: ") + level + "}").logging.level == level);
  }
  CHECK(parse_ok("logging: {format: text}").logging.format == LogFormat::Text);

  CHECK(contains(problems_of("storage: {durability: Sync}")[0].reason,
                 "expected one of sync, buffered, got 'Sync'"));
  CHECK(contains(problems_of("ingest: {unknown_measurements: [keep]}")[0].reason,
                 "expected one of keep, reject, got a list"));
  CHECK(contains(problems_of("logging: {level: trace}")[0].reason,
                 "expected one of debug, info, warn, error"));
  CHECK(contains(problems_of("logging: {format: JSON}")[0].reason, "expected one of text, json"));
}

TEST_CASE("the environment overrides the listen address, the MQTT URI and the data dir",
          "[config]") {
  Config config = parse_ok("http: {host: 127.0.0.1, port: 8080}\nstorage: {data_dir: ./data}\n",
                           environment({{"DATABROKER_HTTP_LISTEN", "0.0.0.0:9000"},
                                        {"DATABROKER_MQTT_URI", "ssl://mqtt.gent.example:8883"},
                                        {"DATABROKER_DATA_DIR", "/var/lib/databroker"}}));
  CHECK(config.http.host == "0.0.0.0");
  CHECK(config.http.port == 9000);
  CHECK(config.mqtt.uri == "ssl://mqtt.gent.example:8883");
  CHECK(config.storage.data_dir == "/var/lib/databroker");
}

TEST_CASE("the policy file is resolved beside the config and DATABROKER_POLICY_FILE overrides it",
          "[config]") {
  Config config = parse_ok("policy_file: policy.yaml\n");
  CHECK(config.policy_file == "policy.yaml");
  auto beside = parse_config("policy_file: policy.yaml\n", "/etc/databroker/databroker.yaml",
                             no_environment());
  REQUIRE(beside);
  CHECK(beside->policy_file == "/etc/databroker/policy.yaml");
  CHECK(parse_ok("").policy_file.empty());
  config = parse_ok("policy_file: policy.yaml\n",
                    environment({{"DATABROKER_POLICY_FILE", "/etc/databroker/policy.yaml"}}));
  CHECK(config.policy_file == "/etc/databroker/policy.yaml");
  CHECK(problems_of("policy_file: [a, b]\n").size() == 1);
}

TEST_CASE("the listen address may be an IPv6 address in brackets", "[config]") {
  Config config = parse_ok("", environment({{"DATABROKER_HTTP_LISTEN", "[::1]:8443"}}));
  CHECK(config.http.host == "::1");
  CHECK(config.http.port == 8443);
  config = parse_ok("", environment({{"DATABROKER_HTTP_LISTEN", "localhost:0"}}));
  CHECK(config.http.host == "localhost");
  CHECK(config.http.port == 0);
}

TEST_CASE("invalid environment values are problems without a line, naming the variable",
          "[config]") {
  for (const char* listen : {"8080", "localhost", "localhost:", ":8080", "host:99999", "host:-1",
                             "host:http", "::1:8080", "[::1]8080", "[::1]:", "[]:80"}) {
    INFO(listen);
    auto problems = problems_of("", environment({{"DATABROKER_HTTP_LISTEN", listen}}));
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line == 0);
    CHECK(problems[0].file == "environment");
    CHECK(contains(problems[0].reason, "DATABROKER_HTTP_LISTEN: "));
  }
  auto problems = problems_of(
      "", environment({{"DATABROKER_MQTT_URI", "mqtt.gent.example"}, {"DATABROKER_DATA_DIR", ""}}));
  REQUIRE(problems.size() == 2);
  for (const auto& p : problems) {
    CHECK(p.line == 0);
    CHECK(p.file == "environment");
  }
  CHECK(std::any_of(problems.begin(), problems.end(), [](const ConfigProblem& p) {
    return contains(p.reason, "DATABROKER_MQTT_URI: 'mqtt.gent.example' is not an MQTT URI");
  }));
  CHECK(std::any_of(problems.begin(), problems.end(), [](const ConfigProblem& p) {
    return contains(p.reason, "DATABROKER_DATA_DIR: is set but empty");
  }));
}

TEST_CASE("environment problems come after the file's problems", "[config]") {
  auto problems =
      problems_of("http: {port: 70000}\n", environment({{"DATABROKER_MQTT_URI", "nope"}}));
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].file == "test.yaml");
  CHECK(problems[0].line == 1);
  CHECK(problems[1].file == "environment");
}

TEST_CASE("a password in the configuration file is refused with where to put it instead",
          "[config]") {
  auto problems = problems_of("mqtt:\n  username: broker\n  password: hunter2\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 3);
  CHECK(contains(problems[0].reason, "mqtt.password: "));
  CHECK(contains(problems[0].reason, "DATABROKER_MQTT_PASSWORD"));
  CHECK(contains(problems[0].reason, "mqtt.password_file"));
  CHECK_FALSE(contains(problems[0].reason, "hunter2"));
}

TEST_CASE("the MQTT password comes from the environment", "[config]") {
  Config config =
      parse_ok("mqtt: {username: broker}\n", environment({{"DATABROKER_MQTT_PASSWORD", "s3cret"}}));
  CHECK(config.mqtt.username == "broker");
  CHECK(config.mqtt.password == "s3cret");
}

TEST_CASE("the MQTT password comes from a file relative to the configuration", "[config]") {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "secrets");
  testing::write_file(dir.file("secrets/mqtt-password"), "s3cret\n");
  testing::write_file(dir.file("databroker.yaml"),
                      "mqtt:\n  username: broker\n  password_file: secrets/mqtt-password\n");
  auto config = load_config(dir.file("databroker.yaml"), no_environment());
  REQUIRE(config);
  CHECK(config->mqtt.password == "s3cret");

  SECTION("a Windows line ending is stripped too") {
    testing::write_file(dir.file("secrets/mqtt-password"), "s3cret\r\n");
    auto again = load_config(dir.file("databroker.yaml"), no_environment());
    REQUIRE(again);
    CHECK(again->mqtt.password == "s3cret");
  }
  SECTION("inner spaces are kept") {
    testing::write_file(dir.file("secrets/mqtt-password"), " two words ");
    auto again = load_config(dir.file("databroker.yaml"), no_environment());
    REQUIRE(again);
    CHECK(again->mqtt.password == " two words ");
  }
  SECTION("the environment wins over the file") {
    auto again = load_config(dir.file("databroker.yaml"),
                             environment({{"DATABROKER_MQTT_PASSWORD", "from-env"}}));
    REQUIRE(again);
    CHECK(again->mqtt.password == "from-env");
  }
}

TEST_CASE("an unreadable, empty or multi-line password file is a problem on its line", "[config]") {
  testing::TempDir dir;
  const std::string config_file = dir.file("databroker.yaml");
  testing::write_file(config_file, "# broker\nmqtt:\n  password_file: pw\n");
  auto problems = load_problems(config_file);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].file == config_file);
  CHECK(problems[0].line == 3);
  CHECK(contains(problems[0].reason, "mqtt.password_file: cannot read '" + dir.file("pw") + "'"));

  testing::write_file(dir.file("pw"), "\n");
  problems = load_problems(config_file);
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].reason, "is empty"));

  testing::write_file(dir.file("pw"), "one\ntwo\n");
  problems = load_problems(config_file);
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].reason, "more than one line"));
  CHECK_FALSE(contains(problems[0].reason, "one\n"));
}

TEST_CASE("a device or pipe named as a password or sensors file is refused, not read", "[config]") {
  testing::TempDir dir;
  const std::string config_file = dir.file("databroker.yaml");
  testing::write_file(config_file, "mqtt:\n  password_file: /dev/zero\n");
  auto problems = load_problems(config_file);  // would never end if /dev/zero were read
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 2);
  CHECK(contains(problems[0].reason, "is not a regular file"));

  testing::write_file(config_file, "ingest:\n  sensors_file: /dev/zero\n");
  problems = load_problems(config_file);
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].reason, "ingest.sensors_file"));
  CHECK(contains(problems[0].reason, "is not a regular file"));
}

TEST_CASE("declared sensors are loaded from the sensors file", "[config]") {
  auto config = load_config(std::string(kDataDir) + "/custom_kinds.yaml", no_environment());
  if (!config) {
    for (const auto& p : config.error()) {
      UNSCOPED_INFO(p.to_string());
    }
  }
  REQUIRE(config);
  CHECK(config->ingest.sensors_file == std::string(kDataDir) + "/custom_kinds.sensors.yaml");
  REQUIRE(config->sensors.size() == 2);
  const auto& water = config->sensors[0];
  CHECK(water.id == "gent-water-portus-ganda");
  CHECK(water.kind == "water_level");
  CHECK(water.name == "Portus Ganda, Leie");
  REQUIRE(water.location.has_value());
  CHECK(water.location->lat == Approx(51.05608));
  CHECK(water.location->lon == Approx(3.73186));
  CHECK(water.location->alt == Approx(5.5));
  CHECK(water.zone == "centrum");
  CHECK(water.tags == std::vector<std::string>{"river", "flood-warning"});
  CHECK(water.owner == "Stad Gent");
  CHECK(water.steward == "Dienst Water");
  CHECK(water.declared);
  const auto& noise = config->sensors[1];
  CHECK(noise.id == "gent-noise-kouter");
  CHECK_FALSE(noise.location.has_value());
  CHECK(noise.declared);
}

TEST_CASE("problems in the sensors file carry that file's name and lines", "[config]") {
  const std::string config_file = std::string(kDataDir) + "/bad_sensors.yaml";
  const std::string sensors_file = std::string(kDataDir) + "/bad_sensors.sensors.yaml";
  auto problems = load_problems(config_file);
  CHECK(lines_of(problems, config_file).empty());
  CHECK(lines_of(problems, sensors_file) == std::vector<int>{5, 8, 11, 12, 14, 17});
  CHECK(problems.size() == 6);
  CHECK(contains(problem_on(problems, sensors_file, 5).reason,
                 "sensors[1].id: 'bad id with spaces' must match"));
  CHECK(contains(problem_on(problems, sensors_file, 8).reason,
                 "sensors[2].kind: unknown kind 'street_lamp'"));
  CHECK(contains(problem_on(problems, sensors_file, 11).reason,
                 "sensors[3].location.lat: 95 is out of range (-90 to 90)"));
  CHECK(contains(problem_on(problems, sensors_file, 12).reason,
                 "duplicate sensor id 'gent-aq-ok' (first on line 2)"));
  CHECK(contains(problem_on(problems, sensors_file, 14).reason, "sensors[5].id: is required"));
  CHECK(contains(problem_on(problems, sensors_file, 17).reason, "unknown key 'colour'"));
}

TEST_CASE("a sensors file that cannot be read is a problem on the config line naming it",
          "[config]") {
  testing::TempDir dir;
  testing::write_file(dir.file("databroker.yaml"), "ingest:\n  sensors_file: missing.yaml\n");
  auto problems = load_problems(dir.file("databroker.yaml"));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].file == dir.file("databroker.yaml"));
  CHECK(problems[0].line == 2);
  CHECK(contains(problems[0].reason,
                 "ingest.sensors_file: cannot read '" + dir.file("missing.yaml") + "'"));
}

TEST_CASE("a sensors file is checked for syntax, shape and locations", "[config]") {
  testing::TempDir dir;
  const std::string sensors = dir.file("sensors.yaml");
  testing::write_file(dir.file("databroker.yaml"), "ingest: {sensors_file: sensors.yaml}\n");
  auto problems_for = [&](const std::string& text) {
    testing::write_file(sensors, text);
    return load_problems(dir.file("databroker.yaml"));
  };

  auto problems = problems_for("- id: a\n  kind: noise\n- id: [\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].file == sensors);
  CHECK(contains(problems[0].reason, "YAML syntax error"));

  problems = problems_for("sensors:\n  - id: a\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].file == sensors);
  CHECK(contains(problems[0].reason, "expected a list of sensors"));

  problems = problems_for("- id: a\n  kind: noise\n  location: {lat: 51.0}\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 3);
  CHECK(contains(problems[0].reason, "sensors[0].location.lon: is required"));

  problems = problems_for("- id: a\n  kind: noise\n  location: {lat: 51.0, lon: 181}\n");
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].reason, "lon: 181 is out of range (-180 to 180)"));

  problems = problems_for("- id: a\n  kind: noise\n  location: {lat: .nan, lon: 3}\n");
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].reason, "lat: expected a finite number"));

  problems = problems_for("- id: a\n  kind: noise\n  tags: urban\n");
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].reason, "tags: expected a list of strings"));
}

TEST_CASE("an empty sensors file declares no sensors", "[config]") {
  testing::TempDir dir;
  testing::write_file(dir.file("sensors.yaml"), "# none yet\n");
  testing::write_file(dir.file("databroker.yaml"), "ingest: {sensors_file: sensors.yaml}\n");
  auto config = load_config(dir.file("databroker.yaml"), no_environment());
  REQUIRE(config);
  CHECK(config->sensors.empty());
}

TEST_CASE("custom kinds are added, and may replace a built-in kind", "[config]") {
  auto config = load_config(std::string(kDataDir) + "/custom_kinds.yaml", no_environment());
  REQUIRE(config);
  REQUIRE(config->extra_kinds.size() == 2);
  const auto& water = config->extra_kinds[0];
  CHECK(water.name == "water_level");
  CHECK(water.description == "River and canal water level");
  REQUIRE(water.measurements.size() == 2);
  CHECK(water.measurements[0].name == "level");
  CHECK(water.measurements[0].unit == "cm");
  CHECK(water.measurements[0].type == core::ValueType::Number);
  CHECK(water.measurements[0].min == -500.0);
  CHECK(water.measurements[0].max == 2000.0);
  CHECK(water.measurements[1].type == core::ValueType::Boolean);
  CHECK_FALSE(water.measurements[1].min.has_value());
  CHECK(config->extra_kinds[1].name == "noise");

  auto catalog = core::KindCatalog::with_builtins();
  for (const auto& kind : config->extra_kinds) {
    REQUIRE(catalog.add(kind));
  }
  CHECK(catalog.find("water_level") != nullptr);
  CHECK(catalog.find("noise")->find("lamax") == nullptr);
}

TEST_CASE("invalid custom kinds are problems on their lines", "[config]") {
  const std::string file = std::string(kDataDir) + "/bad_kinds.yaml";
  auto problems = load_problems(file);
  CHECK(lines_of(problems, file) == std::vector<int>{3, 8, 11, 13, 17, 20, 21});
  CHECK(problems.size() == 7);
  CHECK(contains(problem_on(problems, file, 3).reason, "kinds[0].name: 'Water-Level' must match"));
  CHECK(contains(problem_on(problems, file, 8).reason,
                 "kinds[1].measurements[0].type: expected one of number, integer, boolean"));
  CHECK(contains(problem_on(problems, file, 11).reason, "min is greater than max"));
  CHECK(contains(problem_on(problems, file, 13).reason, "a kind needs at least one"));
  CHECK(contains(problem_on(problems, file, 17).reason,
                 "measurement 'a' is declared twice (first on line 16)"));
  CHECK(contains(problem_on(problems, file, 20).reason, "min and max apply to number"));
  CHECK(contains(problem_on(problems, file, 21).reason,
                 "kind 'tide' is declared twice (first on line 6)"));
}

TEST_CASE("a kind without a name or with an unknown key is a problem", "[config]") {
  auto problems = problems_of("kinds:\n  - measurements: [{name: a}]\n    colour: red\n");
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].line == 2);
  CHECK(contains(problems[0].reason, "kinds[0].name: is required"));
  CHECK(problems[1].line == 3);
  CHECK(contains(problems[1].reason, "unknown key 'colour' in kinds[0]"));
}

TEST_CASE("profiles are read with their rights in file order", "[config]") {
  Config config = parse_ok(R"(
profiles:
  public: {description: Anyone}
  lorawan-gateway: {ingest: true}
  mobility_partner_2:
  ops: {admin: true, internal: true, description: Operators}
)");
  REQUIRE(config.profiles.size() == 4);
  CHECK(config.profiles[0].name == "public");
  CHECK(config.profiles[0].description == "Anyone");
  CHECK(config.profiles[1].name == "lorawan-gateway");
  CHECK(config.profiles[1].ingest);
  CHECK(config.profiles[2].name == "mobility_partner_2");
  CHECK_FALSE(config.profiles[2].ingest);
  CHECK(config.profiles[3].admin);
  CHECK(config.profiles[3].internal);
  CHECK(config.profiles[3].description == "Operators");
}

TEST_CASE("invalid profiles are problems on their lines", "[config]") {
  auto problems = problems_of(R"(profiles:
  public: {ingest: true}
  "has space": {}
  ops: {admin: yes}
  dashboard: {internal: true, read: true}
  ops: {}
)");
  CHECK(lines_of(problems, "test.yaml") == std::vector<int>{2, 3, 4, 5, 6});
  CHECK(contains(problems[0].reason, "can have no rights"));
  CHECK(contains(problems[1].reason, "'has space' is not a valid profile name"));
  CHECK(contains(problems[2].reason, "profiles.ops.admin: expected true or false"));
  CHECK(contains(problems[3].reason, "unknown key 'read' in profiles.dashboard"));
  CHECK(contains(problems[4].reason, "profiles.ops: duplicate key (first on line 4)"));
}

TEST_CASE("a profile's rate limit is read, with one second's worth as the default burst",
          "[config][rate_limit]") {
  Config config = parse_ok(R"(
profiles:
  public: {rate_limit: {requests_per_second: 20, burst: 50}}
  partner: {rate_limit: {requests_per_second: 0.5}}
  gateway: {ingest: true}
)");
  REQUIRE(config.profiles.size() == 3);
  CHECK(config.profiles[0].rate_limit == access::RateLimit{20, 50});
  CHECK(config.profiles[1].rate_limit == access::RateLimit{0.5, 1});
  CHECK_FALSE(config.profiles[2].rate_limit.enabled());
}

TEST_CASE("invalid rate limits are problems on their lines", "[config][rate_limit]") {
  auto problems = problems_of(R"(profiles:
  a: {rate_limit: {requests_per_second: -1}}
  b: {rate_limit: {burst: 10}}
  c: {rate_limit: {requests_per_second: 5, burst: 0.5}}
  d: {rate_limit: {requests_per_second: 5, per: minute}}
  e: {rate_limit: 100}
  f: {rate_limit: {requests_per_second: "10"}}
)");
  CHECK(lines_of(problems, "test.yaml") == std::vector<int>{2, 3, 4, 5, 6, 7});
  CHECK(contains(problems[0].reason,
                 "profiles.a.rate_limit.requests_per_second: -1 is out of range"));
  CHECK(contains(problems[1].reason, "profiles.b.rate_limit.requests_per_second: required"));
  CHECK(contains(problems[2].reason, "profiles.c.rate_limit.burst: 0.5 is out of range"));
  CHECK(contains(problems[3].reason, "unknown key 'per' in profiles.d.rate_limit"));
  CHECK(contains(problems[4].reason, "profiles.e.rate_limit: expected a map"));
  CHECK(contains(problems[5].reason, "profiles.f.rate_limit.requests_per_second"));
}

TEST_CASE("a missing configuration file is a problem without a line", "[config]") {
  testing::TempDir dir;
  auto problems = load_problems(dir.file("nope.yaml"));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].file == dir.file("nope.yaml"));
  CHECK(problems[0].line == 0);
  CHECK(contains(problems[0].reason, "cannot read"));

  problems = load_problems(dir.path().string());
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].reason, "is a directory"));
}

TEST_CASE("the process environment reads variables", "[config]") {
  Environment env = process_environment();
  CHECK(env("PATH").has_value());
  CHECK_FALSE(env("DATABROKER_SURELY_NOT_SET_0F3A").has_value());
}

TEST_CASE("a second YAML document is a problem on its line", "[config]") {
  auto problems = problems_of("http:\n  port: 8081\n---\nhttp:\n  port: 8082\n");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].line == 3);
  CHECK(contains(problems[0].reason, "expected one YAML document"));
}

TEST_CASE("a stray comma at block level is a problem, not a hang", "[config]") {
  // yaml-cpp 0.7's LoadAll loops forever on these (jbeder/yaml-cpp#1040).
  CHECK_FALSE(problems_of(",\n").empty());
  CHECK_FALSE(problems_of(",   a b: c\nhttp:\n  port: 1\n").empty());
  CHECK_FALSE(
      problems_of("# comment\n, DATABROKER_MQTT_URI e.g. ssl://x:8883\nhttp: {}\n").empty());
}

TEST_CASE("a mangled configuration yields problems, never an exception", "[config]") {
  std::ifstream in(std::string(kSourceDir) + "/deploy/databroker.example.yaml");
  const std::string example((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_FALSE(example.empty());
  const std::string alphabet = ":-[]{}\"'#&*!|>%@` \t\n0123456789abcxyz.,?";
  std::mt19937 random(20261128);  // seeded: a failure reproduces
  for (int round = 0; round < 300; ++round) {
    std::string text = example;
    const int edits = 1 + static_cast<int>(random() % 8);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % text.size();
      text[at] = alphabet[random() % alphabet.size()];
    }
    INFO("round " << round);
    std::optional<tl::expected<Config, std::vector<ConfigProblem>>> result;
    REQUIRE_NOTHROW(result = parse_config(text, "mangled.yaml", no_environment()));
    if (!*result) {
      for (const auto& p : result->error()) {
        CHECK(p.line >= 0);
        CHECK_FALSE(p.reason.empty());
      }
    }
  }
}

TEST_CASE("mqtt.republish is off by default and every key is read", "[config][republish]") {
  const Config defaults = parse_ok("");
  CHECK_FALSE(defaults.mqtt.republish.enabled);
  CHECK(defaults.mqtt.republish.open);
  CHECK(defaults.mqtt.republish.open_prefix == "open");
  CHECK(defaults.mqtt.republish.shared_prefix == "shared");
  CHECK(defaults.mqtt.republish.partners.empty());
  CHECK(defaults.mqtt.republish.qos == 1);
  CHECK_FALSE(defaults.mqtt.republish.retain);
  CHECK(defaults.mqtt.republish.max_in_flight == 100);
  CHECK(defaults.mqtt.republish.client_id.empty());

  Config config = parse_ok(R"(mqtt:
  republish:
    enabled: true
    client_id: databroker-gent-out
    open: false
    open_prefix: city/open
    partners: [mobility-partner, waste-contractor]
    shared_prefix: city/shared
    qos: 0
    retain: true
    max_in_flight: 500
profiles:
  mobility-partner: {}
  waste-contractor: {}
)");
  const auto& r = config.mqtt.republish;
  CHECK(r.enabled);
  CHECK(r.client_id == "databroker-gent-out");
  CHECK_FALSE(r.open);
  CHECK(r.open_prefix == "city/open");
  CHECK(r.partners == std::vector<std::string>{"mobility-partner", "waste-contractor"});
  CHECK(r.shared_prefix == "city/shared");
  CHECK(r.qos == 0);
  CHECK(r.retain);
  CHECK(r.max_in_flight == 500);
}

TEST_CASE("mqtt.republish problems are reported with their lines", "[config][republish]") {
  struct Case {
    std::string yaml;
    int line;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"mqtt:\n  republish:\n    enabeld: true\n", 3, "unknown key 'enabeld' in mqtt.republish"},
      {"mqtt:\n  republish:\n    qos: 3\n", 3, "mqtt.republish.qos: 3 is out of range (0 to 2)"},
      {"mqtt:\n  republish:\n    max_in_flight: 0\n", 3, "mqtt.republish.max_in_flight: 0 is out"},
      {"mqtt:\n  republish:\n    open_prefix: open/#\n", 3, "contains an MQTT wildcard"},
      {"mqtt:\n  republish:\n    shared_prefix: \"\"\n", 3, "shared_prefix: must not be empty"},
      {"mqtt:\n  client_id: db\n  republish:\n    client_id: db\n", 4,
       "mqtt.republish.client_id: must differ from mqtt.client_id"},
      {"mqtt:\n  republish:\n    enabled: true\n    open_prefix: sensors\n", 4,
       "overlaps mqtt.topic_prefix"},
      {"mqtt:\n  topic_prefix: city/sensors\n  republish:\n    enabled: true\n"
       "    open_prefix: city\n",
       5, "overlaps mqtt.topic_prefix"},
      {"mqtt:\n  republish:\n    enabled: true\n    partners: [p]\n    shared_prefix: open/p\n"
       "profiles: {p: {}}\n",
       5, "overlaps open_prefix"},
      {"mqtt:\n  republish:\n    partners: [nobody]\n", 3, "'nobody' is not a declared profile"},
      {"mqtt:\n  republish:\n    partners: [public]\n", 3, "'public' holds no grants"},
      {"mqtt:\n  republish:\n    partners:\n      - dash\nprofiles: {dash: {internal: true}}\n", 4,
       "'dash' is internal"},
      {"mqtt:\n  republish:\n    partners:\n      - p\n      - p\nprofiles: {p: {}}\n", 5,
       "'p' is listed twice"},
      {"mqtt:\n  republish:\n    partners: p\n", 3, "expected a list of profile names"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    auto problems = problems_of(c.yaml);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].line == c.line);
    CHECK(contains(problems[0].reason, c.reason));
  }
}

TEST_CASE("overlapping prefixes are allowed while republish is off", "[config][republish]") {
  Config config = parse_ok("mqtt:\n  republish:\n    open_prefix: sensors\n");
  CHECK(config.mqtt.republish.open_prefix == "sensors");
}

TEST_CASE("the example configuration sets every webhooks key to its default",
          "[config][webhooks]") {
  auto config =
      load_config(std::string(kSourceDir) + "/deploy/databroker.example.yaml", no_environment());
  REQUIRE(config);
  const WebhookConfig defaults;
  const WebhookConfig& w = config->webhooks;
  CHECK(w.enabled == defaults.enabled);
  CHECK(w.max_webhooks == defaults.max_webhooks);
  CHECK(w.batch_size == defaults.batch_size);
  CHECK(w.max_body_bytes == defaults.max_body_bytes);
  CHECK(w.request_timeout == defaults.request_timeout);
  CHECK(w.backoff_min == defaults.backoff_min);
  CHECK(w.backoff_max == defaults.backoff_max);
  CHECK(w.pause_after == defaults.pause_after);
  CHECK(w.ca_file == defaults.ca_file);
}

TEST_CASE("every webhooks key is read into its field", "[config][webhooks]") {
  const Config config = parse_ok(
      "webhooks:\n  enabled: false\n  max_webhooks: 7\n  batch_size: 20\n"
      "  max_body_bytes: 65536\n  request_timeout: 2s\n  backoff_min: 100ms\n"
      "  backoff_max: 1m\n  pause_after: 2h\n  ca_file: certs/partners.pem\n");
  CHECK_FALSE(config.webhooks.enabled);
  CHECK(config.webhooks.max_webhooks == 7);
  CHECK(config.webhooks.batch_size == 20);
  CHECK(config.webhooks.max_body_bytes == 65536);
  CHECK(config.webhooks.request_timeout == Millis(2000));
  CHECK(config.webhooks.backoff_min == Millis(100));
  CHECK(config.webhooks.backoff_max == Millis(60'000));
  CHECK(config.webhooks.pause_after == Millis(7'200'000));
  CHECK(config.webhooks.ca_file == "certs/partners.pem");  // beside the (unnamed) test file
}

TEST_CASE("webhooks keys out of range are problems on their lines", "[config][webhooks]") {
  auto problems = problems_of(
      "webhooks:\n  batch_size: 5000\n  max_body_bytes: 10\n  request_timeout: 1h\n"
      "  backoff_min: 10s\n  backoff_max: 2s\n  max_webhooks: 0\n  bogus: 1\n");
  std::vector<int> lines;
  for (const auto& p : problems) lines.push_back(p.line);
  CHECK(lines == std::vector<int>{2, 3, 4, 6, 7, 8});
  CHECK(contains(problems[3].reason, "webhooks.backoff_min (10s) must not exceed"));
}

}  // namespace databroker::config

namespace databroker::config {
namespace {

bool has_problem(const std::vector<ConfigProblem>& problems, int line, std::string_view text) {
  return std::any_of(problems.begin(), problems.end(), [&](const ConfigProblem& p) {
    return p.line == line && p.reason.find(text) != std::string::npos;
  });
}

}  // namespace

TEST_CASE("the example configuration declares exactly the simulator's ingest sources",
          "[config][sources]") {
  auto config =
      load_config(std::string(kSourceDir) + "/deploy/databroker.example.yaml", no_environment());
  REQUIRE(config);
  const auto& sources = config->ingest.sources;
  REQUIRE(sources.size() == 5);
  struct Expected {
    const char* name;
    core::SourceFormat format;
    const char* filter;
    bool http;
    const char* kind;
  };
  const Expected expected[] = {
      {"senml", core::SourceFormat::Senml, "senml/+/+", false, ""},
      {"tts-waste", core::SourceFormat::Tts, "v3/city-waste@demo/devices/+/up", true, "waste_bin"},
      {"tts-air", core::SourceFormat::Tts, "v3/city-air@demo/devices/+/up", true, "air_quality"},
      {"chirpstack-parking", core::SourceFormat::ChirpStack,
       "application/6f1c2a9e-4b7d-4e0a-9c55-2d3b8f7a1e10/device/+/event/up", true, "parking"},
      {"chirpstack-waste", core::SourceFormat::ChirpStack,
       "application/0c7e9a52-3f1d-4b8e-a6c4-5d2e1f0a9b87/device/+/event/up", true, "waste_bin"},
  };
  for (std::size_t i = 0; i < sources.size(); ++i) {
    INFO(expected[i].name);
    CHECK(sources[i].name == expected[i].name);
    CHECK(sources[i].format == expected[i].format);
    REQUIRE(sources[i].mqtt_topic);
    CHECK(sources[i].mqtt_topic->filter() == expected[i].filter);
    CHECK(sources[i].http == expected[i].http);
    CHECK(sources[i].kind == expected[i].kind);
    CHECK(sources[i].sensor_id == core::SensorIdRule::DeviceId);
  }
  const auto& waste = sources[4].mapping.front();
  CHECK(waste.to == "fill_level");
  REQUIRE(waste.fill);
  CHECK(waste.fill->bin_depth_mm == 1200);
  CHECK(waste.fill->blind_zone_mm == 200);
  CHECK(waste.fill->bin_depth_tag == "binDepthMm");
  CHECK(sources[2].mapping.back().unit == "/");
  CHECK(parse_ok("").ingest.sources.empty());
}

TEST_CASE("ingest.sources problems are reported with their lines", "[config][sources]") {
  const std::string yaml =
      "ingest:\n"                                         // 1
      "  sources:\n"                                      // 2
      "    - name: Bad Name\n"                            // 3
      "      format: senml\n"                             // 4
      "      mqtt_topic: senml/{kind}\n"                  // 5
      "    - name: tts\n"                                 // 6
      "      format: ttn\n"                               // 7
      "      http: true\n"                                // 8
      "    - name: waste\n"                               // 9
      "      format: tts\n"                               // 10
      "      mqtt_topic: sensors/waste_bin/+\n"           // 11
      "      kind: waste_bin\n"                           // 12
      "      mapping:\n"                                  // 13
      "        - {from: level, to: fill}\n"               // 14
      "        - {from: t, to: temperature, unit: mm}\n"  // 15
      "        - {from: x, to: tilted, scale: 2}\n"       // 16
      "        - from: d\n"                               // 17
      "          to: fill_level\n"                        // 18
      "          fill_from_distance: {bin_depth_mm: 100, blind_zone_mm: 200, bin_depth_tag: d}\n"
      "    - name: waste\n"                                            // 20
      "      format: chirpstack\n"                                     // 21
      "      mqtt_topic: application/+/device/{sensor_id}/event/up\n"  // 22
      "      colour: red\n"                                            // 23
      "    - name: other\n"                                            // 24
      "      format: senml\n"                                          // 25
      "      mqtt_topic: a/{sensor_id}\n"                              // 26
      "      http: true\n"                                             // 27
      "      kind: volcano\n"                                          // 28
      "      mapping: []\n"                                            // 29
      "    - name: again\n"                                            // 30
      "      format: native\n"                                         // 31
      "      mqtt_topic: a/+\n";                                       // 32
  auto problems = problems_of(yaml);
  CHECK(has_problem(problems, 3, "ingest.sources[0].name: 'Bad Name' must match"));
  CHECK(has_problem(problems, 5, "a senml topic needs a {sensor_id} level"));
  CHECK(has_problem(problems, 7, "ingest.sources[1].format: expected one of native, senml"));
  CHECK(has_problem(problems, 11, "overlaps 'sensors/+/+' of mqtt.topic_prefix"));
  CHECK(has_problem(problems, 14, "kind 'waste_bin' has no measurement 'fill'"));
  CHECK(has_problem(problems, 15, "'mm' does not convert to the unit of 'temperature'"));
  CHECK(has_problem(problems, 16, "'tilted' is a boolean"));
  CHECK(has_problem(problems, 19, "bin_depth_mm must exceed blind_zone_mm"));
  CHECK(has_problem(problems, 19, "device tags are read from ChirpStack's deviceInfo.tags only"));
  CHECK(has_problem(problems, 20, "source 'waste' is declared twice (first on line 9)"));
  CHECK(has_problem(problems, 22, "{sensor_id} does not apply to chirpstack"));
  CHECK(has_problem(problems, 23, "unknown key 'colour' in ingest.sources[3]"));
  CHECK(has_problem(problems, 28, "unknown kind 'volcano'"));
  CHECK(has_problem(problems, 29, "mapping: applies to tts and chirpstack sources only"));
  CHECK(has_problem(problems, 32, "'a/+' overlaps 'a/+' of ingest.sources[4] (line 26)"));
  CHECK(has_problem(problems_of("ingest:\n  sources:\n    - {name: x, format: tts, http: true}\n"),
                    3, "ingest.sources[0].kind: is required for a tts source"));
  CHECK(has_problem(problems_of("ingest:\n  sources:\n    - {name: x, format: senml}\n"), 3,
                    "a source needs an mqtt_topic or http: true"));
}

}  // namespace databroker::config
