// Retention passes over a real RocksDB log: the global retention and each stream's policy rule
// retention, driven with a fake clock; the worker thread; the /metrics counters.
#include "broker/server/retention.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "broker/core/kinds.h"
#include "broker/ingest/pipeline.h"
#include "broker/log/reading_log.h"
#include "broker/registry/sensor_registry.h"
#include "broker/server/metrics.h"
#include "policies/engine.h"
#include "policies/policy.h"
#include "tests/support/fake_clock.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace databroker::server {
namespace {

using namespace std::chrono_literals;
using core::Reading;
using core::Seq;
using core::TimestampMs;

constexpr TimestampMs kDay = 86'400'000;
constexpr TimestampMs kNow = 1'795'000'000'000;

constexpr std::string_view kPolicy = R"(
rules:
  - name: noise kept a month
    match: {kind: noise}
    class: closed
    retention: 30d
  - name: air quality is open data, kept as storage.retention says
    match: {kind: air_quality}
    class: open
)";

template <class T>
T value_of(core::Result<T> result) {
  if (!result) {
    FAIL(core::to_string(result.error().code) << ": " << result.error().message);
  }
  return std::move(*result);
}

void require_ok(const core::Status& status) {
  if (!status) {
    FAIL(core::to_string(status.error().code) << ": " << status.error().message);
  }
}

Reading reading(std::string sensor_id, std::string kind, TimestampMs ts) {
  Reading r;
  r.sensor_id = std::move(sensor_id);
  r.kind = std::move(kind);
  r.ts = ts;
  r.values = {{r.kind == "noise" ? "laeq" : "pm25", 40.0, true}};
  return r;
}

registry::SensorInfo sensor(std::string id, std::string kind) {
  registry::SensorInfo info;
  info.id = std::move(id);
  info.kind = std::move(kind);
  info.zone = "centrum";
  return info;
}

std::shared_ptr<const policies::Policy> compile(std::string_view text) {
  auto compiled = policies::compile_policy(text, {}, {"noise", "air_quality"});
  if (!compiled) {
    for (const auto& problem : compiled.error()) {
      UNSCOPED_INFO(problem.to_string("policy"));
    }
  }
  REQUIRE(compiled.has_value());
  return *compiled;
}

// A real storage, a registry with one noise and one air quality stream, and the policy above.
struct Fixture {
  testing::TempDir dir;
  testing::FakeClock clock{kNow};
  std::unique_ptr<log::Storage> storage =
      value_of(log::open_rocksdb_storage({dir.file("db"), log::Durability::Buffered}));
  std::unique_ptr<registry::SensorRegistry> registry =
      value_of(registry::SensorRegistry::open(storage->meta(), false));
  policies::PolicyEngine policy{compile(kPolicy), kNow};

  Fixture() {
    std::vector<registry::SensorInfo> sensors = {sensor("noise-1", "noise"),
                                                 sensor("air-1", "air_quality")};
    require_ok(registry->declare(sensors, kNow));
  }

  log::ReadingLog& log() { return storage->log(); }

  void append(std::vector<Reading> batch, TimestampMs received_at) {
    (void)value_of(log().append(std::span<Reading>(batch), received_at));
  }

  std::vector<TimestampMs> times_of(const std::string& id) {
    std::vector<TimestampMs> times;
    for (const Reading& r :
         value_of(log().read_stream({.sensor_id = id, .limit = 1000})).readings) {
      times.push_back(r.ts);
    }
    return times;
  }

  // Old readings (observed and received 40 days ago) and new ones (a day ago, received now) of
  // both streams.
  void append_old_and_new() {
    append({reading("noise-1", "noise", kNow - 40 * kDay),
            reading("air-1", "air_quality", kNow - 40 * kDay)},
           kNow - 40 * kDay);
    append({reading("noise-1", "noise", kNow - kDay), reading("air-1", "air_quality", kNow - kDay)},
           kNow);
  }
};

TEST_CASE("a rule's retention removes its streams' old readings and leaves other streams alone",
          "[server][retention]") {
  Fixture f;
  f.append_old_and_new();
  RetentionPass pass(f.log(), *f.registry, f.policy, std::nullopt);

  auto outcome = pass.run_once(f.clock.now_ms());
  CHECK(outcome.failures == 0);
  CHECK(outcome.removed_global == 0);
  CHECK(outcome.removed_rule == 1);
  CHECK(outcome.streams_with_rule == 1);
  CHECK(f.times_of("noise-1") == std::vector<TimestampMs>{kNow - kDay});
  CHECK(f.times_of("air-1") == std::vector<TimestampMs>{kNow - 40 * kDay, kNow - kDay});
  CHECK(value_of(f.log().latest("noise-1"))->ts == kNow - kDay);

  // Nothing else is old enough until the clock moves past the new reading's 30 days.
  CHECK(pass.run_once(f.clock.now_ms()).removed_rule == 0);
  f.clock.advance(29 * kDay + 1);
  CHECK(pass.run_once(f.clock.now_ms()).removed_rule == 1);
  CHECK(f.times_of("noise-1").empty());
  CHECK(f.times_of("air-1").size() == 2);

  CHECK(pass.counters().passes == 3);
  CHECK(pass.counters().removed_rule == 2);
  CHECK(pass.counters().removed_global == 0);
  CHECK(pass.counters().failures == 0);
}

TEST_CASE("the global retention applies beside the rules' retention", "[server][retention]") {
  Fixture f;
  f.append_old_and_new();
  RetentionPass pass(f.log(), *f.registry, f.policy, std::chrono::milliseconds(7 * kDay));

  auto outcome = pass.run_once(f.clock.now_ms());
  CHECK(outcome.failures == 0);
  // The global retention goes first and takes both readings received 40 days ago, so the rule
  // finds nothing left to remove.
  CHECK(outcome.removed_global == 2);
  CHECK(outcome.removed_rule == 0);
  CHECK(f.times_of("noise-1") == std::vector<TimestampMs>{kNow - kDay});
  CHECK(f.times_of("air-1") == std::vector<TimestampMs>{kNow - kDay});
  CHECK(f.log().first_seq() == 3);

  // A rule shortens retention, never lengthens it: a reading received now but observed 31 days
  // ago is the rule's to remove, and the global retention keeps it (received too recently).
  f.append({reading("noise-1", "noise", kNow - 31 * kDay),
            reading("air-1", "air_quality", kNow - 31 * kDay)},
           kNow);
  outcome = pass.run_once(f.clock.now_ms());
  CHECK(outcome.removed_global == 0);
  CHECK(outcome.removed_rule == 1);
  CHECK(f.times_of("noise-1") == std::vector<TimestampMs>{kNow - kDay});
  CHECK(f.times_of("air-1") == std::vector<TimestampMs>{kNow - 31 * kDay, kNow - kDay});
  CHECK(pass.counters().removed_global == 2);
  CHECK(pass.counters().removed_rule == 1);
}

TEST_CASE("a policy reload changes the retention at the next pass", "[server][retention]") {
  Fixture f;
  f.append_old_and_new();
  RetentionPass pass(f.log(), *f.registry, f.policy, std::nullopt);

  (void)f.policy.install(compile("rules:\n"
                                 "  - name: everything kept a week\n"
                                 "    match: {}\n"
                                 "    class: closed\n"
                                 "    retention: 7d\n"),
                         kNow);
  CHECK(pass.run_once(f.clock.now_ms()).removed_rule == 2);
  CHECK(f.times_of("noise-1") == std::vector<TimestampMs>{kNow - kDay});
  CHECK(f.times_of("air-1") == std::vector<TimestampMs>{kNow - kDay});

  // No rule with a retention and no global one: nothing goes.
  (void)f.policy.install(compile("rules: []\n"), kNow);
  f.clock.advance(365 * kDay);
  auto outcome = pass.run_once(f.clock.now_ms());
  CHECK(outcome.streams_with_rule == 0);
  CHECK(outcome.removed_rule + outcome.removed_global == 0);
  CHECK(f.times_of("noise-1").size() == 1);
}

TEST_CASE("the retention worker runs passes on its own thread until destroyed",
          "[server][retention]") {
  Fixture f;
  f.append_old_and_new();
  RetentionPass pass(f.log(), *f.registry, f.policy, std::nullopt);
  {
    RetentionWorker worker(pass, f.clock, 10ms);
    REQUIRE(testing::wait_until([&] { return pass.counters().passes >= 2; }, 10s));
  }
  const auto passes = pass.counters().passes.load();
  CHECK(pass.counters().removed_rule == 1);
  CHECK(f.times_of("noise-1") == std::vector<TimestampMs>{kNow - kDay});
  // Joined: no pass runs after the destructor returned.
  CHECK(pass.counters().passes == passes);
}

TEST_CASE("a stopping worker does not wait for its interval", "[server][retention]") {
  Fixture f;
  RetentionPass pass(f.log(), *f.registry, f.policy, std::nullopt);
  const auto started = std::chrono::steady_clock::now();
  {
    RetentionWorker worker(pass, f.clock, std::chrono::hours(1));
    REQUIRE(testing::wait_until([&] { return pass.counters().passes >= 1; }, 10s));
  }
  CHECK(std::chrono::steady_clock::now() - started < 30s);
}

TEST_CASE("metrics show the readings removed by global and by rule retention",
          "[server][retention]") {
  Fixture f;
  f.append_old_and_new();
  RetentionPass pass(f.log(), *f.registry, f.policy, std::chrono::milliseconds(7 * kDay));
  (void)pass.run_once(f.clock.now_ms());  // global: the two received 40 days ago

  // One more pass with only the rule to do.
  f.append({reading("noise-1", "noise", kNow - 31 * kDay)}, kNow);
  (void)pass.run_once(f.clock.now_ms());

  core::KindCatalog kinds = core::KindCatalog::with_builtins();
  ingest::Validator validator(kinds, {}, f.registry.get());
  ingest::IngestPipeline pipeline(validator, f.log(), *f.registry, f.clock, {});
  const std::string text =
      render_metrics({pipeline, f.log(), *f.registry, nullptr, nullptr, 100, &pass.counters()});
  pipeline.stop();
  CHECK_THAT(text,
             Catch::Contains("databroker_retention_readings_removed_total{by=\"global\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("databroker_retention_readings_removed_total{by=\"rule\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("databroker_retention_passes_total 2\n"));
  CHECK_THAT(text, Catch::Contains("databroker_retention_failures_total 0\n"));

  const std::string without =
      render_metrics({pipeline, f.log(), *f.registry, nullptr, nullptr, 100, nullptr});
  CHECK_THAT(without, !Catch::Contains("databroker_retention"));
}

}  // namespace
}  // namespace databroker::server

namespace databroker::server {
namespace {

TEST_CASE("a latest reading removed by retention is no longer served as latest",
          "[server][retention]") {
  Fixture f;
  // The noise stream's only readings are old: after the pass it has no latest reading at all.
  f.append({reading("noise-1", "noise", kNow - 40 * kDay),
            reading("air-1", "air_quality", kNow - 40 * kDay)},
           kNow - 40 * kDay);
  std::vector<Reading> observed = {reading("noise-1", "noise", kNow - 40 * kDay)};
  f.registry->observe(observed);
  REQUIRE(f.registry->stream("noise-1")->latest);

  RetentionPass pass(f.log(), *f.registry, f.policy, std::nullopt);
  CHECK(pass.run_once(f.clock.now_ms()).removed_rule == 1);
  CHECK_FALSE(f.registry->stream("noise-1")->latest);

  // The global retention forgets in the same way, and keeps what is still stored.
  f.append({reading("air-1", "air_quality", kNow - kDay)}, kNow);
  REQUIRE(f.registry->rebuild_latest(f.log()));
  RetentionPass global(f.log(), *f.registry, f.policy, std::chrono::milliseconds(7 * kDay));
  CHECK(global.run_once(f.clock.now_ms()).removed_global == 1);
  REQUIRE(f.registry->stream("air-1")->latest);
  CHECK(f.registry->stream("air-1")->latest->ts == kNow - kDay);
}

}  // namespace
}  // namespace databroker::server
