// The simulator against the real broker and a real Mosquitto: what it sends arrives, value for
// value. One row per transport and format; a format joins the table once the broker ingests it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/e2e/broker_process.h"

using namespace databroker;
using namespace databroker::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kSimulator = DATABROKER_SIMULATOR;

struct Case {
  const char* transport;
  const char* format;
};

// The simulator's arguments for a run of `count` readings; a fixed start (in the past, so the
// clock never has to wait for real time) and seed make the run the same as `--print` with the
// same arguments.
std::vector<std::string> simulator_args(const Case& c, int count) {
  return {kSimulator,
          "--transport",
          c.transport,
          "--format",
          c.format,
          "--sensors",
          "12",
          "--rate",
          "50",
          "--count",
          std::to_string(count),
          "--start",
          "2025-06-02T06:00:00Z",
          "--seed",
          "17"};
}

// Equal JSON, except that numbers may differ by a relative 1e-9.
bool nearly_equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return std::abs(x - y) <= 1e-9 * std::max({1.0, std::abs(x), std::abs(y)});
  }
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_object()) {
    for (const auto& [name, value] : a.items()) {
      if (!b.contains(name) || !nearly_equal(value, b[name])) return false;
    }
    return true;
  }
  if (a.is_array()) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!nearly_equal(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

TEST_CASE("the simulator's readings arrive through MQTT and HTTP, value for value",
          "[e2e][simulator]") {
  const Case c =
      GENERATE(Case{"mqtt", "native"}, Case{"http", "native"}, Case{"mqtt", "senml"},
               Case{"http", "senml"}, Case{"mqtt", "tts"}, Case{"http", "tts"},
               Case{"mqtt", "chirpstack"}, Case{"http", "chirpstack"}, Case{"mqtt", "mixed"});
  INFO(c.transport << " " << c.format);
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  const std::string dashboard = broker.create_key("city-dashboard");
  broker.start();
  REQUIRE(broker.wait_ready());

  constexpr int kCount = 60;
  auto args = simulator_args(c, kCount);
  for (const auto& extra :
       std::vector<std::string>{"--port", std::to_string(broker.port()), "--mqtt-port",
                                mosquitto.port_text(), "--key", gateway, "--qos", "1"}) {
    args.push_back(extra);
  }
  const std::string log = broker.dir().file("simulator.log");
  auto simulator = ChildProcess::start(args, {}, log);
  const auto code = simulator.wait(60s);
  INFO(read_file(log));
  REQUIRE(code == 0);
  CHECK(read_file(log).find("acknowledged  " + std::to_string(kCount)) != std::string::npos);

  std::map<std::uint64_t, json> stored;
  const bool arrived = wait_until(
      [&] {
        stored = read_all(broker.port(), dashboard);
        return stored.size() >= kCount;
      },
      15s, 100ms);
  INFO(broker.log());
  REQUIRE(arrived);
  CHECK(stored.size() == kCount);

  // The same run's readings as the simulator meant them (whatever the wire format): the stored
  // readings are exactly those, after the broker's decoding, unit conversion and field mapping.
  auto printed_args = simulator_args(c, kCount);
  printed_args.insert(printed_args.end(), {"--print-readings", std::to_string(kCount)});
  const std::string printed_log = broker.dir().file("printed.log");
  auto printer = ChildProcess::start(printed_args, {}, printed_log);
  REQUIRE(printer.wait(30s) == 0);
  // Keyed by (sensor, ts); values compared to 1e-9 relative, since a unit conversion on the way
  // (kg/m3 → µg/m³, a 0–1 ratio → %) may move the last bit of a double.
  std::map<std::string, json> sent, got;
  std::istringstream lines(read_file(printed_log));
  for (std::string line; std::getline(lines, line);) {
    const json body = json::parse(line);
    sent[json{body["sensor"], body["ts"]}.dump()] =
        json{body["values"], body.value("location", json())};
  }
  std::set<std::string> sensors;
  for (const auto& [seq, r] : stored) {
    sensors.insert(r["sensor"].get<std::string>());
    got[json{r["sensor"], r["ts"]}.dump()] = json{r["values"], r.value("location", json())};
  }
  CHECK(sensors.size() == 12);
  CHECK(sent.size() == kCount);
  REQUIRE(got.size() == sent.size());
  for (const auto& [key, expected] : sent) {
    INFO(key << " expected " << expected.dump());
    REQUIRE(got.contains(key));
    INFO("stored " << got[key].dump());
    CHECK(nearly_equal(got[key], expected));
  }
}
