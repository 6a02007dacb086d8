// Hostile HTTP clients while a normal one keeps being served: slowloris (many connections
// trickling a header that never ends), odd methods, encoded path tricks and invalid UTF-8 in
// ids. The normal client's latencies are printed, never asserted (docs/reliability.md).
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/http/http_fixture.h"
#include "tests/support/processes.h"

namespace databroker::testing {
namespace {

using namespace std::chrono_literals;

// The normal client: GET /v1/streams in a loop on one kept-alive connection until `stop`.
struct NormalClient {
  std::vector<double> latencies_ms;
  std::size_t failures = 0;
  std::atomic<bool> stop{false};
  std::thread thread;

  explicit NormalClient(std::uint16_t port) {
    thread = std::thread([this, port] {
      HttpClient client(port);
      while (!stop) {
        const auto start = std::chrono::steady_clock::now();
        const auto reply = client.get("/v1/streams");
        latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
        if (reply.status != 200) ++failures;
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  void finish(const char* during) {
    stop = true;
    thread.join();
    std::sort(latencies_ms.begin(), latencies_ms.end());
    REQUIRE_FALSE(latencies_ms.empty());
    std::printf(
        "normal client during %s: %zu requests, %zu failed, p50 %.2f ms, p99 %.2f ms, "
        "max %.2f ms\n",
        during, latencies_ms.size(), failures, latencies_ms[latencies_ms.size() / 2],
        latencies_ms[latencies_ms.size() * 99 / 100], latencies_ms.back());
  }
};

TEST_CASE("slowloris: connections trickling a header are closed at header_timeout, others served",
          "[http][limits][hostile]") {
  HttpFixtureOptions options;
  options.http.header_timeout = 1000ms;
  options.http.max_connections = 400;
  HttpFixture f(options);
  NormalClient normal(f.port());

  constexpr int kSlow = 200;
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<RawConnection>(f.port()));
    REQUIRE(slow.back()->send("GET /v1/streams HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  }
  const auto opened = std::chrono::steady_clock::now();
  // One header line every 100 ms on every connection, for three times the header timeout.
  std::vector<bool> refused(kSlow, false);
  double last_refused_ms = 0;  // when a write first failed on the last connection to fail
  while (std::chrono::steady_clock::now() - opened < 3s) {
    for (int i = 0; i < kSlow; ++i) {
      if (!refused[i] && !slow[i]->send("X-Trickle: a\r\n")) {
        refused[i] = true;
        last_refused_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - opened)
                .count();
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  std::printf(
      "slowloris: %d connections trickling, writes refused on %zu of them, the last "
      "after %.0f ms (header_timeout 1000 ms)\n",
      kSlow, static_cast<std::size_t>(std::count(refused.begin(), refused.end(), true)),
      last_refused_ms);
  normal.finish("200 slowloris connections");
  // Every slow connection was closed by the server: none of them is served or still open.
  int closed = 0;
  for (int i = 0; i < kSlow; ++i) {
    if (refused[i] || slow[i]->closed_by_peer(200)) ++closed;
  }
  CHECK(closed == kSlow);
  CHECK(normal.failures == 0);
  // And the server takes new connections as before.
  CHECK(f.client().get("/healthz").status == 200);
}

TEST_CASE("odd methods, encoded path tricks and invalid UTF-8 in ids are 4xx, others served",
          "[http][hostile]") {
  HttpFixture f;
  NormalClient normal(f.port());
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"PROPFIND", "/v1/streams"},
      {"TRACE", "/v1/streams"},
      {"CONNECT", "127.0.0.1:80"},
      {"OPTIONS", "*"},
      {"PATCH", "/v1/admin/keys"},
      {"BREW", "/v1/streams"},
      {"GET", "/v1/streams/%2e%2e/latest"},
      {"GET", "/v1/streams/..%2f..%2fetc%2fpasswd"},
      {"GET", "/v1/streams/a%2Fb/latest"},
      {"GET", "/v1/streams/%00/readings"},
      {"GET", "/v1/streams/%ff%fe%fd"},
      {"GET", "/v1/streams/%c0%af"},
      {"GET", "/v1/streams/" + std::string(300, 'a')},
      {"GET", "/v1/streams/caf%C3%A9"},
      {"GET", "/v1/streams/x?limit=%ff"},
      {"GET", "/v1/streams/x/readings?from=%00"},
      {"GET", "/v1/readings?after_seq=99999999999999999999999"},
      {"GET", "//v1//streams"},
      {"GET", "/v1/streams/%"},
      {"GET", "/v1/streams/%zz"},
      {"POST", "/v1/sensors/noise/%ff/readings"},
      {"POST", "/v1/sensors/%00/n-1/readings"},
      {"GET", "/ngsi-ld/v1/entities/urn:ngsi-ld:%ff"},
      {"GET", "/../../etc/passwd"},
      {"GET", "http://evil.example/v1/streams"},
  };
  for (const auto& [method, target] : requests) {
    RawConnection connection(f.port());
    std::string head = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (method == "POST")
      head += "Authorization: Bearer " + f.ingest_key +
              "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    else
      head += "\r\n";
    REQUIRE(connection.send(head));
    const auto reply = connection.read_reply();
    INFO(method << " " << target << " → " << reply.status << " " << reply.body);
    // Refused (4xx), or closed without an answer for what is not HTTP at all; never a 5xx or
    // a success.
    CHECK((reply.status == 0 || (reply.status >= 400 && reply.status < 500)));
    if (reply.status >= 400) {
      CHECK(reply.header("Content-Type") == "application/problem+json");
    }
  }
  normal.finish("hostile methods and paths");
  CHECK(normal.failures == 0);
}

}  // namespace
}  // namespace databroker::testing
