// GET /v1/ws: the same live events as SSE over WebSocket. The handshake's authentication, the
// subscribe message and its checks, order and resume without gap or duplicate, the caller's
// view, ping/pong on an idle connection, and the close codes.
#include <catch2/catch.hpp>
#include <chrono>

#include "tests/integration/http/live_fixture.h"
#include "tests/support/ws_client.h"

namespace databroker::testing {
namespace {

nlohmann::json next_json(WsClient& ws, std::chrono::milliseconds wait = 5s) {
  auto message = ws.next(wait);
  if (!message) FAIL("no WebSocket message within " << wait.count() << " ms");
  return parse_json(*message);
}

// Connects, subscribes with `subscribe` and checks the confirmation.
void subscribe(WsClient& ws, const std::string& subscribe) {
  REQUIRE(ws.is_open());
  REQUIRE(ws.send(subscribe));
  const auto reply = next_json(ws);
  REQUIRE(reply["type"] == "subscribed");
}

TEST_CASE(
    "a WebSocket subscriber receives readings in order and resumes exactly after a "
    "disconnect",
    "[http][websocket]") {
  SseFixture s;
  for (int i = 0; i < 3; ++i) s.post_air(10 + i);
  std::uint64_t last = 0;
  {
    WsClient ws(s.f.port(), "/v1/ws", bearer(s.f.internal_key));
    REQUIRE(ws.handshake_status() == 101);
    subscribe(ws, R"({"type":"subscribe","after_seq":0})");
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
      const auto event = next_json(ws);
      CHECK(event["type"] == "reading");
      REQUIRE(event["seq"] == seq);
      CHECK(event["reading"]["seq"] == seq);
      CHECK(event["reading"]["sensor"] == "air-1");
    }
    s.post_air(20);
    REQUIRE(next_json(ws)["seq"] == 4);
    last = 4;
  }
  // Disconnected: more readings arrive meanwhile.
  for (int i = 0; i < 5; ++i) s.post_air(30 + i);
  WsClient ws(s.f.port(), "/v1/ws", bearer(s.f.internal_key));
  subscribe(ws, R"({"type":"subscribe","after_seq":)" + std::to_string(last) + "}");
  for (std::uint64_t seq = 5; seq <= 9; ++seq) REQUIRE(next_json(ws)["seq"] == seq);
  CHECK_FALSE(ws.next(300ms));
  const auto live = s.post_air(40);
  CHECK(next_json(ws)["seq"] == live);
}

TEST_CASE("an anonymous WebSocket gets open data through the open view, filters narrow it",
          "[http][websocket]") {
  SseFixture s;
  WsClient ws(s.f.port(), "/v1/ws");
  subscribe(ws, R"({"type":"subscribe","kind":["air_quality","waste_bin"]})");
  s.post_bin(40);  // closed
  const auto open = s.post_air(12.5);
  const auto event = next_json(ws);
  CHECK(event["seq"] == open);
  CHECK(event["reading"]["location"]["lat"] == 51.05);  // round_location: 2
  CHECK_FALSE(event["reading"]["values"].contains("battery"));
  CHECK_FALSE(ws.next(300ms));
}

TEST_CASE("the WebSocket handshake authenticates like every /v1 route", "[http][websocket]") {
  SseFixture s;
  {
    WsClient ws(s.f.port(), "/v1/ws?access_token=" + s.f.internal_key);
    subscribe(ws, R"({"type":"subscribe","after_seq":0,"kind":"waste_bin"})");
    const auto bin = s.post_bin(3);
    CHECK(next_json(ws)["seq"] == bin);  // internal data: the token was used
  }
  {
    WsClient ws(s.f.port(), "/v1/ws?access_token=nope");
    CHECK_FALSE(ws.is_open());
    CHECK(ws.handshake_status() == 401);
  }
  {
    WsClient ws(s.f.port(), "/v1/ws", bearer("db_bogus"));
    CHECK(ws.handshake_status() == 401);
  }
  // A plain GET is told to upgrade.
  const auto plain = s.client.get("/v1/ws");
  CHECK(plain.status == 426);
  CHECK(plain.header("Upgrade") == "websocket");
  CHECK(plain.header("Content-Type") == "application/problem+json");
}

TEST_CASE("a bad subscribe message closes with 4400 and a reason", "[http][websocket]") {
  SseFixture s;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not a JSON object"},
      {R"({"type":"listen"})", "expected"},
      {R"({"type":"subscribe","kinds":["noise"]})", "unknown member 'kinds'"},
      {R"({"type":"subscribe","kind":"nois"})", "kind"},
      {R"({"type":"subscribe","stream":[1]})", "stream must be"},
      {R"({"type":"subscribe","after_seq":-1})", "after_seq"},
      {R"({"type":"subscribe","zone":""})", ""},  // an empty list entry is dropped: fine
  };
  for (const auto& [message, reason] : cases) {
    CAPTURE(message);
    WsClient ws(s.f.port(), "/v1/ws");
    REQUIRE(ws.send(message));
    if (reason.empty()) {
      CHECK(next_json(ws)["type"] == "subscribed");
      continue;
    }
    CHECK(ws.wait_closed());
    CHECK(ws.close_code() == 4400);
    CHECK(ws.close_reason().find(reason) != std::string::npos);
  }
}

TEST_CASE("a WebSocket that never subscribes is closed with 4408", "[http][websocket]") {
  HttpFixtureOptions options = SseFixture::with_policy();
  options.http.header_timeout = std::chrono::milliseconds(300);
  SseFixture s(options);
  WsClient ws(s.f.port(), "/v1/ws");
  REQUIRE(ws.is_open());
  CHECK(ws.wait_closed(3s));
  CHECK(ws.close_code() == 4408);
}

TEST_CASE("an idle WebSocket is kept alive by pings it answers", "[http][websocket]") {
  HttpFixtureOptions options = SseFixture::with_policy();
  options.http.sse_heartbeat = std::chrono::milliseconds(200);  // idle timeout: 400 ms
  SseFixture s(options);
  WsClient ws(s.f.port(), "/v1/ws");
  subscribe(ws, R"({"type":"subscribe"})");
  // Our client answers pings while it reads; without them the server would close at 400 ms.
  CHECK_FALSE(ws.next(1500ms));
  CHECK(ws.is_open());
  const auto seq = s.post_air(1);
  CHECK(next_json(ws)["seq"] == seq);
}

TEST_CASE("a tightened policy stops a WebSocket's readings within a second", "[http][websocket]") {
  SseFixture s;
  WsClient ws(s.f.port(), "/v1/ws");  // anonymous: open data only
  subscribe(ws, R"({"type":"subscribe"})");
  const auto open = s.post_air(1);
  CHECK(next_json(ws)["seq"] == open);
  s.f.policy_yaml = "rules: []\n";  // everything closed
  REQUIRE(s.f.reload_policy());
  s.post_air(2);
  CHECK_FALSE(ws.next(1500ms));
  CHECK(ws.is_open());  // a policy change narrows what is sent; it does not close anything
}

TEST_CASE("revoking a key closes its WebSocket with 4401", "[http][websocket]") {
  SseFixture s;
  const std::string key = s.f.make_key("city-dashboard");
  WsClient ws(s.f.port(), "/v1/ws", bearer(key));
  subscribe(ws, R"({"type":"subscribe"})");
  REQUIRE(s.f.keys->revoke(*access::key_id_of(key)));
  CHECK(ws.wait_closed(3s));
  CHECK(ws.close_code() == 4401);
}

TEST_CASE("a WebSocket resuming behind retention is closed with 4410", "[http][websocket]") {
  SseFixture s;
  for (int i = 0; i < 3; ++i) s.post_air(i);
  s.f.clock.advance(1000);
  s.post_air(9);
  REQUIRE(s.f.storage->log().drop_received_before(s.f.clock.now_ms()));
  WsClient ws(s.f.port(), "/v1/ws", bearer(s.f.internal_key));
  REQUIRE(ws.send(R"({"type":"subscribe","after_seq":1})"));
  CHECK(ws.wait_closed());
  CHECK(ws.close_code() == 4410);
  CHECK(ws.close_reason().find("oldest stored is 4") != std::string::npos);
}

TEST_CASE("stopping the server closes WebSockets with 1001", "[http][websocket]") {
  SseFixture s;
  WsClient ws(s.f.port(), "/v1/ws");
  subscribe(ws, R"({"type":"subscribe"})");
  const auto started = SteadyClock::now();
  s.f.server->stop();
  CHECK(ws.wait_closed(3s));
  CHECK(SteadyClock::now() - started < 3s);
}

}  // namespace
}  // namespace databroker::testing
