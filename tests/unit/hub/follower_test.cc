// Follower: a live subscriber's cursor over the ring and the log, through the policy.
#include "broker/hub/follower.h"

#include <catch2/catch.hpp>

#include "tests/support/fake_clock.h"
#include "tests/support/fake_meta_store.h"
#include "tests/support/fake_reading_log.h"

namespace databroker::hub {
namespace {

constexpr const char* kPolicy = R"(
rules:
  - name: noise is open, without the battery
    match: {kind: noise}
    class: open
    open_view: {drop: [battery]}
  - name: parking is shared with the mobility partner
    match: {kind: parking}
    class: shared
    grants:
      - profile: mobility-partner
        purpose: circulation plan
        legal_basis: agreement 2026/114
        until: 2027-06-30
)";

std::string encode(const core::Reading& r) {
  std::string out = r.sensor_id + "#" + std::to_string(r.seq) + ":";
  for (const auto& m : r.values) out += m.name + ",";
  return out;
}

struct Harness {
  Harness() {
    registry = std::move(*registry::SensorRegistry::open(meta, false));
    auto compiled = policies::compile_policy(kPolicy, {"mobility-partner"}, {"noise", "parking"});
    REQUIRE(compiled);
    engine.install(*compiled, 0);
    clock.set(1'800'000'000'000);  // 2027-01-15: the grant is in force
  }

  // Appends like the pipeline: durable first, then the ring.
  void ingest(const std::string& sensor, const std::string& kind, int count = 1) {
    REQUIRE(registry->register_seen(sensor, kind, clock.now_ms()));
    std::vector<core::Reading> batch;
    for (int i = 0; i < count; ++i) {
      core::Reading r;
      r.sensor_id = sensor;
      r.kind = kind;
      r.ts = clock.now_ms();
      r.values.push_back({kind == "noise" ? "laeq" : "free_spots", 1.0, true});
      r.values.push_back({"battery", 90.0, true});
      batch.push_back(std::move(r));
    }
    REQUIRE(log.append(batch, clock.now_ms()));
    if (with_ring) ring.append(batch);
  }

  FollowerContext context() {
    return FollowerContext{log,    *registry, engine, clock, with_ring ? &ring : nullptr,
                           encode, &metrics};
  }

  testing::FakeMetaStore meta;
  testing::FakeReadingLog log;
  testing::FakeClock clock;
  std::unique_ptr<registry::SensorRegistry> registry;
  policies::PolicyEngine engine;
  RecentReadings ring{4, encode};
  bool with_ring = true;
  HubMetrics metrics;
};

std::vector<std::string> texts(const FollowBatch& batch) {
  std::vector<std::string> out;
  for (const auto& e : batch.events) out.push_back(*e.json);
  return out;
}

TEST_CASE("a follower sees only what its caller may see, through its view", "[hub]") {
  Harness h;
  h.ingest("noise-1", "noise");
  h.ingest("park-1", "parking");
  const auto context = h.context();
  Follower anonymous(context, SubscriberType::Sse, {"public", false, ""}, {}, 0);
  auto batch = anonymous.next(100, 1000);
  REQUIRE(batch);
  CHECK(texts(*batch) == std::vector<std::string>{"noise-1#1:laeq,"});
  CHECK(anonymous.cursor() == 2);  // the invisible reading was examined too

  Follower partner(context, SubscriberType::Webhook, {"mobility-partner", false, "k1"}, {}, 0);
  batch = partner.next(100, 1000);
  REQUIRE(batch);
  REQUIRE(batch->events.size() == 2);
  CHECK(batch->events[1].granted);
  CHECK(*batch->events[1].json == "park-1#2:free_spots,battery,");

  Follower internal(context, SubscriberType::Sse, {"city-dashboard", true, "k2"},
                    {{"parking"}, {}, {}}, 0);
  batch = internal.next(100, 1000);
  REQUIRE(batch);
  CHECK(texts(*batch) == std::vector<std::string>{"park-1#2:free_spots,battery,"});
}

TEST_CASE("a follower goes from the log to the ring and back without gap or duplicate", "[hub]") {
  Harness h;
  h.ingest("noise-1", "noise", 10);  // the ring (4) holds 7..10 only
  const auto context = h.context();
  Follower follower(context, SubscriberType::Sse, {"public", false, ""}, {}, 0);
  std::vector<core::Seq> seen;
  const auto drain = [&] {
    while (true) {
      auto batch = follower.next(3, 100);
      REQUIRE(batch);
      for (const auto& e : batch->events) seen.push_back(e.seq);
      if (!batch->more) break;
    }
  };
  drain();
  h.ingest("noise-1", "noise", 2);
  drain();
  h.ingest("noise-1", "noise", 20);  // falls behind the ring again
  drain();
  std::vector<core::Seq> expected;
  for (core::Seq s = 1; s <= 32; ++s) expected.push_back(s);
  CHECK(seen == expected);
  CHECK(h.metrics.counters(SubscriberType::Sse).catch_up_switches == 1);
  CHECK(h.metrics.counters(SubscriberType::Sse).events == 32);
}

TEST_CASE("a tightened policy applies from the next call, an expired grant too", "[hub]") {
  Harness h;
  const auto context = h.context();
  Follower partner(context, SubscriberType::Webhook, {"mobility-partner", false, ""}, {}, 0);
  h.ingest("park-1", "parking");
  REQUIRE(partner.next(10, 100)->events.size() == 1);

  h.clock.set(1'900'000'000'000);  // 2030: the grant has ended
  h.ingest("park-1", "parking");
  CHECK(partner.next(10, 100)->events.empty());

  h.clock.set(1'800'000'000'000);
  auto closed = policies::compile_policy("rules: []\n", {"mobility-partner"}, {"parking"});
  REQUIRE(closed);
  h.engine.install(*closed, h.clock.now_ms());
  h.ingest("park-1", "parking");
  CHECK(partner.next(10, 100)->events.empty());
  CHECK(partner.cursor() == 3);
}

TEST_CASE("decisions reused across calls never outlive the grant they rely on", "[hub]") {
  Harness h;
  const auto context = h.context();
  Follower partner(context, SubscriberType::Webhook, {"mobility-partner", false, ""}, {}, 0);
  const core::TimestampMs end = 1'814'400'000'000;  // 2027-07-01T00:00:00Z: `until: 2027-06-30`
  h.clock.set(end - 1);
  h.ingest("park-1", "parking");
  REQUIRE(partner.next(10, 100)->events.size() == 1);  // decided and cached here
  h.clock.set(end);                                    // 1 ms later the grant has ended
  h.ingest("park-1", "parking");
  CHECK(partner.next(10, 100)->events.empty());
}

TEST_CASE("a follower behind retention is told, not silently moved on", "[hub]") {
  Harness h;
  h.with_ring = false;
  h.ingest("noise-1", "noise", 5);
  const auto context = h.context();
  Follower follower(context, SubscriberType::Sse, {"public", false, ""}, {}, 2);
  h.clock.advance(1000);
  h.ingest("noise-1", "noise", 1);
  REQUIRE(h.log.drop_received_before(h.clock.now_ms()));  // 1..5 gone, 6 stays
  auto batch = follower.next(10, 100);
  REQUIRE(batch);
  CHECK(batch->behind_retention);
  CHECK(batch->first_available == 6);
  CHECK(batch->events.empty());
  CHECK(follower.cursor() == 2);
  CHECK(h.metrics.counters(SubscriberType::Sse).behind_retention == 1);

  // From the start (0) nothing is lost: it begins at the oldest reading stored.
  Follower from_start(context, SubscriberType::Sse, {"public", false, ""}, {}, 0);
  batch = from_start.next(10, 100);
  REQUIRE(batch);
  CHECK_FALSE(batch->behind_retention);
  REQUIRE(batch->events.size() == 1);
  CHECK(batch->events[0].seq == 6);
}

TEST_CASE("hub metrics count followers and their lag while they exist", "[hub]") {
  Harness h;
  h.ingest("noise-1", "noise", 3);
  const auto context = h.context();
  {
    Follower behind(context, SubscriberType::WebSocket, {"public", false, ""}, {}, 1);
    Follower current(context, SubscriberType::WebSocket, {"public", false, ""}, {}, 3);
    const auto state = h.metrics.state(SubscriberType::WebSocket, h.log.last_seq());
    CHECK(state.subscribers == 2);
    CHECK(state.max_lag == 2);
    const std::string text = h.metrics.render(h.log.last_seq());
    CHECK(text.find("databroker_hub_subscribers{type=\"websocket\"} 2\n") != std::string::npos);
    CHECK(text.find("databroker_hub_lag_max_readings{type=\"websocket\"} 2\n") !=
          std::string::npos);
  }
  CHECK(h.metrics.state(SubscriberType::WebSocket, 3).subscribers == 0);
}

}  // namespace
}  // namespace databroker::hub
