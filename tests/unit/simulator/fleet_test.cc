#include "tools/simulator/fleet.h"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "broker/core/time.h"
#include "tools/simulator/clock.h"
#include "tools/simulator/transport.h"

using namespace databroker;
using namespace databroker::simulator;

TEST_CASE("sensor ids, places and DevEUIs are stable and distinct", "[simulator][fleet]") {
  auto a = make_fleet(48, std::nullopt, 1);
  auto b = make_fleet(48, std::nullopt, 99);
  std::set<std::string> ids, euis, addrs;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto& s = a[i].info();
    CHECK(s.id == b[i].info().id);
    CHECK(s.location == b[i].info().location);  // the seed changes values, not places
    CHECK(core::is_valid_sensor_id(s.id));
    CHECK(ids.insert(s.id).second);
    CHECK(euis.insert(s.dev_eui).second);
    CHECK(addrs.insert(s.dev_addr).second);
    CHECK(s.dev_eui.size() == 16);
    CHECK(s.dev_eui.find_first_not_of("0123456789abcdef") == std::string::npos);
    // Within about 3 km of the Grote Markt of Leuven.
    CHECK(std::abs(s.location.lat - 50.879) < 0.03);
    CHECK(std::abs(s.location.lon - 4.701) < 0.045);
  }
}

TEST_CASE("a single format carries only the kinds its sources take", "[simulator][fleet]") {
  for (const auto& s : make_fleet(12, Format::Tts, 1)) {
    CHECK((s.info().kind == "air_quality" || s.info().kind == "waste_bin"));
    CHECK((s.info().source == "tts-air" || s.info().source == "tts-waste"));
  }
  for (const auto& s : make_fleet(12, Format::Chirpstack, 1)) {
    CHECK((s.info().kind == "parking" || s.info().kind == "waste_bin"));
    if (s.info().kind == "parking") CHECK(s.info().model == ModelKind::ParkingSpot);
  }
  std::set<std::string> kinds;
  for (const auto& s : make_fleet(8, Format::Senml, 1)) kinds.insert(s.info().kind);
  CHECK(kinds.size() == 4);
}

TEST_CASE("the example sensors file declares the default fleet", "[simulator][fleet]") {
  const YAML::Node file =
      YAML::LoadFile(std::string(DATABROKER_SOURCE_DIR) + "/deploy/sensors.example.yaml");
  std::map<std::string, YAML::Node> declared;
  for (const auto& entry : file) declared.emplace(entry["id"].as<std::string>(), YAML::Node(entry));
  for (const auto& sensor : make_fleet(24, std::nullopt, 1)) {
    const auto& s = sensor.info();
    INFO(s.id);
    REQUIRE(declared.count(s.id));
    const YAML::Node& d = declared.at(s.id);
    CHECK(d["kind"].as<std::string>() == s.kind);
    CHECK(d["location"]["lat"].as<double>() == s.location.lat);
    CHECK(d["location"]["lon"].as<double>() == s.location.lon);
    std::set<std::string> tags;
    for (const auto& tag : d["tags"]) tags.insert(tag.as<std::string>());
    // The example policy opens car parks by the garage tag.
    CHECK(tags.count("garage") == (s.model == ModelKind::Garage ? 1u : 0u));
  }
}

TEST_CASE("the simulated clock never runs ahead of real time", "[simulator][clock]") {
  const core::TimestampMs now = *core::parse_rfc3339("2026-03-02T12:00:00Z");
  const core::TimestampMs day = 86'400'000;
  const Schedule fast(10, 120, now - day, now);
  CHECK(fast.due_seconds(25) == Approx(2.5));
  CHECK(fast.sim_time(0) == now - day);
  CHECK(fast.sim_time(10) == now - day + 120'000);  // 1 s real = 2 min simulated
  CHECK(fast.sim_time(7200) == now);  // a day in 12 min real: caught up, then real time
  CHECK(fast.sim_time(7300) == now + 730'000);
  const Schedule real(2, 1, now, now);
  CHECK(real.sim_time(3) == now + 1500);

  CHECK(parse_start("", now, 1) == now);
  CHECK(parse_start("", now, 60) == now - day);
  CHECK(parse_start("now", now, 60) == now);
  CHECK(parse_start("-90m", now, 1) == now - 90 * 60'000);
  CHECK(parse_start("2026-03-01T00:00:00Z", now, 1) ==
        *core::parse_rfc3339("2026-03-01T00:00:00Z"));
  CHECK(!parse_start("2026-03-03T00:00:00Z", now, 1));  // the future
  CHECK(!parse_start("yesterday", now, 1));
}

TEST_CASE("the summary reads the broker's MQTT counters and problem answers",
          "[simulator][transport]") {
  auto counters = parse_mqtt_counters(
      "# TYPE databroker_readings_ingested_total counter\n"
      "databroker_readings_ingested_total{path=\"http\"} 5\n"
      "databroker_readings_ingested_total{path=\"mqtt\"} 42\n"
      "databroker_mqtt_messages_rejected_total{reason=\"out_of_range\"} 3\n"
      "databroker_mqtt_messages_rejected_total{reason=\"unknown_field\"} 1\n");
  REQUIRE(counters);
  CHECK(counters->stored == 42);
  CHECK(counters->refused ==
        std::map<std::string, std::uint64_t>{{"out_of_range", 3}, {"unknown_field", 1}});
  CHECK(!parse_mqtt_counters("databroker_readings_ingested_total{path=\"http\"} 5\n"));

  // A batch of 4: two readings named by problems (one twice), the other two refused with them.
  auto batch = refusals_from_problem(400, R"({"type":"urn:databroker:problem:invalid_argument",
      "errors":[{"field":"[0].values.laeq","reason":"out_of_range"},
                {"field":"[0].ts","reason":"timestamp_in_future"},
                {"field":"[2].values.x","reason":"unknown_measurement"}]})",
                                     4);
  CHECK(batch == std::map<std::string, std::uint64_t>{
                     {"out_of_range", 1}, {"unknown_measurement", 1}, {"invalid_argument", 2}});
  CHECK(refusals_from_problem(415, R"({"type":"urn:databroker:problem:unsupported_media_type"})",
                              1) ==
        std::map<std::string, std::uint64_t>{{"unsupported_media_type", 1}});
  CHECK(refusals_from_problem(502, "<html>", 3) ==
        std::map<std::string, std::uint64_t>{{"http_502", 3}});
}
