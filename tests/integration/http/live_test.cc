// Live delivery over SSE beyond the basics of sse_test.cc: filters with lists and globs, a
// stalled subscriber (ingest is not slowed, memory stays bounded, nothing is skipped), policy
// changes and key revocation reaching open streams, and retention gaps.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "tests/integration/http/live_fixture.h"

namespace databroker::testing {
namespace {

// Posts `count` air-quality readings of sensor `sensor` in batches of 400 (the fixture's body
// limit is 64 KiB) through
// POST /v1/readings; returns the wall time it took.
std::chrono::duration<double> post_air_batches(SseFixture& s, const std::string& sensor,
                                               int count) {
  const auto started = SteadyClock::now();
  for (int sent = 0; sent < count;) {
    const int n = std::min(400, count - sent);
    std::string body = "[";
    for (int i = 0; i < n; ++i) {
      if (i > 0) body += ',';
      body += R"({"sensor":")" + sensor + R"(","kind":"air_quality","ts":)" +
              std::to_string(s.f.clock.now_ms() - 1'000'000 + sent + i) + R"(,"values":{"pm25":)" +
              std::to_string((sent + i) % 500) + "}}";
    }
    body += "]";
    const auto reply = s.client.post("/v1/readings", body, bearer(s.f.ingest_key));
    REQUIRE(reply.status == 202);
    sent += n;
  }
  return SteadyClock::now() - started;
}

void declare(HttpFixture& f, const std::string& id, const std::string& kind,
             const std::string& zone) {
  registry::SensorInfo sensor;
  sensor.id = id;
  sensor.kind = kind;
  sensor.zone = zone;
  sensor.declared = true;
  REQUIRE(f.registry->declare(std::span(&sensor, 1), f.clock.now_ms()));
}

TEST_CASE("stream and zone filters take comma-separated lists and globs", "[http][live]") {
  SseFixture s;
  declare(s.f, "gent-aq-1", "air_quality", "centrum-noord");
  declare(s.f, "gent-aq-2", "air_quality", "ledeberg");
  declare(s.f, "leuven-aq-1", "air_quality", "centrum");
  SseClient sse(s.f.port(), "/v1/subscribe?after_seq=0&stream=gent-*,leuven-aq-1&zone=centrum*",
                bearer(s.f.internal_key));
  REQUIRE(sse.read_status() == 200);
  const auto a = s.post("/v1/sensors/air_quality/gent-aq-1/readings", R"({"pm25":1})", "");
  s.post("/v1/sensors/air_quality/gent-aq-2/readings", R"({"pm25":2})", "");  // zone
  const auto c = s.post("/v1/sensors/air_quality/leuven-aq-1/readings", R"({"pm25":3})", "");
  s.post_air(4);  // air-1: neither stream pattern matches
  auto event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(a));
  event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(c));
  CHECK_FALSE(sse.next_event(300ms));

  SseClient bad(s.f.port(), "/v1/subscribe?stream=a/b&zone=", bearer(s.f.internal_key));
  CHECK(bad.read_status() == 400);
}

TEST_CASE("a stalled subscriber does not slow ingest, stays bounded, then receives everything",
          "[http][live]") {
  constexpr int kReadings = 60'000;
  SseFixture s;
  // Baseline: the same ingest with no subscriber at all.
  const auto alone = post_air_batches(s, "warmup", kReadings);

  // A subscriber that reads its first event, then stops reading (a tiny receive buffer, so the
  // server's writes stall soon).
  SseClient stalled(s.f.port(), "/v1/subscribe", bearer(s.f.internal_key), 4096);
  REQUIRE(stalled.read_status() == 200);
  const core::Seq start = s.f.storage->log().last_seq();
  const auto with_stalled = post_air_batches(s, "air-1", kReadings);
  const core::Seq head = s.f.storage->log().last_seq();
  REQUIRE(head == start + kReadings);

  // Bounded: the server did not pull what the client cannot take into memory; the subscriber's
  // cursor stays far behind (what it holds is one batch plus the socket buffers).
  const auto state = s.f.hub_metrics.state(hub::SubscriberType::Sse, head);
  CHECK(state.subscribers == 1);
  CHECK(state.max_lag > kReadings / 2);
  const double ratio = with_stalled.count() / alone.count();
  std::printf(
      "stalled subscriber: %d readings ingested in %.3f s alone, %.3f s with a stalled "
      "subscriber (x%.2f); subscriber lag %llu readings\n",
      kReadings, alone.count(), with_stalled.count(), ratio,
      static_cast<unsigned long long>(state.max_lag));
  WARN("ingest time with a stalled subscriber / alone: " << ratio << "; lag " << state.max_lag);

  // Reading again, it receives every reading in order: first from the log (it fell behind the
  // ring), then live.
  for (core::Seq seq = start + 1; seq <= head; ++seq) {
    auto event = stalled.next_event(10s);
    REQUIRE(event);
    REQUIRE(event->id == std::to_string(seq));
  }
  CHECK(s.f.hub_metrics.counters(hub::SubscriberType::Sse).catch_up_switches >= 1);
  const auto live = s.post_air(7);
  auto event = stalled.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(live));
}

TEST_CASE("a tightened policy stops a live stream's readings within a second", "[http][live]") {
  SseFixture s;
  SseClient sse(s.f.port(), "/v1/subscribe");  // anonymous: open data only
  REQUIRE(sse.read_status() == 200);
  const auto open = s.post_air(1);
  auto event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(open));

  s.f.policy_yaml = "rules: []\n";  // everything closed
  REQUIRE(s.f.reload_policy());
  s.post_air(2);
  CHECK_FALSE(sse.next_event(1500ms));
}

TEST_CASE("an expiring grant ends a partner's live readings without a reload", "[http][live]") {
  HttpFixtureOptions options;
  options.policy_yaml = R"(
rules:
  - name: bins shared with the partner for a while
    match: {kind: waste_bin}
    class: shared
    grants:
      - profile: mobility-partner
        purpose: collection routes
        legal_basis: contract 7
        until: 2030-01-01T00:00:00Z
)";
  SseFixture s(options);
  s.f.clock.set(1'893'455'990'000);  // 2029-12-31T23:59:50Z
  SseClient sse(s.f.port(), "/v1/subscribe", bearer(s.f.partner_key));
  REQUIRE(sse.read_status() == 200);
  const auto granted = s.post_bin(10);
  auto event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(granted));
  s.f.clock.set(1'893'456'000'000);  // the grant has ended
  s.post_bin(11);
  CHECK_FALSE(sse.next_event(1500ms));
}

TEST_CASE("revoking a key closes its live streams, and it cannot reconnect", "[http][live]") {
  SseFixture s;
  const std::string key = s.f.make_key("city-dashboard");
  SseClient sse(s.f.port(), "/v1/subscribe", bearer(key));
  REQUIRE(sse.read_status() == 200);
  const auto first = s.post_air(1);
  auto event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(first));

  const auto id = access::key_id_of(key);
  REQUIRE(id);
  const auto started = SteadyClock::now();
  REQUIRE(s.client.del("/v1/admin/keys/" + std::string(*id), bearer(s.f.admin_key)).status == 204);
  event = sse.next_event(3s);
  REQUIRE(event);
  CHECK(event->event == "error");
  CHECK(parse_json(event->data)["type"] == "key_revoked");
  CHECK(sse.closed_by_server(3s));
  CHECK(SteadyClock::now() - started < 2s);

  SseClient again(s.f.port(), "/v1/subscribe", bearer(key));
  CHECK(again.read_status() == 401);
}

TEST_CASE("a position older than retention is 410, from the start is fine", "[http][live]") {
  SseFixture s;
  for (int i = 0; i < 5; ++i) s.post_air(i);
  s.f.clock.advance(1000);
  const auto kept = s.post_air(9);
  REQUIRE(s.f.storage->log().drop_received_before(s.f.clock.now_ms()));

  SseClient behind(s.f.port(), "/v1/subscribe?after_seq=2", bearer(s.f.internal_key));
  CHECK(behind.read_status() == 410);
  SseClient from_start(s.f.port(), "/v1/subscribe?after_seq=0", bearer(s.f.internal_key));
  REQUIRE(from_start.read_status() == 200);
  auto event = from_start.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(kept));
}

}  // namespace
}  // namespace databroker::testing
