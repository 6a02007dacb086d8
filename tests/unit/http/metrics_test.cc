#include "adapters/http/metrics.h"

#include <catch2/catch.hpp>

namespace databroker::http {
namespace {

TEST_CASE("request metrics are labelled by route pattern and status", "[http][metrics]") {
  HttpMetrics metrics;
  metrics.record_request(Verb::get, "/v1/streams/{id}", 200, std::chrono::milliseconds(3));
  metrics.record_request(Verb::get, "/v1/streams/{id}", 200, std::chrono::milliseconds(30));
  metrics.record_request(Verb::get, "/v1/streams/{id}", 404, std::chrono::microseconds(100));
  metrics.connection_opened();
  metrics.connection_opened();
  metrics.connection_closed();
  metrics.connection_refused();

  std::string text;
  metrics.append_prometheus(text);
  CHECK_THAT(text, Catch::Contains("databroker_http_requests_total{method=\"GET\",route=\"/v1/"
                                   "streams/{id}\",status=\"200\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("status=\"404\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("databroker_http_request_duration_seconds_bucket{route=\"/v1/"
                                   "streams/{id}\",le=\"0.005\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("databroker_http_request_duration_seconds_bucket{route=\"/v1/"
                                   "streams/{id}\",le=\"+Inf\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("databroker_http_request_duration_seconds_count{route=\"/v1/"
                                   "streams/{id}\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("databroker_http_open_connections 1\n"));
  CHECK_THAT(text, Catch::Contains("databroker_http_refused_connections_total 1\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE databroker_http_request_duration_seconds histogram\n"));
}

}  // namespace
}  // namespace databroker::http
