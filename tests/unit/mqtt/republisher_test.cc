#include "adapters/mqtt/republisher.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "adapters/codecs/native_json.h"
#include "broker/hub/hub_metrics.h"
#include "broker/registry/sensor_registry.h"
#include "policies/engine.h"
#include "tests/support/fake_audit_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_meta_store.h"
#include "tests/support/fake_publisher.h"
#include "tests/support/fake_reading_log.h"
#include "tests/support/processes.h"

namespace databroker::mqtt {
namespace {

using namespace std::chrono_literals;
using testing::wait_until;

constexpr auto kDeadline = 5s;
// Only to show that something does *not* happen; every positive wait is on a condition.
constexpr auto kQuiet = 300ms;

// Air quality and noise open (air quality through a coarser view), parking shared with the
// mobility partner until the end of 2026 without the battery level, bins closed.
constexpr const char* kPolicy = R"(
rules:
  - name: air quality is open, coarsened
    match: {kind: air_quality}
    class: open
    open_view: {round_location: 2, drop: [rssi]}
  - name: noise is open
    match: {kind: noise}
    class: open
  - name: parking for the mobility plan
    match: {kind: parking}
    class: shared
    grants:
      - profile: mobility-partner
        purpose: evaluation of the circulation plan
        legal_basis: agreement 2026/114
        until: 2026-12-31
        view: {drop: [battery]}
  - name: bins stay internal
    match: {kind: waste_bin}
    class: closed
)";

// The same, with air quality closed.
constexpr const char* kTighterPolicy = R"(
rules:
  - name: air quality closed after a complaint
    match: {kind: air_quality}
    class: closed
  - name: noise is open
    match: {kind: noise}
    class: open
)";

std::shared_ptr<const policies::Policy> compile(std::string_view yaml) {
  auto compiled = policies::compile_policy(yaml, {"mobility-partner", "waste-contractor"},
                                           {"air_quality", "noise", "waste_bin", "parking"});
  if (!compiled) {
    for (const auto& p : compiled.error()) UNSCOPED_INFO(p.to_string("policy.yaml"));
  }
  REQUIRE(compiled);
  return *compiled;
}

registry::SensorInfo sensor(std::string id, std::string kind) {
  registry::SensorInfo info;
  info.id = std::move(id);
  info.kind = std::move(kind);
  info.declared = true;
  return info;
}

struct Fixture {
  testing::FakeClock clock;  // 2026-11-19
  testing::FakeMetaStore meta;
  testing::FakeReadingLog log;
  std::unique_ptr<registry::SensorRegistry> registry =
      std::move(registry::SensorRegistry::open(meta, false).value());
  policies::PolicyEngine policy;
  hub::HubMetrics metrics;
  hub::FollowerContext context{
      log,     *registry, policy,
      clock,   nullptr,   [](const core::Reading& r) { return codecs::reading_json(r); },
      &metrics};
  hub::CommitSignal signal;
  testing::FakePublisher publisher;
  config::RepublishConfig config;

  Fixture() {
    std::vector<registry::SensorInfo> sensors = {
        sensor("aq-1", "air_quality"), sensor("noise-1", "noise"), sensor("bin-1", "waste_bin"),
        sensor("park-1", "parking")};
    REQUIRE(registry->declare(sensors, clock.now_ms()));
    policy.install(compile(kPolicy), clock.now_ms());
    config.enabled = true;
  }

  std::unique_ptr<Republisher> make(access::AuditTrail* audit = nullptr) {
    return std::make_unique<Republisher>(config, context, signal, publisher, &meta, audit);
  }

  // Appends to the log and tells followers, as the ingest committer does.
  void commit(std::vector<core::Reading> batch) {
    REQUIRE(log.append(batch, clock.now_ms()));
    signal.publish(log.last_seq());
  }
};

core::Reading air(double pm25) {
  core::Reading r;
  r.sensor_id = "aq-1";
  r.kind = "air_quality";
  r.ts = 1'795'000'000'000;
  r.values = {{"pm25", pm25, true}, {"rssi", -80.0, true}};
  r.location = core::Location{51.05432, 3.71765, 12.0};
  return r;
}

core::Reading noise(double laeq) {
  core::Reading r;
  r.sensor_id = "noise-1";
  r.kind = "noise";
  r.ts = 1'795'000'000'000;
  r.values = {{"laeq", laeq, true}};
  return r;
}

core::Reading bin(double fill) {
  core::Reading r;
  r.sensor_id = "bin-1";
  r.kind = "waste_bin";
  r.ts = 1'795'000'000'000;
  r.values = {{"fill_level", fill, true}};
  return r;
}

core::Reading parking(bool occupied) {
  core::Reading r;
  r.sensor_id = "park-1";
  r.kind = "parking";
  r.ts = 1'795'000'000'000;
  r.values = {{"occupied", occupied, true}, {"battery", 90.0, true}};
  return r;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// The `"seq":N` values of the published payloads, in publish order.
std::vector<core::Seq> seqs_of(const testing::FakePublisher& publisher) {
  std::vector<core::Seq> out;
  for (const auto& message : publisher.published()) {
    auto at = message.payload.find("\"seq\":");
    REQUIRE(at != std::string::npos);
    out.push_back(std::stoull(message.payload.substr(at + 6)));
  }
  return out;
}

const RepublishTargetStats& target_stats(const RepublishStats& stats, std::string_view name) {
  for (const auto& target : stats.targets) {
    if (target.name == name) return target;
  }
  FAIL("no target " << name);
  return stats.targets.front();
}

TEST_CASE(
    "open readings go to open/{kind}/{sensor_id} through the open view, closed and "
    "shared ones do not",
    "[republish]") {
  Fixture f;
  auto republisher = f.make();
  REQUIRE(republisher->start());
  CHECK(f.publisher.starts() == 1);

  f.commit({bin(80), air(12.5), parking(true)});
  f.commit({noise(61)});  // the sentinel: once it is out, everything before it was decided
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 2; }, kDeadline));
  auto published = f.publisher.published();
  CHECK(f.publisher.topics() ==
        std::vector<std::string>{"open/air_quality/aq-1", "open/noise/noise-1"});
  const auto& aq = published[0].payload;
  INFO(aq);
  CHECK(contains(aq, "\"pm25\":12.5"));
  CHECK(contains(aq, "\"lat\":51.05,"));  // round_location: 2
  CHECK_FALSE(contains(aq, "51.054"));
  CHECK_FALSE(contains(aq, "rssi"));  // dropped by the open view
  CHECK(published[0].qos == 1);
  CHECK_FALSE(published[0].retain);
  CHECK(seqs_of(f.publisher) == std::vector<core::Seq>{2, 4});
  CHECK(f.metrics.counters(hub::SubscriberType::MqttRepublish).events.load() >= 2);
}

TEST_CASE("a partner topic carries only the streams granted to it, through the grant's view",
          "[republish]") {
  Fixture f;
  f.config.partners = {"mobility-partner", "waste-contractor"};
  f.config.qos = 0;
  f.config.retain = true;
  auto republisher = f.make();
  REQUIRE(republisher->start());

  f.commit({parking(true), air(10), bin(50), noise(55)});
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 3; }, kDeadline));
  REQUIRE(f.publisher.acknowledge() == 3);
  std::multiset<std::string> topics;
  for (const auto& message : f.publisher.published()) {
    topics.insert(message.topic);
    CHECK(message.qos == 0);
    CHECK(message.retain);
    if (message.topic == "shared/mobility-partner/parking/park-1") {
      CHECK(contains(message.payload, "\"occupied\":true"));
      CHECK_FALSE(contains(message.payload, "battery"));  // the grant's view drops it
    }
  }
  // Open data stays on the open topics, even for a partner that may see it; the waste
  // contractor has no grant in this policy, so nothing reaches its prefix.
  CHECK(topics == std::multiset<std::string>{"open/air_quality/aq-1", "open/noise/noise-1",
                                             "shared/mobility-partner/parking/park-1"});
  auto stats = republisher->stats();
  REQUIRE(stats.targets.size() == 3);
  REQUIRE(wait_until(
      [&] {
        return target_stats(republisher->stats(), "partner:waste-contractor").acknowledged == 4;
      },
      kDeadline));
  CHECK(target_stats(republisher->stats(), "partner:mobility-partner").published == 1);
}

TEST_CASE("an expired grant stops the partner topic by itself", "[republish]") {
  Fixture f;
  f.config.open = false;
  f.config.partners = {"mobility-partner"};
  auto republisher = f.make();
  REQUIRE(republisher->start());
  f.commit({parking(true)});
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 1; }, kDeadline));
  f.publisher.acknowledge();

  f.clock.set(core::parse_rfc3339("2027-01-01T00:00:01Z").value());
  f.commit({parking(false)});
  REQUIRE(wait_until(
      [&] {
        return target_stats(republisher->stats(), "partner:mobility-partner").acknowledged == 2;
      },
      kDeadline));
  CHECK(f.publisher.published_count() == 1);
}

TEST_CASE("after a reload that closes a stream, it is no longer republished", "[republish]") {
  Fixture f;
  auto republisher = f.make();
  REQUIRE(republisher->start());
  f.commit({air(10)});
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 1; }, kDeadline));

  f.policy.install(compile(kTighterPolicy), f.clock.now_ms());
  f.commit({air(11), noise(60)});
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 2; }, kDeadline));
  CHECK(f.publisher.topics() ==
        std::vector<std::string>{"open/air_quality/aq-1", "open/noise/noise-1"});
}

TEST_CASE("at most max_in_flight publishes await acknowledgement, the rest follows in seq order",
          "[republish]") {
  Fixture f;
  f.config.max_in_flight = 3;
  auto republisher = f.make();
  REQUIRE(republisher->start());
  std::vector<core::Reading> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(air(i));
  f.commit(batch);

  REQUIRE(wait_until([&] { return f.publisher.outstanding() == 3; }, kDeadline));
  CHECK_FALSE(wait_until([&] { return f.publisher.published_count() > 3; }, kQuiet));
  CHECK(target_stats(republisher->stats(), "open").in_flight == 3);
  CHECK(target_stats(republisher->stats(), "open").acknowledged == 0);

  f.publisher.acknowledge(1);
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 4; }, kDeadline));
  CHECK(f.publisher.outstanding() == 3);
  CHECK(target_stats(republisher->stats(), "open").acknowledged == 1);

  REQUIRE(wait_until(
      [&] {
        f.publisher.acknowledge();
        return f.publisher.published_count() == 10 && f.publisher.outstanding() == 0;
      },
      kDeadline));
  CHECK(seqs_of(f.publisher) == std::vector<core::Seq>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  REQUIRE(wait_until([&] { return target_stats(republisher->stats(), "open").acknowledged == 10; },
                     kDeadline));
  CHECK(target_stats(republisher->stats(), "open").published == 10);
}

TEST_CASE("while the MQTT broker is down nothing is read, once back, everything follows in order",
          "[republish]") {
  Fixture f;
  auto republisher = f.make();
  REQUIRE(republisher->start());
  f.publisher.set_connected(false);
  f.commit({air(1), air(2)});
  f.commit({air(3)});
  CHECK_FALSE(wait_until([&] { return f.publisher.published_count() > 0; }, kQuiet));
  CHECK(target_stats(republisher->stats(), "open").acknowledged == 0);

  f.publisher.set_connected(true);
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 3; }, kDeadline));
  CHECK(seqs_of(f.publisher) == std::vector<core::Seq>{1, 2, 3});
}

TEST_CASE("a failed publish rewinds to the acknowledged cursor and publishes again from there",
          "[republish]") {
  Fixture f;
  auto republisher = f.make();
  REQUIRE(republisher->start());
  f.commit({air(1), air(2), air(3)});
  REQUIRE(wait_until([&] { return f.publisher.outstanding() == 3; }, kDeadline));
  f.publisher.acknowledge(1);
  f.publisher.fail_next();  // seq 2
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 5; }, kDeadline));
  CHECK(seqs_of(f.publisher) == std::vector<core::Seq>{1, 2, 3, 2, 3});
  f.publisher.acknowledge();  // the old seq 3, then the new 2 and 3
  REQUIRE(wait_until([&] { return target_stats(republisher->stats(), "open").acknowledged == 3; },
                     kDeadline));
  CHECK(target_stats(republisher->stats(), "open").failures == 1);

  SECTION("a lost connection fails everything in flight, and the cursor resumes after reconnect") {
    f.commit({air(4), air(5)});
    REQUIRE(wait_until([&] { return f.publisher.outstanding() == 2; }, kDeadline));
    f.publisher.set_connected(false);
    CHECK(f.publisher.outstanding() == 0);
    f.publisher.set_connected(true);
    REQUIRE(wait_until([&] { return f.publisher.published_count() == 9; }, kDeadline));
    CHECK(seqs_of(f.publisher) == std::vector<core::Seq>{1, 2, 3, 2, 3, 4, 5, 4, 5});
  }
}

TEST_CASE("the acknowledged cursor is saved, and a restart resumes after it", "[republish]") {
  Fixture f;
  auto republisher = f.make();
  REQUIRE(republisher->start());
  f.commit({air(1), air(2), air(3)});
  REQUIRE(wait_until([&] { return f.publisher.outstanding() == 3; }, kDeadline));
  f.publisher.acknowledge(2);
  REQUIRE(wait_until([&] { return target_stats(republisher->stats(), "open").acknowledged == 2; },
                     kDeadline));
  republisher->stop();  // seq 3 is still in flight: the publisher's stop fails it
  CHECK(f.publisher.stops() == 1);
  auto saved = f.meta.get(kRepublishCursorNamespace, "open");
  REQUIRE(saved);
  CHECK(saved->value_or("") == "2");

  f.commit({air(4)});  // committed while the republisher is down
  auto restarted = f.make();
  REQUIRE(restarted->start());
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 5; }, kDeadline));
  CHECK(seqs_of(f.publisher) == std::vector<core::Seq>{1, 2, 3, 3, 4});
}

TEST_CASE("a first start begins at the head of the log and saves that position at once",
          "[republish]") {
  Fixture f;
  f.commit({air(1), air(2)});
  auto republisher = f.make();
  REQUIRE(republisher->start());
  auto saved = f.meta.get(kRepublishCursorNamespace, "open");
  REQUIRE(saved);
  CHECK(saved->value_or("") == "2");
  f.commit({air(3)});
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 1; }, kDeadline));
  CHECK(seqs_of(f.publisher) == std::vector<core::Seq>{3});
}

TEST_CASE("a cursor that cannot be saved at start is an error, and nothing starts", "[republish]") {
  Fixture f;
  f.meta.fail_writes(true);
  auto republisher = f.make();
  auto status = republisher->start();
  REQUIRE_FALSE(status);
  CHECK(status.error().message.find("republish cursor of open") != std::string::npos);
  CHECK(f.publisher.starts() == 0);
  CHECK(f.signal.subscriber_count() == 0);
}

TEST_CASE("readings invisible to a target still move its acknowledged cursor", "[republish]") {
  Fixture f;
  auto republisher = f.make();
  REQUIRE(republisher->start());
  std::vector<core::Reading> closed;
  for (int i = 0; i < 50; ++i) closed.push_back(bin(i));
  f.commit(closed);
  REQUIRE(wait_until([&] { return target_stats(republisher->stats(), "open").acknowledged == 50; },
                     kDeadline));
  CHECK(f.publisher.published_count() == 0);
}

TEST_CASE("shared readings delivered to a partner topic leave an audit record, open ones do not",
          "[republish][audit]") {
  Fixture f;
  f.config.partners = {"mobility-partner"};
  testing::FakeAuditStore store;
  access::AuditTrail audit(store, f.clock);
  auto republisher = f.make(&audit);
  REQUIRE(republisher->start());
  f.commit({parking(true), air(10), parking(false)});
  REQUIRE(wait_until([&] { return f.publisher.published_count() == 3; }, kDeadline));
  REQUIRE(audit.flush(kDeadline));
  auto page = audit.query({});
  REQUIRE(page);
  REQUIRE_FALSE(page->records.empty());
  std::uint64_t readings = 0;
  std::set<std::string> streams;
  for (const auto& record : page->records) {  // one per batch handed out
    CHECK(record.profile == "mobility-partner");
    CHECK(record.action == "mqtt shared/mobility-partner");
    streams.insert(record.streams.begin(), record.streams.end());
    readings += record.readings;
  }
  CHECK(streams == std::set<std::string>{"park-1"});
  CHECK(readings == 2);
}

}  // namespace
}  // namespace databroker::mqtt
