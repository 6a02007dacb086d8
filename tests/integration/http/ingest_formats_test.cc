// SenML on the native routes and the declared sources' POST /v1/ingest/{source}, through the
// real server and pipeline, read back over REST.
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "broker/config/config.h"
#include "broker/core/time.h"
#include "tests/integration/http/http_fixture.h"

namespace databroker::testing {
namespace {

HeaderList with_type(const std::string& key, const std::string& type) {
  return {{"Authorization", "Bearer " + key}, {"Content-Type", type}};
}

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DATABROKER_SOURCE_DIR) + "/tests/data/formats/" + name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

HttpFixtureOptions example_sources() {
  auto example =
      config::load_config(std::string(DATABROKER_SOURCE_DIR) + "/deploy/databroker.example.yaml",
                          [](std::string_view) { return std::optional<std::string>(); });
  REQUIRE(example);
  HttpFixtureOptions options;
  options.sources = example->ingest.sources;
  return options;
}

}  // namespace

TEST_CASE("SenML is accepted on the native routes with its media type", "[http][ingest][senml]") {
  HttpFixture f(example_sources());
  auto client = f.client();
  auto reply =
      client.post("/v1/sensors/air_quality/aq-0001/readings", fixture("senml_air_quality.json"),
                  with_type(f.ingest_key, "application/senml+json"));
  REQUIRE(reply.status == 202);
  CHECK(parse_json(reply.body)["accepted"] == 2);
  auto latest = parse_json(
      client.get("/v1/streams/aq-0001/latest", {{"Authorization", "Bearer " + f.internal_key}})
          .body);
  CHECK(latest["ts"] == "2024-11-01T06:00:00.000Z");
  CHECK(latest["values"]["pm25"] == Approx(8.4));
  CHECK(latest["values"]["humidity"] == Approx(78.5));

  // /v1/readings: the base name names the sensor, the registry its kind.
  reply = client.post("/v1/readings",
                      R"([{"bn":"urn:dev:ops:aq-0001:","n":"no2","u":"kg/m3","v":3e-8}])",
                      with_type(f.ingest_key, "application/senml+json; charset=utf-8"));
  REQUIRE(reply.status == 202);
  latest = parse_json(
      client.get("/v1/streams/aq-0001/latest", {{"Authorization", "Bearer " + f.internal_key}})
          .body);
  CHECK(latest["values"]["no2"] == Approx(30));
  CHECK(latest["ts"] == core::format_rfc3339(f.clock.now_ms()));

  reply = client.post("/v1/readings", R"([{"bn":"urn:dev:ops:nobody:","n":"no2","v":3}])",
                      with_type(f.ingest_key, "application/senml+json"));
  CHECK(reply.status == 400);
  CHECK(reply.body.find("unknown_sensor") != std::string::npos);
  reply = client.post("/v1/sensors/air_quality/aq-0001/readings", R"([{"n":"pm25","v":1,"x_":2}])",
                      with_type(f.ingest_key, "application/senml+json"));
  CHECK(reply.status == 400);
  CHECK(reply.header("Content-Type") == "application/problem+json");
  CHECK(reply.body.find("must_understand") != std::string::npos);
  reply = client.post("/v1/readings", "[]", with_type(f.ingest_key, "text/csv"));
  CHECK(reply.status == 415);
  CHECK(reply.body.find("application/senml+json") != std::string::npos);
  CHECK(f.storage->log().last_seq() == 3);
}

TEST_CASE("TTS and ChirpStack bodies are ingested on their sources' routes",
          "[http][ingest][sources]") {
  HttpFixture f(example_sources());
  auto client = f.client();
  auto reply = client.post("/v1/ingest/tts-waste", fixture("tts_waste_uplink.json"),
                           {{"Authorization", "Bearer " + f.ingest_key}});
  REQUIRE(reply.status == 202);
  auto latest = parse_json(
      client
          .get("/v1/streams/wastebin-0042/latest", {{"Authorization", "Bearer " + f.internal_key}})
          .body);
  CHECK(latest["kind"] == "waste_bin");
  CHECK(latest["ts"] == "2024-11-01T07:15:02.301Z");
  CHECK(latest["values"]["temperature"] == 25);
  CHECK(latest["values"]["fill_level"] == 0);
  CHECK(latest["values"]["tilted"] == false);

  const std::string air =
      R"({"end_device_ids":{"device_id":"aq-0009"},"received_at":"2024-11-01T07:00:00Z",)"
      R"("uplink_message":{"decoded_payload":{"pm2_5":8.4,"pm10":14.9,"no2":21.3,)"
      R"("temperature":11.6,"humidity":0.785}}})";
  REQUIRE(client.post("/v1/ingest/tts-air", air, {{"Authorization", "Bearer " + f.ingest_key}})
              .status == 202);
  latest = parse_json(
      client.get("/v1/streams/aq-0009/latest", {{"Authorization", "Bearer " + f.internal_key}})
          .body);
  CHECK(latest["values"]["pm25"] == Approx(8.4));
  CHECK(latest["values"]["humidity"] == Approx(78.5));

  std::string event = fixture("chirpstack_waste_up.json");
  event.replace(event.find("\"2000 mm\""), 9, "\"830 mm\"");
  reply = client.post("/v1/ingest/chirpstack-waste?event=up", event,
                      {{"Authorization", "Bearer " + f.ingest_key}});
  REQUIRE(reply.status == 202);
  latest = parse_json(
      client
          .get("/v1/streams/wastebin-0042/latest", {{"Authorization", "Bearer " + f.internal_key}})
          .body);
  CHECK(latest["ts"] == "2024-11-01T07:15:02.322Z");
  CHECK(latest["values"]["fill_level"] == Approx(30));  // (1100-830)/(1100-200)

  // Other ChirpStack events: 204, nothing stored, counted.
  const auto before = f.storage->log().last_seq();
  reply = client.post("/v1/ingest/chirpstack-parking?event=join", R"({"deviceInfo":{}})",
                      {{"Authorization", "Bearer " + f.ingest_key}});
  CHECK(reply.status == 204);
  CHECK(f.storage->log().last_seq() == before);
  CHECK(client.get("/metrics").body.find("databroker_http_ingest_events_ignored_total 1") !=
        std::string::npos);

  // A missing decoded payload, an unknown source, a source not on HTTP, no ingest right.
  reply = client.post("/v1/ingest/chirpstack-parking?event=up",
                      R"({"deviceInfo":{"deviceName":"spot-1"},"fPort":1})",
                      {{"Authorization", "Bearer " + f.ingest_key}});
  CHECK(reply.status == 400);
  CHECK(reply.body.find("missing_decoded_payload") != std::string::npos);
  reply = client.post("/v1/ingest/nope", "{}", {{"Authorization", "Bearer " + f.ingest_key}});
  CHECK(reply.status == 404);
  CHECK(reply.header("Content-Type") == "application/problem+json");
  CHECK(
      client.post("/v1/ingest/senml", "[]", {{"Authorization", "Bearer " + f.ingest_key}}).status ==
      404);
  CHECK(client.post("/v1/ingest/tts-air", air, {{"Authorization", "Bearer " + f.partner_key}})
            .status == 403);
  CHECK(client.post("/v1/ingest/tts-air", air).status == 401);
  reply = client.post("/v1/ingest/tts-air",
                      "{\"end_device_ids\":", {{"Authorization", "Bearer " + f.ingest_key}});
  CHECK(reply.status == 400);
  CHECK(reply.body.find("malformed_json") != std::string::npos);
  CHECK(client.get("/healthz").status == 200);
}

}  // namespace databroker::testing
