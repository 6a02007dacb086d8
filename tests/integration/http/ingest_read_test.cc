// Ingest over HTTP and reading it back: 202 with the seq range, latest, history with cursors,
// the cross-stream feed, stream metadata, and the visibility rule.
#include <catch2/catch.hpp>
#include <set>

#include "tests/integration/http/http_fixture.h"

namespace databroker::testing {
namespace {

constexpr const char* kAirValues = R"({"pm25":12.5,"no2":31})";

TEST_CASE("an accepted reading is 202 with its seq and readable at once", "[http][ingest]") {
  HttpFixture f;
  auto client = f.client();
  const auto ts = f.clock.now_ms() - 60'000;
  const auto reply = client.post("/v1/sensors/air_quality/air-1/readings",
                                 reading_body(ts, kAirValues), bearer(f.ingest_key));
  REQUIRE(reply.status == 202);
  CHECK(reply.header("Content-Type") == "application/json");
  const auto body = parse_json(reply.body);
  CHECK(body["accepted"] == 1);
  CHECK(body["first_seq"] == 1);
  CHECK(body["last_seq"] == 1);
  CHECK(f.storage->log().last_seq() == 1);

  const auto latest = client.get("/v1/streams/air-1/latest", bearer(f.internal_key));
  REQUIRE(latest.status == 200);
  const auto reading = parse_json(latest.body);
  CHECK(reading["seq"] == 1);
  CHECK(reading["sensor"] == "air-1");
  CHECK(reading["kind"] == "air_quality");
  CHECK(reading["values"]["pm25"] == 12.5);
  CHECK(reading["ts"] == core::format_rfc3339(ts));
}

TEST_CASE("an array and a cross-sensor batch are accepted whole", "[http][ingest]") {
  HttpFixture f;
  auto client = f.client();
  const auto ts = f.clock.now_ms() - 60'000;
  auto reply = client.post("/v1/sensors/noise/noise-1/readings",
                           "[" + reading_body(ts, R"({"laeq":55})") + "," +
                               reading_body(ts + 1000, R"({"laeq":56})") + "]",
                           bearer(f.ingest_key));
  REQUIRE(reply.status == 202);
  auto body = parse_json(reply.body);
  CHECK(body["accepted"] == 2);
  CHECK(body["first_seq"] == 1);
  CHECK(body["last_seq"] == 2);

  const std::string batch =
      R"([{"sensor":"bin-1","kind":"waste_bin","ts":)" + std::to_string(ts) +
      R"(,"values":{"fill_level":40}},{"sensor":"park-1","kind":"parking","ts":)" +
      std::to_string(ts) + R"(,"values":{"occupied":true}}])";
  reply = client.post("/v1/readings", batch, bearer(f.ingest_key));
  REQUIRE(reply.status == 202);
  body = parse_json(reply.body);
  CHECK(body["accepted"] == 2);
  CHECK(body["first_seq"] == 3);
  CHECK(body["last_seq"] == 4);
  CHECK(f.registry->contains("bin-1"));
  CHECK(f.registry->contains("park-1"));
}

TEST_CASE("one invalid reading rejects the whole batch with every error", "[http][ingest]") {
  HttpFixture f;
  auto client = f.client();
  const auto ts = f.clock.now_ms() - 60'000;
  const std::string batch = "[" + reading_body(ts, R"({"pm25":10})") + "," +
                            reading_body(ts, R"({"pm25":99999,"humidity":150})") + "," +
                            reading_body(ts, R"({"pm10":3})") + "]";
  const auto reply =
      client.post("/v1/sensors/air_quality/air-1/readings", batch, bearer(f.ingest_key));
  REQUIRE(reply.status == 400);
  CHECK(reply.header("Content-Type") == "application/problem+json");
  const auto body = parse_json(reply.body);
  CHECK(body["status"] == 400);
  REQUIRE(body["errors"].size() == 2);
  CHECK(body["errors"][0]["field"] == "[1].values.pm25");
  CHECK(body["errors"][0]["reason"] == "out_of_range");
  CHECK(body["errors"][1]["field"] == "[1].values.humidity");
  CHECK(f.storage->log().last_seq() == 0);
  CHECK_FALSE(f.registry->contains("air-1"));
}

TEST_CASE("malformed JSON is 400 and nothing is stored", "[http][ingest]") {
  HttpFixture f;
  auto client = f.client();
  for (const char* bad : {"{", "not json", "[]", R"({"valeus":{"pm25":1}})", "42"}) {
    CAPTURE(bad);
    const auto reply =
        client.post("/v1/sensors/air_quality/air-1/readings", bad, bearer(f.ingest_key));
    CHECK(reply.status == 400);
    CHECK(reply.header("Content-Type") == "application/problem+json");
    CHECK(parse_json(reply.body)["status"] == 400);
  }
  CHECK(f.storage->log().last_seq() == 0);
}

TEST_CASE("ingest needs application/json", "[http][ingest]") {
  HttpFixture f;
  auto client = f.client();
  const auto reply =
      client.post("/v1/sensors/air_quality/air-1/readings", reading_body(1, kAirValues),
                  {{"Authorization", "Bearer " + f.ingest_key}, {"Content-Type", "text/plain"}});
  CHECK(reply.status == 415);
  CHECK(parse_json(reply.body)["status"] == 415);
}

TEST_CASE("a full ingest queue is 503 with Retry-After", "[http][ingest]") {
  HttpFixtureOptions options;
  options.fake_ingest = true;
  HttpFixture f(options);
  f.fake_sink.refuse_next(1);
  auto client = f.client();
  const auto ts = f.clock.now_ms();
  auto reply = client.post("/v1/sensors/air_quality/air-1/readings", reading_body(ts, kAirValues),
                           bearer(f.ingest_key));
  CHECK(reply.status == 503);
  CHECK(reply.header("Retry-After") == "1");
  CHECK(reply.header("Content-Type") == "application/problem+json");
  // The next attempt goes through.
  reply = client.post("/v1/sensors/air_quality/air-1/readings", reading_body(ts, kAirValues),
                      bearer(f.ingest_key));
  CHECK(reply.status == 202);
}

TEST_CASE("history pages through a stream with opaque cursors", "[http][read]") {
  HttpFixture f;
  auto client = f.client();
  const auto base = f.clock.now_ms() - 3'600'000;
  std::string batch = "[";
  for (int i = 0; i < 5; ++i) {
    if (i > 0) batch += ",";
    batch += reading_body(base + i * 1000, R"({"laeq":)" + std::to_string(50 + i) + "}");
  }
  batch += "]";
  REQUIRE(client.post("/v1/sensors/noise/n-1/readings", batch, bearer(f.ingest_key)).status == 202);

  std::vector<double> seen;
  std::string target = "/v1/streams/n-1/readings?limit=2";
  int pages = 0;
  while (true) {
    const auto reply = client.get(target, bearer(f.internal_key));
    REQUIRE(reply.status == 200);
    const auto body = parse_json(reply.body);
    for (const auto& reading : body["readings"]) seen.push_back(reading["values"]["laeq"]);
    ++pages;
    if (body["next_cursor"].is_null()) break;
    REQUIRE(pages < 10);
    target = "/v1/streams/n-1/readings?limit=2&cursor=" + body["next_cursor"].get<std::string>();
  }
  CHECK(pages == 3);
  CHECK(seen == std::vector<double>{50, 51, 52, 53, 54});

  // from (inclusive) and to (exclusive), as RFC 3339 and epoch ms.
  const auto reply =
      client.get("/v1/streams/n-1/readings?from=" + core::format_rfc3339(base + 1000) +
                     "&to=" + std::to_string(base + 3000),
                 bearer(f.internal_key));
  REQUIRE(reply.status == 200);
  const auto body = parse_json(reply.body);
  REQUIRE(body["readings"].size() == 2);
  CHECK(body["readings"][0]["values"]["laeq"] == 51);
  CHECK(body["next_cursor"].is_null());
}

TEST_CASE("bad query parameters are 400 with every problem", "[http][read]") {
  HttpFixture f;
  auto client = f.client();
  const auto ts = f.clock.now_ms() - 1000;
  REQUIRE(client
              .post("/v1/sensors/noise/n-1/readings", reading_body(ts, R"({"laeq":50})"),
                    bearer(f.ingest_key))
              .status == 202);
  auto reply = client.get("/v1/streams/n-1/readings?limit=0&from=yesterday&cursor=abc",
                          bearer(f.internal_key));
  REQUIRE(reply.status == 400);
  auto body = parse_json(reply.body);
  REQUIRE(body["errors"].size() == 3);
  std::set<std::string> fields;
  for (const auto& error : body["errors"]) fields.insert(error["field"]);
  CHECK(fields == std::set<std::string>{"limit", "from", "cursor"});

  reply = client.get("/v1/streams/n-1/readings?from=2000&to=1000", bearer(f.internal_key));
  CHECK(reply.status == 400);
  reply = client.get("/v1/streams/n-1/readings?limit=1&limit=2", bearer(f.internal_key));
  CHECK(reply.status == 400);

  // A cursor of another stream does not work here.
  REQUIRE(client
              .post("/v1/sensors/noise/n-2/readings",
                    "[" + reading_body(ts, R"({"laeq":1})") + "," +
                        reading_body(ts + 1, R"({"laeq":2})") + "]",
                    bearer(f.ingest_key))
              .status == 202);
  const auto page =
      parse_json(client.get("/v1/streams/n-2/readings?limit=1", bearer(f.internal_key)).body);
  REQUIRE(page["next_cursor"].is_string());
  reply = client.get("/v1/streams/n-1/readings?cursor=" + page["next_cursor"].get<std::string>(),
                     bearer(f.internal_key));
  CHECK(reply.status == 400);

  reply = client.get("/v1/readings?after_seq=-1&kind=volcano&limit=x", bearer(f.internal_key));
  REQUIRE(reply.status == 400);
  CHECK(parse_json(reply.body)["errors"].size() == 3);
}

TEST_CASE("limit is capped at max_page_limit", "[http][read]") {
  HttpFixture f;  // max_page_limit 50
  auto client = f.client();
  const auto base = f.clock.now_ms() - 3'600'000;
  std::string batch = "[";
  for (int i = 0; i < 60; ++i) {
    if (i > 0) batch += ",";
    batch += reading_body(base + i, R"({"laeq":50})");
  }
  batch += "]";
  REQUIRE(client.post("/v1/sensors/noise/n-1/readings", batch, bearer(f.ingest_key)).status == 202);
  const auto body =
      parse_json(client.get("/v1/streams/n-1/readings?limit=1000", bearer(f.internal_key)).body);
  CHECK(body["readings"].size() == 50);
  CHECK(body["next_cursor"].is_string());
}

TEST_CASE("the feed pages across streams by seq and filters by kind", "[http][read]") {
  HttpFixture f;
  auto client = f.client();
  const auto ts = f.clock.now_ms() - 1000;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(client
                .post("/v1/sensors/noise/n-" + std::to_string(i) + "/readings",
                      reading_body(ts, R"({"laeq":50})"), bearer(f.ingest_key))
                .status == 202);
    REQUIRE(client
                .post("/v1/sensors/waste_bin/b-" + std::to_string(i) + "/readings",
                      reading_body(ts, R"({"fill_level":50})"), bearer(f.ingest_key))
                .status == 202);
  }
  // Everything, two at a time.
  std::vector<std::uint64_t> seqs;
  std::uint64_t after = 0;
  for (int page = 0; page < 10; ++page) {
    const auto body = parse_json(
        client
            .get("/v1/readings?limit=2&after_seq=" + std::to_string(after), bearer(f.internal_key))
            .body);
    if (body["readings"].empty()) break;
    for (const auto& reading : body["readings"]) seqs.push_back(reading["seq"]);
    after = body["next_after_seq"];
  }
  CHECK(seqs == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});

  const auto body =
      parse_json(client.get("/v1/readings?kind=waste_bin", bearer(f.internal_key)).body);
  REQUIRE(body["readings"].size() == 3);
  for (const auto& reading : body["readings"]) CHECK(reading["kind"] == "waste_bin");
  CHECK(body["next_after_seq"] == 6);
}

TEST_CASE("stream metadata lists kind, class and measurements", "[http][read]") {
  HttpFixture f;
  auto client = f.client();
  const auto ts = f.clock.now_ms() - 1000;
  REQUIRE(client
              .post("/v1/sensors/noise/n-1/readings", reading_body(ts, R"({"laeq":50})"),
                    bearer(f.ingest_key))
              .status == 202);
  auto reply = client.get("/v1/streams", bearer(f.internal_key));
  REQUIRE(reply.status == 200);
  auto body = parse_json(reply.body);
  REQUIRE(body["streams"].size() == 1);
  const auto stream = body["streams"][0];
  CHECK(stream["id"] == "n-1");
  CHECK(stream["kind"] == "noise");
  CHECK(stream["class"] == "closed");
  CHECK(stream["last_reading_at"] == core::format_rfc3339(ts));
  bool has_laeq = false;
  for (const auto& m : stream["measurements"]) {
    if (m["name"] == "laeq") {
      has_laeq = true;
      CHECK(m["unit"].is_string());
      CHECK(m["type"] == "number");
    }
  }
  CHECK(has_laeq);

  reply = client.get("/v1/streams/n-1", bearer(f.internal_key));
  REQUIRE(reply.status == 200);
  CHECK(parse_json(reply.body)["id"] == "n-1");
}

TEST_CASE("an undeclared sensor's stream is where its latest reading was", "[http][read]") {
  HttpFixture f;
  auto client = f.client();
  const auto ts = f.clock.now_ms() - 1000;
  const std::string body = R"({"ts":)" + std::to_string(ts) +
                           R"(,"values":{"laeq":50},"location":{"lat":51.05,"lon":3.72}})";
  REQUIRE(client.post("/v1/sensors/noise/n-2/readings", body, bearer(f.ingest_key)).status == 202);
  auto stream = parse_json(client.get("/v1/streams/n-2", bearer(f.internal_key)).body);
  CHECK(stream["location"]["lat"] == 51.05);
  CHECK(stream["location"]["lon"] == 3.72);
}

TEST_CASE("a stream the caller may not see is 404 exactly like an unknown one", "[http][read]") {
  HttpFixture f;
  auto client = f.client();
  const auto ts = f.clock.now_ms() - 1000;
  REQUIRE(client
              .post("/v1/sensors/noise/n-1/readings", reading_body(ts, R"({"laeq":50})"),
                    bearer(f.ingest_key))
              .status == 202);
  const auto unknown = client.get("/v1/streams/nope", bearer(f.internal_key));
  REQUIRE(unknown.status == 404);
  CHECK(unknown.header("Content-Type") == "application/problem+json");

  for (const std::string suffix : {"", "/latest", "/readings", "/readings?limit=0"}) {
    for (const HeaderList& caller :
         {HeaderList{}, bearer(f.partner_key), bearer(f.ingest_key), bearer(f.admin_key)}) {
      CAPTURE(suffix);
      const auto hidden = client.get("/v1/streams/n-1" + suffix, caller);
      CHECK(hidden.status == 404);
      CHECK(hidden.body == client.get("/v1/streams/nope" + suffix, caller).body);
      CHECK(hidden.body == unknown.body);
    }
  }
  for (const HeaderList& caller : {HeaderList{}, bearer(f.partner_key)}) {
    auto body = parse_json(client.get("/v1/streams", caller).body);
    CHECK(body["streams"].empty());
    body = parse_json(client.get("/v1/readings", caller).body);
    CHECK(body["readings"].empty());
  }
}

}  // namespace
}  // namespace databroker::testing
