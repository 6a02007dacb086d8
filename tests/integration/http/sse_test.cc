// GET /v1/subscribe: Server-Sent Events following the log. Resume (after_seq, Last-Event-ID),
// the switch to live without gap or duplicate, policy filtering through the caller's view, the
// access_token query parameter, the kind filter, heartbeats, metrics and server stop.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

#include "tests/integration/http/http_fixture.h"

namespace databroker::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
  std::string comment;  // the text of a ':' line (heartbeats)
};

// A raw-socket SSE client: sends one GET, reads the head, then de-chunks the body and splits it
// into events, every read with a deadline.
class SseClient {
 public:
  SseClient(std::uint16_t port, const std::string& target, const HeaderList& headers = {}) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("connect");
    }
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
    request += "Accept: text/event-stream\r\n\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      throw std::runtime_error("send");
    }
  }
  ~SseClient() { ::close(fd_); }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // The status of the response (0 when none arrives in time); the head stays in `head`.
  unsigned read_status(std::chrono::milliseconds wait = 5s) {
    const auto deadline = Clock::now() + wait;
    std::size_t end;
    while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return 0;
    }
    head = raw_.substr(0, end + 2);
    raw_.erase(0, end + 4);
    if (head.size() < 12) return 0;
    return static_cast<unsigned>(std::stoul(head.substr(9, 3)));
  }

  // The next event or comment block, or nothing when none arrives before the deadline.
  std::optional<SseEvent> next(std::chrono::milliseconds wait = 5s) {
    const auto deadline = Clock::now() + wait;
    while (true) {
      dechunk();
      if (const auto end = body_.find("\n\n"); end != std::string::npos) {
        const std::string block = body_.substr(0, end + 1);
        body_.erase(0, end + 2);
        return parse(block);
      }
      if (!fill(deadline)) return std::nullopt;
    }
  }

  // The next event that is not a comment.
  std::optional<SseEvent> next_event(std::chrono::milliseconds wait = 5s) {
    const auto deadline = Clock::now() + wait;
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) return std::nullopt;
      auto event = next(left);
      if (!event || event->comment.empty()) return event;
    }
  }

  // True when the server ends the stream (EOF) within `wait`.
  bool closed_by_server(std::chrono::milliseconds wait = 5s) {
    const auto deadline = Clock::now() + wait;
    while (fill(deadline)) {
    }
    return eof_;
  }

  std::string head;

 private:
  // Reads what is available before the deadline; false on timeout or EOF.
  bool fill(Clock::time_point deadline) {
    if (eof_) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    raw_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  void dechunk() {
    while (true) {
      const auto line_end = raw_.find("\r\n");
      if (line_end == std::string::npos) return;
      const std::size_t size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
      if (raw_.size() < line_end + 2 + size + 2) return;
      body_.append(raw_, line_end + 2, size);
      raw_.erase(0, line_end + 2 + size + 2);
    }
  }

  static SseEvent parse(const std::string& block) {
    SseEvent event;
    std::size_t start = 0;
    while (start < block.size()) {
      const auto end = block.find('\n', start);
      const std::string line = block.substr(start, end - start);
      start = end + 1;
      const auto field = [&](std::string_view name) -> std::optional<std::string> {
        if (line.rfind(std::string(name) + ": ", 0) != 0) return std::nullopt;
        return line.substr(name.size() + 2);
      };
      if (!line.empty() && line[0] == ':') {
        event.comment = line.substr(1);
      } else if (auto id = field("id")) {
        event.id = *id;
      } else if (auto name = field("event")) {
        event.event = *name;
      } else if (auto data = field("data")) {
        event.data = *data;
      }
    }
    return event;
  }

  int fd_ = -1;
  std::string raw_;   // received, not yet de-chunked
  std::string body_;  // de-chunked, not yet split into events
  bool eof_ = false;
};

constexpr const char* kPolicy = R"(
rules:
  - name: air quality is open data
    match: {kind: air_quality}
    class: open
    open_view: {round_location: 2, drop: [battery]}
  - name: bins stay internal
    match: {kind: waste_bin}
    class: closed
)";

struct SseFixture {
  explicit SseFixture(HttpFixtureOptions options = with_policy()) : f(std::move(options)) {}

  static HttpFixtureOptions with_policy() {
    HttpFixtureOptions options;
    options.policy_yaml = kPolicy;
    return options;
  }

  // Posts one reading and returns its seq.
  std::uint64_t post_air(double pm25) {
    return post("/v1/sensors/air_quality/air-1/readings",
                R"({"pm25":)" + std::to_string(pm25) + R"(,"battery":80})",
                R"(,"location":{"lat":51.05432,"lon":3.71789})");
  }
  std::uint64_t post_bin(int fill) {
    return post("/v1/sensors/waste_bin/bin-1/readings",
                R"({"fill_level":)" + std::to_string(fill) + "}", "");
  }
  std::uint64_t post(const std::string& target, const std::string& values,
                     const std::string& extra) {
    const auto ts = f.clock.now_ms() - 100'000 + static_cast<core::TimestampMs>(++posted);
    const std::string body =
        R"({"ts":)" + std::to_string(ts) + R"(,"values":)" + values + extra + "}";
    const auto reply = client.post(target, body, bearer(f.ingest_key));
    REQUIRE(reply.status == 202);
    return parse_json(reply.body)["last_seq"].get<std::uint64_t>();
  }

  HttpFixture f;
  HttpClient client = f.client();
  int posted = 0;
};

HeaderList with(HeaderList headers, std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return headers;
}

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

TEST_CASE("access_token in the query authenticates a subscriber; a bad one is 401", "[http][sse]") {
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
  const auto deadline = Clock::now() + 5s;
  while (metric("databroker_sse_subscribers") != 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(metric("databroker_sse_subscribers") == 0);
}

TEST_CASE("stopping the server closes open streams", "[http][sse]") {
  SseFixture s;
  SseClient sse(s.f.port(), "/v1/subscribe", bearer(s.f.internal_key));
  REQUIRE(sse.read_status() == 200);
  const auto started = Clock::now();
  s.f.server->stop();
  CHECK(sse.closed_by_server(3s));
  CHECK(Clock::now() - started < 3s);  // a stream is not a request stop() waits for
}

}  // namespace
}  // namespace databroker::testing
