// The HTTP server's own metrics, in Prometheus text format, appended to Services::metrics().
//
//   databroker_http_requests_total{method,route,status}   counter; route is the pattern
//                                                         ("/v1/streams/{id}"), or "other" for
//                                                         unmatched paths and requests refused
//                                                         before routing (400/413/431)
//   databroker_http_request_duration_seconds{route}       histogram, request read → response
//                                                         handed to the connection
//   databroker_http_open_connections                      gauge
//   databroker_http_refused_connections_total             counter, over max_connections
//   databroker_sse_subscribers                            gauge, open GET /v1/subscribe streams
//   databroker_sse_events_sent_total                      counter, events written to them
//   databroker_websocket_subscribers                      gauge, subscribed GET /v1/ws connections
//   databroker_websocket_events_sent_total                counter, events written to them
//   databroker_http_ingest_events_ignored_total            counter, ChirpStack HTTP integration
//                                                         events other than `up` (answered 204)
//
// Labels come from the route table, never from the request, so cardinality is bounded.
// Thread-safe: counters are atomics; the per-route maps are guarded by `mutex_` (held for a map
// lookup and an increment).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "adapters/http/exchange.h"

namespace databroker::http {

inline constexpr std::string_view kOtherRoute = "other";

class HttpMetrics {
 public:
  void record_request(Verb method, std::string_view route, unsigned status,
                      std::chrono::nanoseconds latency);

  void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  void connection_refused() { refused_connections_.fetch_add(1, std::memory_order_relaxed); }
  std::int64_t open_connections() const {
    return open_connections_.load(std::memory_order_relaxed);
  }
  std::uint64_t refused_connections() const {
    return refused_connections_.load(std::memory_order_relaxed);
  }

  void sse_opened() { sse_subscribers_.fetch_add(1, std::memory_order_relaxed); }
  void sse_closed() { sse_subscribers_.fetch_sub(1, std::memory_order_relaxed); }
  void sse_events_sent(std::uint64_t events) {
    sse_events_sent_.fetch_add(events, std::memory_order_relaxed);
  }
  std::int64_t sse_subscribers() const { return sse_subscribers_.load(std::memory_order_relaxed); }
  std::uint64_t sse_events_sent() const { return sse_events_sent_.load(std::memory_order_relaxed); }

  void websocket_opened() { websocket_subscribers_.fetch_add(1, std::memory_order_relaxed); }
  void websocket_closed() { websocket_subscribers_.fetch_sub(1, std::memory_order_relaxed); }
  void websocket_events_sent(std::uint64_t events) {
    websocket_events_sent_.fetch_add(events, std::memory_order_relaxed);
  }
  std::int64_t websocket_subscribers() const {
    return websocket_subscribers_.load(std::memory_order_relaxed);
  }
  std::uint64_t websocket_events_sent() const {
    return websocket_events_sent_.load(std::memory_order_relaxed);
  }

  // Const: handlers hold the metrics as const and count through the atomic.
  void ingest_event_ignored() const {
    ingest_events_ignored_.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t ingest_events_ignored() const {
    return ingest_events_ignored_.load(std::memory_order_relaxed);
  }

  // A request with a key (or an Authorization header) that did not authenticate.
  void authentication_failed() { authentication_failures_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t authentication_failures() const {
    return authentication_failures_.load(std::memory_order_relaxed);
  }

  // A request refused with 429 by its profile's rate limit.
  void rate_limited(std::string_view profile);

  void append_prometheus(std::string& out) const;

 private:
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};  // not cumulative; summed on output
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };

  std::atomic<std::int64_t> open_connections_{0};
  std::atomic<std::uint64_t> refused_connections_{0};
  std::atomic<std::int64_t> sse_subscribers_{0};
  std::atomic<std::uint64_t> sse_events_sent_{0};
  std::atomic<std::int64_t> websocket_subscribers_{0};
  std::atomic<std::uint64_t> websocket_events_sent_{0};
  mutable std::atomic<std::uint64_t> ingest_events_ignored_{0};
  std::atomic<std::uint64_t> authentication_failures_{0};
  mutable std::mutex mutex_;  // guards requests_, durations_ and rate_limited_
  std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests_;
  std::map<std::string, Histogram, std::less<>> durations_;
  std::map<std::string, std::uint64_t, std::less<>> rate_limited_;  // by profile
};

}  // namespace databroker::http
