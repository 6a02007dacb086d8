// MQTT ingest of the declared sources of the example configuration: SenML, The Things Stack and
// ChirpStack payloads published to a real Mosquitto, decoded by their source's codec.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <variant>

#include "adapters/mqtt/mqtt_ingest.h"
#include "broker/core/time.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_ingest_sink.h"
#include "tests/support/mosquitto.h"
#include "tests/support/processes.h"

namespace databroker::mqtt {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeIngestSink;
using testing::MosquittoServer;
using testing::wait_until;

constexpr auto kDeadline = 10s;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DATABROKER_SOURCE_DIR) + "/tests/data/formats/" + name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool publish(const MosquittoServer& mosquitto, const std::string& topic,
             const std::string& payload) {
  return testing::run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(),
                               "-q", "1", "-t", topic, "-m", payload},
                              kDeadline) == 0;
}

std::uint64_t reason_count(const MqttIngest& ingest, std::string_view reason) {
  for (const auto& [name, count] : ingest.rejections_by_reason()) {
    if (name == reason) return count;
  }
  return 0;
}

double number(const core::Reading& reading, std::string_view name) {
  const auto* m = reading.find(name);
  REQUIRE(m);
  REQUIRE(std::holds_alternative<double>(m->value));
  return std::get<double>(m->value);
}

}  // namespace

TEST_CASE("SenML, The Things Stack and ChirpStack payloads arrive on their sources' topics",
          "[mqtt][sources]") {
  auto example =
      config::load_config(std::string(DATABROKER_SOURCE_DIR) + "/deploy/databroker.example.yaml",
                          [](std::string_view) { return std::optional<std::string>(); });
  REQUIRE(example);
  const core::KindCatalog kinds = core::KindCatalog::with_builtins();
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  FakeIngestSink sink;
  FakeClock clock;
  config::MqttConfig config;
  config.uri = mosquitto.uri();
  config.client_id = "databroker-sources";
  config.reconnect_max = 2s;
  MqttIngest ingest(config, sink, clock, {&example->ingest.sources, &kinds});
  REQUIRE(ingest.start());
  REQUIRE(wait_until([&] { return ingest.is_connected(); }, kDeadline));

  REQUIRE(publish(mosquitto, "senml/air_quality/aq-0001", fixture("senml_air_quality.json")));
  REQUIRE(wait_until([&] { return sink.reading_count() == 2; }, kDeadline));
  CHECK(sink.readings()[1].sensor_id == "aq-0001");
  CHECK(sink.readings()[1].kind == "air_quality");
  CHECK(sink.readings()[1].ts == 1'730'440'800'000);
  CHECK(number(sink.readings()[1], "pm25") == Approx(8.4));

  REQUIRE(publish(mosquitto, "v3/city-waste@demo/devices/wastebin-0042/up",
                  fixture("tts_waste_uplink.json")));
  REQUIRE(wait_until([&] { return sink.reading_count() == 3; }, kDeadline));
  const auto tts = sink.readings()[2];
  CHECK(tts.sensor_id == "wastebin-0042");
  CHECK(tts.kind == "waste_bin");
  CHECK(tts.ts == core::parse_rfc3339("2024-11-01T07:15:02.301Z"));
  CHECK(number(tts, "temperature") == 25);
  CHECK(number(tts, "fill_level") == 0);

  std::string event = fixture("chirpstack_waste_up.json");
  event.replace(event.find("\"2000 mm\""), 9, "\"650 mm\"");
  REQUIRE(publish(mosquitto,
                  "application/0c7e9a52-3f1d-4b8e-a6c4-5d2e1f0a9b87/device/70b3d57ed005a1b2/"
                  "event/up",
                  event));
  REQUIRE(wait_until([&] { return sink.reading_count() == 4; }, kDeadline));
  CHECK(sink.readings()[3].sensor_id == "wastebin-0042");
  CHECK(number(sink.readings()[3], "fill_level") == Approx(50));  // tag binDepthMm 1100

  REQUIRE(publish(mosquitto,
                  "application/6f1c2a9e-4b7d-4e0a-9c55-2d3b8f7a1e10/device/0004a30b00f1e2d3/"
                  "event/up",
                  R"({"time":"2024-11-01T08:00:00Z","deviceInfo":{"deviceName":"spot-17"},)"
                  R"("object":{"occupied":true,"battery_v":3.6}})"));
  REQUIRE(wait_until([&] { return sink.reading_count() == 5; }, kDeadline));
  CHECK(sink.readings()[4].sensor_id == "spot-17");
  CHECK(sink.readings()[4].values.size() == 1);

  // Hostile payloads: counted per reason, nothing submitted, the ingest keeps running.
  REQUIRE(publish(mosquitto, "senml/air_quality/aq-0001", R"([{"n":"pm25","v":1,"bver":27}])"));
  REQUIRE(publish(mosquitto, "senml/air_quality/aq-0001", R"([{"n":"pm25","u":"Cel","v":1}])"));
  REQUIRE(publish(mosquitto, "senml/Bad Kind/aq-0001", R"([{"n":"pm25","v":1}])"));
  REQUIRE(publish(mosquitto, "v3/city-air@demo/devices/aq-9/up",
                  R"({"end_device_ids":{"device_id":"aq-9"},"uplink_message":{"f_port":1}})"));
  REQUIRE(publish(mosquitto, "v3/city-air@demo/devices/aq-9/up", "{not json"));
  REQUIRE(wait_until([&] { return ingest.counters().rejected == 5; }, kDeadline));
  CHECK(reason_count(ingest, "unsupported_version") == 1);
  CHECK(reason_count(ingest, "unit_mismatch") == 1);
  CHECK(reason_count(ingest, "invalid_kind") == 1);
  CHECK(reason_count(ingest, "missing_decoded_payload") == 1);
  CHECK(reason_count(ingest, "malformed_json") == 1);
  CHECK(sink.reading_count() == 5);

  // The native topic still works beside the sources.
  REQUIRE(publish(mosquitto, "sensors/noise/n-1", R"({"values":{"laeq":55}})"));
  REQUIRE(wait_until([&] { return sink.reading_count() == 6; }, kDeadline));
  CHECK(sink.readings()[5].kind == "noise");
  CHECK(ingest.counters().lost == 0);

  SECTION("every subscription is made again after the MQTT broker restarts") {
    mosquitto.stop(SIGTERM);
    REQUIRE(wait_until([&] { return !ingest.is_connected(); }, kDeadline));
    REQUIRE(mosquitto.start());
    REQUIRE(wait_until([&] { return ingest.is_connected(); }, kDeadline));
    REQUIRE(publish(mosquitto, "senml/noise/n-2", R"([{"n":"LAeq","u":"dB","v":61}])"));
    REQUIRE(wait_until([&] { return sink.reading_count() == 7; }, kDeadline));
    CHECK(number(sink.readings()[6], "laeq") == 61);
  }
}

}  // namespace databroker::mqtt
