// The HTTP layer itself: routing errors, size limits, timeouts, keep-alive, the connection cap,
// and the operations endpoints.
#include <catch2/catch.hpp>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/integration/http/http_fixture.h"
#include "tests/support/processes.h"

namespace databroker::testing {
namespace {

std::string request_head(const std::string& method, const std::string& target,
                         const std::string& extra_headers) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

TEST_CASE("health, readiness and metrics", "[http][ops]") {
  HttpFixture f;
  auto client = f.client();
  auto reply = client.get("/healthz");
  REQUIRE(reply.status == 200);
  CHECK(reply.header("Content-Type") == "application/json");
  CHECK(parse_json(reply.body)["status"] == "ok");

  reply = client.get("/readyz");
  CHECK(reply.status == 200);
  f.mqtt_connected = false;
  reply = client.get("/readyz");
  REQUIRE(reply.status == 503);
  CHECK(reply.header("Content-Type") == "application/problem+json");
  const auto body = parse_json(reply.body);
  CHECK(body["mqtt_connected"] == false);
  CHECK(body["log_open"] == true);

  client.get("/v1/streams/x");
  reply = client.get("/metrics");
  REQUIRE(reply.status == 200);
  CHECK(reply.header("Content-Type").starts_with("text/plain"));
  CHECK_THAT(reply.body, Catch::Contains("databroker_test_metric 1\n"));
  CHECK_THAT(reply.body,
             Catch::Contains("databroker_http_requests_total{method=\"GET\",route=\"/readyz\","
                             "status=\"503\"} 1"));
  CHECK_THAT(reply.body, Catch::Contains("route=\"/v1/streams/{id}\",status=\"404\"} 1"));
  CHECK_THAT(reply.body, Catch::Contains("databroker_http_request_duration_seconds_bucket"));
  CHECK_THAT(reply.body, Catch::Contains("databroker_http_open_connections 1"));
  CHECK_THAT(reply.body, Catch::Contains("databroker_http_refused_connections_total 0"));
}

TEST_CASE("unknown paths are 404 and wrong methods 405 with Allow", "[http][routing]") {
  HttpFixture f;
  auto client = f.client();
  auto reply = client.get("/v2/nothing");
  CHECK(reply.status == 404);
  CHECK(reply.header("Content-Type") == "application/problem+json");
  reply = client.request("PUT", "/v1/readings");
  CHECK(reply.status == 405);
  CHECK(reply.header("Allow") == "POST, GET");
  CHECK(parse_json(reply.body)["status"] == 405);
  reply = client.request("DELETE", "/v1/streams");
  CHECK(reply.status == 405);
  CHECK(reply.header("Allow") == "GET");
}

TEST_CASE("a Content-Length over the limit is 413 before the body is sent", "[http][limits]") {
  HttpFixture f;  // max_body_bytes 64 KiB
  RawConnection connection(f.port());
  REQUIRE(connection.send(request_head("POST", "/v1/sensors/noise/n-1/readings",
                                       "Content-Type: application/json\r\n"
                                       "Authorization: Bearer " +
                                           f.ingest_key +
                                           "\r\n"
                                           "Content-Length: 10000000\r\n")));
  const auto reply = connection.read_reply();
  REQUIRE(reply.status == 413);
  CHECK(reply.header("Content-Type") == "application/problem+json");
  CHECK(parse_json(reply.body)["status"] == 413);
  CHECK(connection.closed_by_peer());
}

TEST_CASE("a chunked body growing past the limit is 413", "[http][limits]") {
  HttpFixture f;
  RawConnection connection(f.port());
  std::string request = request_head("POST", "/v1/sensors/noise/n-1/readings",
                                     "Content-Type: application/json\r\n"
                                     "Authorization: Bearer " +
                                         f.ingest_key +
                                         "\r\n"
                                         "Transfer-Encoding: chunked\r\n");
  const std::string chunk(16 * 1024, ' ');
  for (int i = 0; i < 8; ++i) request += "4000\r\n" + chunk + "\r\n";  // 128 KiB in all
  request += "0\r\n\r\n";
  connection.send(request);  // the server may stop reading part-way
  const auto reply = connection.read_reply();
  CHECK(reply.status == 413);
  CHECK(f.storage->log().last_seq() == 0);
}

TEST_CASE("a header over the limit is 431", "[http][limits]") {
  HttpFixture f;  // max_header_bytes 4 KiB
  RawConnection connection(f.port());
  connection.send(
      request_head("GET", "/v1/streams", "X-Filler: " + std::string(8000, 'x') + "\r\n"));
  const auto reply = connection.read_reply();
  CHECK(reply.status == 431);
  CHECK(reply.header("Content-Type") == "application/problem+json");
}

TEST_CASE("garbage instead of HTTP is 400 and closed", "[http][limits]") {
  HttpFixture f;
  RawConnection connection(f.port());
  connection.send("HELLO THERE\r\n\r\n");
  const auto reply = connection.read_reply();
  CHECK(reply.status == 400);
  CHECK(connection.closed_by_peer());
}

TEST_CASE("a connection that sends no header is closed after header_timeout", "[http][limits]") {
  HttpFixtureOptions options;
  options.http.header_timeout = std::chrono::milliseconds(200);
  HttpFixture f(options);
  RawConnection connection(f.port());
  const auto start = std::chrono::steady_clock::now();
  CHECK(connection.closed_by_peer(5000));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}

TEST_CASE("keep-alive serves several requests on one connection", "[http][transport]") {
  HttpFixture f;
  RawConnection connection(f.port());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(connection.send(request_head("GET", "/healthz", "")));
    const auto reply = connection.read_reply();
    REQUIRE(reply.status == 200);
    CHECK(reply.keep_alive);
  }
  // Two pipelined requests are answered in order.
  REQUIRE(connection.send(request_head("GET", "/healthz", "") + request_head("GET", "/nope", "")));
  CHECK(connection.read_reply().status == 200);
  CHECK(connection.read_reply().status == 404);
}

TEST_CASE("Expect: 100-continue is answered before the body", "[http][transport]") {
  HttpFixture f;
  RawConnection connection(f.port());
  const std::string body = R"({"values":{"laeq":50}})";
  REQUIRE(connection.send(request_head("POST", "/v1/sensors/noise/n-1/readings",
                                       "Content-Type: application/json\r\n"
                                       "Authorization: Bearer " +
                                           f.ingest_key +
                                           "\r\n"
                                           "Expect: 100-continue\r\n"
                                           "Content-Length: " +
                                           std::to_string(body.size()) + "\r\n")));
  CHECK(connection.read_reply().status == 100);
  REQUIRE(connection.send(body));
  CHECK(connection.read_reply().status == 202);
}

TEST_CASE("connections over the cap get 503 and are closed", "[http][limits]") {
  HttpFixtureOptions options;
  options.http.max_connections = 2;
  HttpFixture f(options);
  auto first = std::make_unique<RawConnection>(f.port());
  RawConnection second(f.port());
  // Both are accepted and served.
  REQUIRE(first->send(request_head("GET", "/healthz", "")));
  REQUIRE(first->read_reply().status == 200);
  REQUIRE(second.send(request_head("GET", "/healthz", "")));
  REQUIRE(second.read_reply().status == 200);

  RawConnection third(f.port());
  const auto refused = third.read_reply();
  CHECK(refused.status == 503);
  CHECK(refused.header("Content-Type") == "application/problem+json");
  CHECK(third.closed_by_peer());

  // Once one closes, new connections are served again.
  first.reset();
  CHECK(wait_until(
      [&] {
        RawConnection again(f.port());
        if (!again.send(request_head("GET", "/healthz", ""))) return false;
        return again.read_reply().status == 200;
      },
      std::chrono::seconds(5)));
}

TEST_CASE("stop lets an in-flight request finish and closes idle connections",
          "[http][transport]") {
  HttpFixture f;
  RawConnection idle(f.port());
  REQUIRE(idle.send(request_head("GET", "/healthz", "")));
  REQUIRE(idle.read_reply().status == 200);
  f.server->stop();
  CHECK(idle.closed_by_peer());
  CHECK_FALSE(port_accepts(f.port()));
}

}  // namespace
}  // namespace databroker::testing

namespace databroker::testing {
namespace {

// Keeps the completion of the batch it accepts, to complete it when the test says so.
class HoldingSink final : public ingest::IngestSink {
 public:
  core::Status try_submit(std::vector<core::Reading> batch, ingest::IngestPath,
                          ingest::Completion done) override {
    std::lock_guard lock(mutex_);
    held_ = std::move(done);
    count_ = batch.size();
    return core::ok();
  }
  core::Status submit(std::vector<core::Reading> batch, ingest::IngestPath path,
                      ingest::Completion done, std::chrono::milliseconds) override {
    return try_submit(std::move(batch), path, std::move(done));
  }
  bool holding() {
    std::lock_guard lock(mutex_);
    return static_cast<bool>(held_);
  }
  void complete() {
    ingest::Completion done;
    {
      std::lock_guard lock(mutex_);
      done = std::move(held_);
      held_ = nullptr;
    }
    done(ingest::Accepted{count_, 1, count_});
  }

 private:
  std::mutex mutex_;
  ingest::Completion held_;
  std::size_t count_ = 0;
};

TEST_CASE("an ingest answer waits for the commit", "[http][ingest]") {
  HoldingSink sink;
  HttpFixtureOptions options;
  options.ingest_sink = &sink;
  HttpFixture f(options);
  RawConnection connection(f.port());
  const std::string body = R"({"values":{"laeq":50}})";
  REQUIRE(connection.send(request_head("POST", "/v1/sensors/noise/n-1/readings",
                                       "Content-Type: application/json\r\n"
                                       "Authorization: Bearer " +
                                           f.ingest_key + "\r\nContent-Length: " +
                                           std::to_string(body.size()) + "\r\n") +
                          body));
  REQUIRE(wait_until([&] { return sink.holding(); }, std::chrono::seconds(5)));
  std::thread committer([&] { sink.complete(); });  // as the real committer thread would
  const auto reply = connection.read_reply();
  committer.join();
  CHECK(reply.status == 202);
  CHECK(parse_json(reply.body)["accepted"] == 1);
}

TEST_CASE("a completion arriving after the server is gone is dropped safely", "[http][ingest]") {
  HoldingSink sink;
  HttpFixtureOptions options;
  options.ingest_sink = &sink;
  HttpFixture f(options);
  RawConnection connection(f.port());
  const std::string body = R"({"values":{"laeq":50}})";
  REQUIRE(connection.send(request_head("POST", "/v1/sensors/noise/n-1/readings",
                                       "Content-Type: application/json\r\n"
                                       "Authorization: Bearer " +
                                           f.ingest_key + "\r\nContent-Length: " +
                                           std::to_string(body.size()) + "\r\n") +
                          body));
  REQUIRE(wait_until([&] { return sink.holding(); }, std::chrono::seconds(5)));
  f.server->stop(std::chrono::milliseconds(50));
  f.server.reset();
  std::thread committer([&] { sink.complete(); });
  committer.join();
  CHECK(connection.closed_by_peer());
}

TEST_CASE("an exception in a handler is a 500 problem", "[http][transport]") {
  HttpFixtureOptions options;
  options.metrics = []() -> std::string { throw std::runtime_error("metrics exploded"); };
  HttpFixture f(options);
  auto client = f.client();
  const auto reply = client.get("/metrics");
  CHECK(reply.status == 500);
  CHECK(reply.header("Content-Type") == "application/problem+json");
  CHECK(reply.body.find("exploded") == std::string::npos);
  // The server keeps serving.
  CHECK(client.get("/healthz").status == 200);
}

}  // namespace
}  // namespace databroker::testing
