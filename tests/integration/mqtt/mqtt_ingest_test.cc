#include "adapters/mqtt/mqtt_ingest.h"

#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "broker/core/time.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_ingest_sink.h"
#include "tests/support/mosquitto.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace databroker::mqtt {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeIngestSink;
using testing::MosquittoServer;
using testing::wait_until;

constexpr auto kDeadline = 10s;
constexpr const char* kTopic = "sensors/air_quality/gent-aq-001";

void require_ok(const core::Status& status) {
  INFO((status ? std::string() : status.error().message));
  REQUIRE(status.has_value());
}

config::MqttConfig test_config(const MosquittoServer& mosquitto, std::string client_id) {
  config::MqttConfig config;
  config.uri = mosquitto.uri();
  config.client_id = std::move(client_id);
  config.keepalive = 5s;
  config.reconnect_min = 250ms;
  config.reconnect_max = 2s;
  config.backpressure_wait = 500ms;
  return config;
}

// True once Mosquitto acknowledged the message (mosquitto_pub -q 1 exits 0 after the PUBACK).
bool publish(const MosquittoServer& mosquitto, const std::string& topic,
             const std::string& payload) {
  return testing::run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(),
                               "-q", "1", "-t", topic, "-m", payload},
                              kDeadline) == 0;
}

std::string pm25_payload(int value) {
  return "{\"values\":{\"pm25\":" + std::to_string(value) + "}}";
}

std::optional<double> number(const core::Reading& reading, std::string_view name) {
  const auto* measurement = reading.find(name);
  if (!measurement || !std::holds_alternative<double>(measurement->value)) {
    return std::nullopt;
  }
  return std::get<double>(measurement->value);
}

// The pm25 value of every reading the sink accepted, in order.
std::vector<int> pm25_sequence(const FakeIngestSink& sink) {
  std::vector<int> values;
  for (const auto& reading : sink.readings()) {
    values.push_back(static_cast<int>(number(reading, "pm25").value_or(-1)));
  }
  return values;
}

std::uint64_t reason_count(const MqttIngest& ingest, std::string_view reason) {
  for (const auto& [name, count] : ingest.rejections_by_reason()) {
    if (name == reason) {
      return count;
    }
  }
  return 0;
}

bool connect(MqttIngest& ingest) {
  require_ok(ingest.start());
  return wait_until([&] { return ingest.is_connected(); }, kDeadline);
}

TEST_CASE("readings published with QoS 1 on the native topic reach the ingest door decoded",
          "[mqtt]") {
  MosquittoServer mosquitto;
  require_ok(mosquitto.start());
  FakeIngestSink sink;
  FakeClock clock;
  auto config = test_config(mosquitto, "databroker-decode");
  MqttIngest ingest(config, sink, clock);
  REQUIRE(connect(ingest));

  REQUIRE(publish(mosquitto, kTopic,
                  R"({"ts":"2026-11-28T10:15:00Z","values":{"pm25":12.3,"no2":31},)"
                  R"("location":{"lat":51.054,"lon":3.717}})"));
  REQUIRE(wait_until([&] { return sink.reading_count() == 1; }, kDeadline));
  auto reading = sink.readings().at(0);
  CHECK(reading.sensor_id == "gent-aq-001");
  CHECK(reading.kind == "air_quality");
  CHECK(reading.ts == core::parse_rfc3339("2026-11-28T10:15:00Z"));
  CHECK(number(reading, "pm25") == 12.3);
  CHECK(number(reading, "no2") == 31.0);
  REQUIRE(reading.location.has_value());
  CHECK(reading.location->lat == 51.054);
  CHECK(reading.location->lon == 3.717);

  SECTION("an array is one batch, and a reading without ts gets the receive time") {
    REQUIRE(publish(mosquitto, kTopic, R"([{"values":{"pm25":1}},{"values":{"pm25":2}}])"));
    REQUIRE(wait_until([&] { return sink.reading_count() == 3; }, kDeadline));
    auto batches = sink.batches();
    REQUIRE(batches.size() == 2);
    REQUIRE(batches[1].size() == 2);
    CHECK(batches[1][0].ts == clock.now_ms());
    CHECK(pm25_sequence(sink) == std::vector<int>{12, 1, 2});
    CHECK(ingest.counters().received == 2);
    CHECK(ingest.counters().accepted == 2);
    CHECK(ingest.counters().rejected == 0);
    CHECK(ingest.counters().lost == 0);
  }
}

TEST_CASE("an invalid payload and a bad topic are counted per reason and never submitted",
          "[mqtt]") {
  MosquittoServer mosquitto;
  require_ok(mosquitto.start());
  FakeIngestSink sink;
  FakeClock clock;
  auto config = test_config(mosquitto, "databroker-reject");
  config.error_topic_prefix = "databroker/errors";
  MqttIngest ingest(config, sink, clock);
  REQUIRE(connect(ingest));

  testing::TempDir dir;
  auto report_file = dir.file("report.json");
  auto watcher = testing::ChildProcess::start(
      {"mosquitto_sub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-t",
       "databroker/errors/gent-aq-001", "-C", "1", "-W", "5", "-i", "error-watcher"},
      {}, report_file);
  REQUIRE(mosquitto.wait_for_log("Received SUBSCRIBE from error-watcher", kDeadline));

  REQUIRE(publish(mosquitto, kTopic, R"({"values":{"pm25":)"));
  CHECK(watcher.wait(kDeadline) == 0);
  auto report = testing::read_file(report_file);
  INFO(report);
  CHECK(report.find(R"("sensor":"gent-aq-001")") != std::string::npos);
  CHECK(report.find(R"("kind":"air_quality")") != std::string::npos);
  CHECK(report.find(R"("error":"invalid_argument")") != std::string::npos);
  CHECK(report.find(R"("reason":")") != std::string::npos);
  REQUIRE(wait_until([&] { return ingest.counters().rejected == 1; }, kDeadline));

  REQUIRE(publish(mosquitto, "sensors/Air-Quality/gent-aq-002", pm25_payload(1)));
  REQUIRE(publish(mosquitto, "sensors/air_quality/gent aq 003", pm25_payload(1)));
  REQUIRE(publish(mosquitto, kTopic, R"({"valeus":{"pm25":1}})"));
  REQUIRE(wait_until([&] { return ingest.counters().rejected == 4; }, kDeadline));

  CHECK(reason_count(ingest, "invalid_kind") == 1);
  CHECK(reason_count(ingest, "invalid_sensor_id") == 1);
  std::uint64_t payload_reasons = 0;
  for (const auto& [reason, count] : ingest.rejections_by_reason()) {
    if (reason != "invalid_kind" && reason != "invalid_sensor_id") {
      payload_reasons += count;
    }
  }
  CHECK(payload_reasons >= 2);
  CHECK(sink.calls() == 0);
  CHECK(ingest.counters().received == 4);
  CHECK(ingest.counters().accepted == 0);
  // A report needs a valid sensor id for its topic: not for "gent aq 003".
  CHECK(ingest.counters().error_reports == 3);
}

TEST_CASE("a full ingest queue holds readings back and loses none", "[mqtt]") {
  MosquittoServer mosquitto;
  require_ok(mosquitto.start());
  FakeIngestSink sink;
  FakeClock clock;
  auto config = test_config(mosquitto, "databroker-backpressure");
  MqttIngest ingest(config, sink, clock);
  REQUIRE(connect(ingest));

  sink.refuse_next(3);
  REQUIRE(publish(mosquitto, kTopic, pm25_payload(1)));
  REQUIRE(wait_until([&] { return sink.reading_count() == 1; }, kDeadline));
  CHECK(sink.refused() == 3);
  CHECK(ingest.counters().backpressure_waits == 1);

  // Refused long enough to pass backpressure_wait (the loud log); the held messages keep order.
  sink.refuse_next(10);
  for (int i = 100; i < 105; ++i) {
    REQUIRE(publish(mosquitto, kTopic, pm25_payload(i)));
  }
  REQUIRE(wait_until([&] { return sink.reading_count() == 6; }, kDeadline));
  CHECK(pm25_sequence(sink) == std::vector<int>{1, 100, 101, 102, 103, 104});
  CHECK(sink.refused() == 13);
  CHECK(ingest.counters().accepted == 6);
  CHECK(ingest.counters().lost == 0);
  CHECK(ingest.counters().rejected == 0);
}

TEST_CASE("a reading the ingest door finds invalid is rejected, not retried", "[mqtt]") {
  MosquittoServer mosquitto;
  require_ok(mosquitto.start());
  FakeIngestSink sink;
  FakeClock clock;
  auto config = test_config(mosquitto, "databroker-invalid");
  MqttIngest ingest(config, sink, clock);
  REQUIRE(connect(ingest));

  sink.refuse_next(1, core::ErrorCode::InvalidArgument);
  REQUIRE(publish(mosquitto, kTopic, pm25_payload(5000)));
  REQUIRE(wait_until([&] { return ingest.counters().rejected == 1; }, kDeadline));
  CHECK(reason_count(ingest, "invalid_argument") == 1);
  CHECK(sink.calls() == 1);

  REQUIRE(publish(mosquitto, kTopic, pm25_payload(5)));
  REQUIRE(wait_until([&] { return sink.reading_count() == 1; }, kDeadline));
  CHECK(pm25_sequence(sink) == std::vector<int>{5});
  CHECK(ingest.counters().backpressure_waits == 0);
}

TEST_CASE("readings published while the adapter is stopped arrive when it starts again", "[mqtt]") {
  MosquittoServer mosquitto;
  require_ok(mosquitto.start());
  FakeIngestSink sink;
  FakeClock clock;
  auto config = test_config(mosquitto, "databroker-persistent");
  constexpr int kMessages = 25;
  std::vector<int> expected;
  expected.reserve(kMessages);
  for (int i = 0; i < kMessages; ++i) {
    expected.push_back(i);
  }

  SECTION("a new adapter with the same client id") {
    {
      MqttIngest first(config, sink, clock);
      REQUIRE(connect(first));
      first.stop();
      CHECK_FALSE(first.is_connected());
    }
    for (int i = 0; i < kMessages; ++i) {
      REQUIRE(publish(mosquitto, kTopic, pm25_payload(i)));
    }
    MqttIngest second(config, sink, clock);
    require_ok(second.start());
    REQUIRE(wait_until([&] { return sink.reading_count() >= kMessages; }, kDeadline));
    CHECK(pm25_sequence(sink) == expected);
  }

  SECTION("the same adapter started again") {
    MqttIngest ingest(config, sink, clock);
    REQUIRE(connect(ingest));
    ingest.stop();
    for (int i = 0; i < kMessages; ++i) {
      REQUIRE(publish(mosquitto, kTopic, pm25_payload(i)));
    }
    REQUIRE(connect(ingest));
    REQUIRE(wait_until([&] { return sink.reading_count() >= kMessages; }, kDeadline));
    CHECK(pm25_sequence(sink) == expected);
    CHECK(ingest.counters().connects == 2);
  }
}

TEST_CASE("the adapter reconnects after Mosquitto restarts and every acknowledged reading arrives",
          "[mqtt]") {
  MosquittoServer mosquitto;
  require_ok(mosquitto.start());
  FakeIngestSink sink;
  FakeClock clock;
  auto config = test_config(mosquitto, "databroker-restart");
  MqttIngest ingest(config, sink, clock);
  REQUIRE(connect(ingest));

  std::mutex published_mutex;
  std::vector<int> published;  // sequence numbers Mosquitto acknowledged
  auto published_count = [&] {
    std::lock_guard lock(published_mutex);
    return published.size();
  };
  std::jthread publisher([&](const std::stop_token& stop) {
    for (int i = 0; !stop.stop_requested(); ++i) {
      if (publish(mosquitto, kTopic, pm25_payload(i))) {
        std::lock_guard lock(published_mutex);
        published.push_back(i);
      }
    }
  });

  REQUIRE(wait_until([&] { return published_count() >= 20; }, 20s));
  mosquitto.stop(SIGTERM);
  REQUIRE(wait_until([&] { return !ingest.is_connected(); }, 6s));
  require_ok(mosquitto.start());
  auto restarted = std::chrono::steady_clock::now();
  bool reconnected = wait_until([&] { return ingest.is_connected(); }, 6s, 5ms);
  auto reconnect_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - restarted)
                          .count();
  std::cerr << "mqtt reconnect after Mosquitto restart: " << reconnect_ms << " ms\n";
  REQUIRE(reconnected);

  auto before = published_count();
  REQUIRE(wait_until([&] { return published_count() >= before + 20; }, 20s));
  publisher.request_stop();
  publisher.join();

  std::set<int> acknowledged(published.begin(), published.end());
  auto missing = [&] {
    auto received = pm25_sequence(sink);
    std::set<int> seen(received.begin(), received.end());
    std::vector<int> absent;
    std::set_difference(acknowledged.begin(), acknowledged.end(), seen.begin(), seen.end(),
                        std::back_inserter(absent));
    return absent;
  };
  bool complete = wait_until([&] { return missing().empty(); }, kDeadline);
  INFO("acknowledged " << acknowledged.size() << ", missing " << missing().size());
  CHECK(complete);
  CHECK(ingest.counters().connection_losses >= 1);
  CHECK(ingest.counters().connects >= 2);
  CHECK(ingest.counters().lost == 0);
}

TEST_CASE("stop returns promptly while Mosquitto is down", "[mqtt]") {
  MosquittoServer mosquitto;
  FakeIngestSink sink;
  FakeClock clock;
  auto config = test_config(mosquitto, "databroker-stop");
  MqttIngest ingest(config, sink, clock);
  auto timed_stop = [&] {
    auto started = std::chrono::steady_clock::now();
    ingest.stop();
    return std::chrono::steady_clock::now() - started;
  };

  SECTION("after the connection was lost") {
    require_ok(mosquitto.start());
    REQUIRE(connect(ingest));
    mosquitto.stop(SIGKILL);
    REQUIRE(wait_until([&] { return !ingest.is_connected(); }, kDeadline));
    CHECK(timed_stop() < 2s);
  }

  SECTION("before it ever connected") {
    require_ok(ingest.start());
    CHECK_FALSE(ingest.is_connected());
    CHECK(timed_stop() < 2s);
  }

  SECTION("while a delivery is held by a full ingest queue") {
    require_ok(mosquitto.start());
    REQUIRE(connect(ingest));
    sink.refuse_next(1'000'000);
    REQUIRE(publish(mosquitto, kTopic, pm25_payload(1)));
    REQUIRE(wait_until([&] { return ingest.counters().backpressure_waits == 1; }, kDeadline));
    mosquitto.stop(SIGKILL);
    CHECK(timed_stop() < 6s);
    CHECK(ingest.counters().lost == 1);
  }
}

TEST_CASE("the adapter connects once Mosquitto comes up after it started", "[mqtt]") {
  MosquittoServer mosquitto;
  FakeIngestSink sink;
  FakeClock clock;
  auto config = test_config(mosquitto, "databroker-late");
  MqttIngest ingest(config, sink, clock);
  require_ok(ingest.start());
  CHECK_FALSE(ingest.is_connected());

  require_ok(mosquitto.start());
  REQUIRE(wait_until([&] { return ingest.is_connected(); }, kDeadline));
  REQUIRE(publish(mosquitto, kTopic, pm25_payload(7)));
  REQUIRE(wait_until([&] { return sink.reading_count() == 1; }, kDeadline));
  CHECK(pm25_sequence(sink) == std::vector<int>{7});
}

TEST_CASE("a malformed MQTT URI is refused at start", "[mqtt]") {
  FakeIngestSink sink;
  FakeClock clock;
  config::MqttConfig config;
  config.uri = "bogus://127.0.0.1:1883";
  MqttIngest ingest(config, sink, clock);
  auto status = ingest.start();
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == core::ErrorCode::InvalidArgument);
  CHECK_FALSE(ingest.is_connected());
}

}  // namespace
}  // namespace databroker::mqtt
