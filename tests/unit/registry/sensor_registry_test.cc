#include "broker/registry/sensor_registry.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fake_meta_store.h"
#include "tests/support/fake_reading_log.h"

namespace databroker::registry {
namespace {

using testing::FakeMetaStore;
using testing::FakeReadingLog;

constexpr TimestampMs kStart = 1'795'000'000'000;

SensorInfo sensor(std::string id, std::string kind = "air_quality") {
  SensorInfo info;
  info.id = std::move(id);
  info.kind = std::move(kind);
  return info;
}

Reading reading(std::string sensor_id, TimestampMs ts, core::Seq seq, double pm25 = 1) {
  Reading r;
  r.sensor_id = std::move(sensor_id);
  r.kind = "air_quality";
  r.ts = ts;
  r.seq = seq;
  r.values = {{"pm25", pm25, true}};
  return r;
}

std::unique_ptr<SensorRegistry> open_registry(log::MetaStore& meta, bool strict = false) {
  auto registry = SensorRegistry::open(meta, strict);
  REQUIRE(registry);
  return std::move(*registry);
}

TEST_CASE("a declared sensor is found and survives a reopen", "[registry]") {
  FakeMetaStore meta;
  SensorInfo declared = sensor("gent:aq-1");
  declared.name = "Korenmarkt";
  declared.location = core::Location{51.0545, 3.7215, std::nullopt};
  declared.zone = "centrum";
  declared.tags = {"open-data"};
  {
    auto registry = open_registry(meta);
    REQUIRE(registry->declare({&declared, 1}, kStart));
    auto found = registry->find("gent:aq-1");
    REQUIRE(found);
    CHECK(found->declared);
    CHECK(found->registered_at == kStart);
    CHECK(found->name == "Korenmarkt");
    CHECK(registry->contains("gent:aq-1"));
    CHECK_FALSE(registry->contains("gent:aq-2"));
    CHECK_FALSE(registry->find("gent:aq-2"));
  }
  auto reopened = open_registry(meta);
  auto found = reopened->find("gent:aq-1");
  REQUIRE(found);
  SensorInfo expected = declared;
  expected.declared = true;
  expected.registered_at = kStart;
  CHECK(*found == expected);
}

TEST_CASE("kind_of and size answer without copying sensors", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  CHECK(registry->size() == 0);
  CHECK_FALSE(registry->kind_of("noise-1"));
  REQUIRE(registry->register_seen("noise-1", "noise", 1000));
  std::vector<SensorInfo> declared{sensor("aq-1")};
  REQUIRE(registry->declare(declared, 1000));
  CHECK(registry->kind_of("noise-1") == "noise");
  CHECK(registry->kind_of("aq-1") == "air_quality");
  CHECK(registry->size() == 2);
}

TEST_CASE("a declaration replaces the stored sensor but keeps its registration time",
          "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  REQUIRE(registry->register_seen("bin-7", "waste_bin", kStart));
  SensorInfo declared = sensor("bin-7", "waste_bin");
  declared.zone = "noord";
  REQUIRE(registry->declare({&declared, 1}, kStart + 1000));
  auto found = registry->find("bin-7");
  REQUIRE(found);
  CHECK(found->declared);
  CHECK(found->zone == "noord");
  CHECK(found->registered_at == kStart);

  declared.zone = "zuid";
  REQUIRE(registry->declare({&declared, 1}, kStart + 2000));
  auto reopened = open_registry(meta);
  CHECK(reopened->find("bin-7")->zone == "zuid");
  CHECK(reopened->find("bin-7")->registered_at == kStart);
}

TEST_CASE("declaring unchanged sensors again writes nothing", "[registry]") {
  FakeMetaStore meta;
  std::vector<SensorInfo> declared = {sensor("a"), sensor("b", "noise")};
  {
    auto registry = open_registry(meta);
    REQUIRE(registry->declare(declared, kStart));
  }
  const auto writes = meta.writes();
  auto registry = open_registry(meta);
  REQUIRE(registry->declare(declared, kStart + 60'000));
  CHECK(meta.writes() == writes);
  CHECK(registry->find("a")->registered_at == kStart);
}

TEST_CASE("invalid declarations store nothing and report every problem", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  SensorInfo far_north = sensor("north");
  far_north.location = core::Location{91, 0, std::nullopt};
  std::vector<SensorInfo> declared = {sensor("fine"), sensor("bad id"), sensor("x", "Bad"),
                                      far_north, sensor("fine")};
  auto status = registry->declare(declared, kStart);
  REQUIRE_FALSE(status);
  CHECK(status.error().code == core::ErrorCode::InvalidArgument);
  std::vector<std::string> fields;
  for (const auto& detail : status.error().details) {
    fields.push_back(detail.field);
  }
  CHECK(fields == std::vector<std::string>{"sensors[1].id", "sensors[2].kind",
                                           "sensors[3].location.lat", "sensors[4].id"});
  CHECK(registry->streams().empty());
  CHECK(meta.writes() == 0);
}

TEST_CASE("stored sensors left out of the declarations stay known", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  std::vector<SensorInfo> first = {sensor("a"), sensor("b")};
  REQUIRE(registry->declare(first, kStart));
  std::vector<SensorInfo> second = {sensor("a")};
  REQUIRE(registry->declare(second, kStart));
  CHECK(registry->contains("b"));
}

TEST_CASE("a sensor first seen in a reading is registered and persisted", "[registry]") {
  FakeMetaStore meta;
  {
    auto registry = open_registry(meta);
    REQUIRE(registry->register_seen("noise-3", "noise", kStart));
    auto found = registry->find("noise-3");
    REQUIRE(found);
    CHECK(found->kind == "noise");
    CHECK_FALSE(found->declared);
    CHECK(found->registered_at == kStart);
  }
  auto reopened = open_registry(meta);
  REQUIRE(reopened->find("noise-3"));
  CHECK(reopened->find("noise-3")->kind == "noise");
}

TEST_CASE("registering a known sensor again changes nothing", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  REQUIRE(registry->register_seen("s", "noise", kStart));
  const auto writes = meta.writes();
  REQUIRE(registry->register_seen("s", "air_quality", kStart + 5));
  CHECK(meta.writes() == writes);
  CHECK(registry->find("s")->kind == "noise");
  CHECK(registry->find("s")->registered_at == kStart);
}

TEST_CASE("a strict registry refuses undeclared sensors and accepts declared ones", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta, true);
  CHECK(registry->is_strict());
  SensorInfo declared = sensor("known");
  REQUIRE(registry->declare({&declared, 1}, kStart));
  CHECK(registry->register_seen("known", "air_quality", kStart));
  auto refused = registry->register_seen("stranger", "air_quality", kStart);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == core::ErrorCode::InvalidArgument);
  REQUIRE(refused.error().details.size() == 1);
  CHECK(refused.error().details[0].reason == "undeclared_sensor");
  CHECK_FALSE(registry->contains("stranger"));
}

TEST_CASE("registration rejects invalid ids and kinds", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  for (auto [id, kind] : {std::pair{"", "noise"}, std::pair{"a b", "noise"}, std::pair{"ok", ""},
                          std::pair{"ok", "Noise"}}) {
    CAPTURE(id, kind);
    auto status = registry->register_seen(id, kind, kStart);
    REQUIRE_FALSE(status);
    CHECK(status.error().code == core::ErrorCode::InvalidArgument);
  }
  CHECK(registry->streams().empty());
}

TEST_CASE("a failed write registers nothing", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  meta.fail_writes(true);
  auto seen = registry->register_seen("s", "noise", kStart);
  REQUIRE_FALSE(seen);
  CHECK(seen.error().code == core::ErrorCode::Unavailable);
  CHECK_FALSE(registry->contains("s"));
  SensorInfo declared = sensor("d");
  CHECK_FALSE(registry->declare({&declared, 1}, kStart));
  CHECK_FALSE(registry->contains("d"));

  meta.fail_writes(false);
  CHECK(registry->register_seen("s", "noise", kStart));
  CHECK(registry->contains("s"));
}

TEST_CASE("a corrupt stored sensor fails the open", "[registry]") {
  FakeMetaStore meta;
  REQUIRE(meta.put("sensors", "good", encode_sensor(sensor("good"))));
  SECTION("not JSON") { REQUIRE(meta.put("sensors", "bad", "{oops")); }
  SECTION("invalid location") {
    REQUIRE(meta.put("sensors", "bad",
                     R"({"id":"bad","kind":"noise","location":{"lat":0,"lon":999}})"));
  }
  SECTION("stored under another id") {
    REQUIRE(meta.put("sensors", "bad", encode_sensor(sensor("other"))));
  }
  auto registry = SensorRegistry::open(meta, false);
  REQUIRE_FALSE(registry);
  CHECK(registry.error().code == core::ErrorCode::Corruption);
  CHECK(registry.error().message.find("bad") != std::string::npos);
}

TEST_CASE("the latest reading is the newest by ts, then by seq", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  REQUIRE(registry->register_seen("s", "air_quality", kStart));
  CHECK_FALSE(registry->stream("s")->latest);

  std::vector<Reading> batch = {reading("s", kStart + 10, 1), reading("s", kStart + 30, 2),
                                reading("s", kStart + 20, 3)};
  registry->observe(batch);
  CHECK(registry->stream("s")->latest->seq == 2);

  // Late data, older by observation time: not the latest even though it came last.
  std::vector<Reading> late = {reading("s", kStart + 5, 4)};
  registry->observe(late);
  CHECK(registry->stream("s")->latest->seq == 2);

  // Same observation time: the higher seq wins, within a batch and across batches.
  std::vector<Reading> tie = {reading("s", kStart + 30, 6), reading("s", kStart + 30, 5)};
  registry->observe(tie);
  CHECK(registry->stream("s")->latest->seq == 6);
  std::vector<Reading> newer = {reading("s", kStart + 31, 7, 42)};
  registry->observe(newer);
  auto state = registry->stream("s");
  REQUIRE(state->latest);
  CHECK(*state->latest == newer[0]);
}

TEST_CASE("observe counts readings per stream and ignores unknown sensors", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  REQUIRE(registry->register_seen("a", "air_quality", kStart));
  REQUIRE(registry->register_seen("b", "air_quality", kStart));
  std::vector<Reading> batch = {reading("a", kStart, 1), reading("b", kStart, 2),
                                reading("a", kStart, 3), reading("ghost", kStart, 4)};
  registry->observe(batch);
  registry->observe(std::span<const Reading>(batch.data(), 1));
  CHECK(registry->stream("a")->readings_accepted == 3);
  CHECK(registry->stream("b")->readings_accepted == 1);
  CHECK_FALSE(registry->stream("ghost"));
  CHECK_FALSE(registry->contains("ghost"));
}

TEST_CASE("streams are listed in id order", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  for (const char* id : {"m", "B", "a", "z-1", "A.2"}) {
    REQUIRE(registry->register_seen(id, "noise", kStart));
  }
  std::vector<std::string> ids;
  for (const auto& state : registry->streams()) {
    ids.push_back(state.sensor.id);
  }
  CHECK(ids == std::vector<std::string>{"A.2", "B", "a", "m", "z-1"});
}

TEST_CASE("rebuild_latest fills the cache from the log and keeps newer observed readings",
          "[registry]") {
  FakeMetaStore meta;
  FakeReadingLog log;
  std::vector<Reading> stored = {reading("a", kStart + 10, 0), reading("a", kStart + 50, 0),
                                 reading("a", kStart + 20, 0), reading("b", kStart + 10, 0),
                                 reading("unknown", kStart, 0)};
  REQUIRE(log.append(stored, kStart));
  auto registry = open_registry(meta);
  for (const char* id : {"a", "b", "c"}) {
    REQUIRE(registry->register_seen(id, "air_quality", kStart));
  }
  std::vector<Reading> observed = {reading("b", kStart + 99, 100)};
  registry->observe(observed);

  REQUIRE(registry->rebuild_latest(log));
  CHECK(registry->stream("a")->latest->ts == kStart + 50);
  CHECK(registry->stream("a")->latest->seq == 2);
  CHECK(registry->stream("b")->latest->seq == 100);
  CHECK_FALSE(registry->stream("c")->latest);
  CHECK(registry->stream("a")->readings_accepted == 0);
}

TEST_CASE("readers see consistent streams while the writer observes", "[registry]") {
  FakeMetaStore meta;
  auto registry = open_registry(meta);
  REQUIRE(registry->register_seen("s", "air_quality", kStart));
  std::atomic<bool> done{false};
  std::atomic<bool> consistent{true};
  std::thread reader([&] {
    core::Seq last = 0;
    while (!done) {
      auto state = registry->stream("s");
      if (state && state->latest) {
        // Readings arrive in seq and ts order, so the latest never goes back.
        if (state->latest->seq < last ||
            state->latest->ts != kStart + static_cast<TimestampMs>(state->latest->seq)) {
          consistent = false;
        }
        last = state->latest->seq;
      }
      (void)registry->streams();
    }
  });
  for (core::Seq seq = 1; seq <= 2000; ++seq) {
    Reading r = reading("s", kStart + static_cast<TimestampMs>(seq), seq);
    registry->observe({&r, 1});
  }
  done = true;
  reader.join();
  CHECK(consistent);
  CHECK(registry->stream("s")->readings_accepted == 2000);
}

}  // namespace
}  // namespace databroker::registry
