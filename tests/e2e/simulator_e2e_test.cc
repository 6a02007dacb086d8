// The simulator against the real broker and a real Mosquitto: what it sends arrives, value for
// value. One row per transport and format; a format joins the table once the broker ingests it.
#include <catch2/catch.hpp>
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

}  // namespace

TEST_CASE("the simulator's readings arrive through MQTT and HTTP, value for value",
          "[e2e][simulator]") {
  // Rows for senml, tts and chirpstack join here once the broker ingests those formats.
  const Case c = GENERATE(Case{"mqtt", "native"}, Case{"http", "native"});
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

  // The same run, printed: the stored readings are exactly the printed ones.
  auto printed_args = simulator_args(c, kCount);
  printed_args.insert(printed_args.end(), {"--print", std::to_string(kCount)});
  const std::string printed_log = broker.dir().file("printed.log");
  auto printer = ChildProcess::start(printed_args, {}, printed_log);
  REQUIRE(printer.wait(30s) == 0);
  // "<topic or route> <body>": the sensor is in the body (HTTP batches) or ends the topic.
  std::set<std::string> sent, got;
  std::istringstream lines(read_file(printed_log));
  for (std::string line; std::getline(lines, line);) {
    const auto space = line.find(' ');
    REQUIRE(space != std::string::npos);
    const json body = json::parse(line.substr(space + 1));
    const auto slash = line.rfind('/', space);
    const std::string sensor = body.contains("sensor") ? body["sensor"].get<std::string>()
                                                       : line.substr(slash + 1, space - slash - 1);
    sent.insert(json{sensor, body["ts"], body["values"], body["location"]}.dump());
  }
  std::set<std::string> sensors;
  for (const auto& [seq, r] : stored) {
    sensors.insert(r["sensor"].get<std::string>());
    got.insert(json{r["sensor"], r["ts"], r["values"], r["location"]}.dump());
  }
  CHECK(sensors.size() == 12);
  CHECK(sent.size() == kCount);
  CHECK(got == sent);
}
