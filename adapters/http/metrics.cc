#include "adapters/http/metrics.h"

#include <cstdio>

namespace databroker::http {

namespace {

std::string format_double(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

}  // namespace

void HttpMetrics::record_request(Verb method, std::string_view route, unsigned status,
                                 std::chrono::nanoseconds latency) {
  const auto method_name = beast_http::to_string(method);
  const double seconds = std::chrono::duration<double>(latency).count();
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;

  std::lock_guard lock(mutex_);
  ++requests_[{std::string(method_name.data(), method_name.size()), std::string(route), status}];
  auto it = durations_.find(route);
  if (it == durations_.end()) it = durations_.emplace(std::string(route), Histogram{}).first;
  Histogram& histogram = it->second;
  if (bucket < kBuckets.size()) ++histogram.buckets[bucket];
  ++histogram.count;
  histogram.sum_seconds += seconds;
}

void HttpMetrics::rate_limited(std::string_view profile) {
  std::lock_guard lock(mutex_);
  auto it = rate_limited_.find(profile);
  if (it == rate_limited_.end()) it = rate_limited_.emplace(std::string(profile), 0).first;
  ++it->second;
}

void HttpMetrics::append_prometheus(std::string& out) const {
  std::lock_guard lock(mutex_);
  out +=
      "# HELP databroker_http_rate_limited_total Requests refused with 429 by the caller's "
      "profile's rate limit, by profile.\n";
  out += "# TYPE databroker_http_rate_limited_total counter\n";
  for (const auto& [profile, count] : rate_limited_) {
    out += "databroker_http_rate_limited_total{profile=\"" + profile + "\"} " +
           std::to_string(count) + "\n";
  }
  out += "# HELP databroker_http_requests_total HTTP requests answered, by route pattern.\n";
  out += "# TYPE databroker_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    out += "databroker_http_requests_total{method=\"" + method + "\",route=\"" + route +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(count) + "\n";
  }
  out += "# HELP databroker_http_request_duration_seconds Time from request read to response.\n";
  out += "# TYPE databroker_http_request_duration_seconds histogram\n";
  for (const auto& [route, histogram] : durations_) {
    const std::string label = "route=\"" + route + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += histogram.buckets[i];
      out += "databroker_http_request_duration_seconds_bucket{" + label + ",le=\"" +
             format_double(kBuckets[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "databroker_http_request_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " +
           std::to_string(histogram.count) + "\n";
    out += "databroker_http_request_duration_seconds_sum{" + label + "} " +
           format_double(histogram.sum_seconds) + "\n";
    out += "databroker_http_request_duration_seconds_count{" + label + "} " +
           std::to_string(histogram.count) + "\n";
  }
  out += "# HELP databroker_http_open_connections HTTP connections currently open.\n";
  out += "# TYPE databroker_http_open_connections gauge\n";
  out += "databroker_http_open_connections " + std::to_string(open_connections()) + "\n";
  out += "# HELP databroker_http_refused_connections_total Connections refused at the cap.\n";
  out += "# TYPE databroker_http_refused_connections_total counter\n";
  out +=
      "databroker_http_refused_connections_total " + std::to_string(refused_connections()) + "\n";
  out += "# HELP databroker_sse_subscribers Server-Sent Events streams currently open.\n";
  out += "# TYPE databroker_sse_subscribers gauge\n";
  out += "databroker_sse_subscribers " + std::to_string(sse_subscribers()) + "\n";
  out += "# HELP databroker_sse_events_sent_total Events written to Server-Sent Events streams.\n";
  out += "# TYPE databroker_sse_events_sent_total counter\n";
  out += "databroker_sse_events_sent_total " + std::to_string(sse_events_sent()) + "\n";
  out += "# HELP databroker_websocket_subscribers WebSocket subscriptions currently open.\n";
  out += "# TYPE databroker_websocket_subscribers gauge\n";
  out += "databroker_websocket_subscribers " + std::to_string(websocket_subscribers()) + "\n";
  out += "# HELP databroker_websocket_events_sent_total Events written to WebSocket subscribers.\n";
  out += "# TYPE databroker_websocket_events_sent_total counter\n";
  out += "databroker_websocket_events_sent_total " + std::to_string(websocket_events_sent()) + "\n";
  out +=
      "# HELP databroker_http_ingest_events_ignored_total Network-server events other than "
      "uplinks, answered 204 and not stored.\n";
  out += "# TYPE databroker_http_ingest_events_ignored_total counter\n";
  out += "databroker_http_ingest_events_ignored_total " + std::to_string(ingest_events_ignored()) +
         "\n";
  out +=
      "# HELP databroker_http_authentication_failures_total Requests refused with 401 because "
      "their API key or Authorization header did not authenticate.\n";
  out += "# TYPE databroker_http_authentication_failures_total counter\n";
  out += "databroker_http_authentication_failures_total " +
         std::to_string(authentication_failures()) + "\n";
}

}  // namespace databroker::http
