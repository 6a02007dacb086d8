// GET /v1/subscribe: Server-Sent Events following the log. Resume (after_seq, Last-Event-ID),
// the switch to live without gap or duplicate, policy filtering through the caller's view, the
// access_token query parameter, the kind filter, heartbeats, metrics and server stop.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "tests/integration/http/live_fixture.h"

namespace databroker::testing {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a subscriber replays from after_seq, then goes live without gap or duplicate",
          "[http][sse]") {
  SseFixture s;
  for (int i = 0; i < 5; ++i) s.post_air(10 + i);

  SseClient sse(s.f.port(), "/v1/subscribe?after_seq=2", bearer(s.f.internal_key));
  REQUIRE(sse.read_status() == 200);
  CHECK(sse.head.find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(sse.head.find("Cache-Control: no-store\r\n") != std::string::npos);
  CHECK(sse.head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto event = sse.next_event();
    REQUIRE(event);
    CHECK(event->event == "reading");
    CHECK(parse_json(event->data)["seq"] == std::stoull(event->id));
    ids.push_back(event->id);
  }
  CHECK(ids == std::vector<std::string>{"3", "4", "5"});

  // Live: readings ingested while connected arrive in seq order, each once.
  for (int i = 0; i < 20; ++i) s.post_air(20 + i);
  for (std::uint64_t seq = 6; seq <= 25; ++seq) {
    auto event = sse.next_event();
    REQUIRE(event);
    CHECK(event->id == std::to_string(seq));
  }
  CHECK_FALSE(sse.next_event(300ms));
}

TEST_CASE("Last-Event-ID resumes after the last event received, and wins over after_seq",
          "[http][sse]") {
  SseFixture s;
  for (int i = 0; i < 4; ++i) s.post_air(10 + i);
  SseClient sse(s.f.port(), "/v1/subscribe?after_seq=0",
                with(bearer(s.f.internal_key), "Last-Event-ID", "3"));
  REQUIRE(sse.read_status() == 200);
  auto event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == "4");
  CHECK(s.post_air(1) == 5);
  event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == "5");
}

TEST_CASE("without a position a subscriber receives only what arrives after it connected",
          "[http][sse]") {
  SseFixture s;
  s.post_air(1);
  SseClient sse(s.f.port(), "/v1/subscribe", bearer(s.f.internal_key));
  REQUIRE(sse.read_status() == 200);
  CHECK_FALSE(sse.next_event(300ms));
  const auto seq = s.post_air(2);
  auto event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(seq));
}

TEST_CASE("an anonymous subscriber gets only open data, through the open view", "[http][sse]") {
  SseFixture s;
  s.post_bin(40);
  const auto air = s.post_air(12.5);
  SseClient sse(s.f.port(), "/v1/subscribe?after_seq=0");
  REQUIRE(sse.read_status() == 200);
  auto event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(air));
  const auto reading = parse_json(event->data);
  CHECK(reading["sensor"] == "air-1");
  CHECK_FALSE(reading["values"].contains("battery"));
  CHECK(reading["location"]["lat"] == 51.05);

  // Live too: the closed bin reading in between is never sent.
  s.post_bin(41);
  const auto next_air = s.post_air(13);
  event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(next_air));
}

TEST_CASE("access_token in the query authenticates a subscriber, a bad one is 401", "[http][sse]") {
  SseFixture s;
  const auto bin = s.post_bin(40);
  {
    SseClient sse(s.f.port(), "/v1/subscribe?after_seq=0&access_token=" + s.f.internal_key);
    REQUIRE(sse.read_status() == 200);
    auto event = sse.next_event();
    REQUIRE(event);
    CHECK(event->id == std::to_string(bin));  // internal data: the token was used
  }
  {
    SseClient sse(s.f.port(), "/v1/subscribe?access_token=not-a-key");
    CHECK(sse.read_status() == 401);
  }
  {
    SseClient sse(s.f.port(), "/v1/subscribe?access_token=");
    CHECK(sse.read_status() == 401);
  }
  // Other routes do not read the query parameter: still the anonymous caller.
  const auto streams = s.client.get("/v1/streams?access_token=" + s.f.internal_key);
  REQUIRE(streams.status == 200);
  CHECK(parse_json(streams.body)["streams"].size() == 0);
}

TEST_CASE("a kind filter sends only readings of that kind", "[http][sse]") {
  SseFixture s;
  s.post_air(1);
  const auto bin = s.post_bin(50);
  s.post_air(2);
  SseClient sse(s.f.port(), "/v1/subscribe?kind=waste_bin&after_seq=0", bearer(s.f.internal_key));
  REQUIRE(sse.read_status() == 200);
  auto event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(bin));
  s.post_air(3);
  const auto next_bin = s.post_bin(51);
  event = sse.next_event();
  REQUIRE(event);
  CHECK(event->id == std::to_string(next_bin));
}

TEST_CASE("bad subscription parameters are 400", "[http][sse]") {
  SseFixture s;
  for (const std::string target :
       {"/v1/subscribe?kind=nope", "/v1/subscribe?after_seq=x", "/v1/subscribe?stream=a%20b"}) {
    INFO(target);
    CHECK(s.client.get(target).status == 400);
  }
  CHECK(s.client.get("/v1/subscribe", {{"Last-Event-ID", "abc"}}).status == 400);
}

TEST_CASE("a silent stream sends heartbeat comments", "[http][sse]") {
  HttpFixtureOptions options = SseFixture::with_policy();
  options.http.sse_heartbeat = std::chrono::milliseconds(100);
  SseFixture s(options);
  SseClient sse(s.f.port(), "/v1/subscribe");
  REQUIRE(sse.read_status() == 200);
  auto block = sse.next(2s);
  REQUIRE(block);
  CHECK(block->comment == " heartbeat");
}

TEST_CASE("metrics count open subscribers and events sent", "[http][sse]") {
  SseFixture s;
  s.post_air(1);
  s.post_air(2);
  const auto metric = [&](const std::string& name) {
    const auto body = s.client.get("/metrics").body;
    const auto at = body.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stoll(body.substr(at + name.size() + 2));
  };
  {
    SseClient sse(s.f.port(), "/v1/subscribe?after_seq=0", bearer(s.f.internal_key));
    REQUIRE(sse.read_status() == 200);
    REQUIRE(sse.next_event());
    REQUIRE(sse.next_event());
    CHECK(metric("databroker_sse_subscribers") == 1);
    CHECK(metric("databroker_sse_events_sent_total") == 2);
  }
  // The server notices the client leaving at once (it keeps a read pending).
  const auto deadline = SteadyClock::now() + 5s;
  while (metric("databroker_sse_subscribers") != 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(metric("databroker_sse_subscribers") == 0);
}

TEST_CASE("stopping the server closes open streams", "[http][sse]") {
  SseFixture s;
  SseClient sse(s.f.port(), "/v1/subscribe", bearer(s.f.internal_key));
  REQUIRE(sse.read_status() == 200);
  const auto started = SteadyClock::now();
  s.f.server->stop();
  CHECK(sse.closed_by_server(3s));
  CHECK(SteadyClock::now() - started < 3s);  // a stream is not a request stop() waits for
}

}  // namespace
}  // namespace databroker::testing
