// What the live-delivery tests share: a raw-socket SSE client, a fixture with a policy (air
// quality open through a view, bins closed) and helpers to post readings.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "tests/integration/http/http_fixture.h"

namespace databroker::testing {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

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
  // `receive_buffer` > 0 shrinks the socket's receive buffer (set before connecting), so a
  // client that stops reading stalls the server quickly.
  SseClient(std::uint16_t port, const std::string& target, const HeaderList& headers = {},
            int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
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
    const auto deadline = SteadyClock::now() + wait;
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
    const auto deadline = SteadyClock::now() + wait;
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
    const auto deadline = SteadyClock::now() + wait;
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left <= 0ms) return std::nullopt;
      auto event = next(left);
      if (!event || event->comment.empty()) return event;
    }
  }

  // True when the server ends the stream (EOF) within `wait`.
  bool closed_by_server(std::chrono::milliseconds wait = 5s) {
    const auto deadline = SteadyClock::now() + wait;
    while (fill(deadline)) {
    }
    return eof_;
  }

  std::string head;

 private:
  // Reads what is available before the deadline; false on timeout or EOF.
  bool fill(SteadyClock::time_point deadline) {
    if (eof_) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
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

inline constexpr const char* kLivePolicy = R"(
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
    options.policy_yaml = kLivePolicy;
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

inline HeaderList with(HeaderList headers, std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return headers;
}

}  // namespace databroker::testing
