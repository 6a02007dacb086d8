// The output formats over the real server: the same reading in JSON, CSV, GeoJSON and NGSI-LD;
// the NGSI-LD routes; the DCAT-AP catalogue; and what a partner without a grant, or anyone for a
// closed stream, does not see through any of them.
#include <catch2/catch.hpp>

#include "tests/integration/http/http_fixture.h"

namespace databroker::testing {
namespace {

using nlohmann::json;

constexpr const char* kPolicy = R"(
catalog:
  base_url: https://data.stad.be
  title: Sensordata
  description: Open sensordata van de stad
  publisher: {name: Stad, email: open@stad.be, url: https://stad.be}
  license: http://data.vlaanderen.be/id/licentie/modellicentie-gratis-hergebruik/v1.0
  keywords: [sensoren]
rules:
  - name: air quality is open data
    match: {kind: air_quality}
    class: open
    open_view: {round_location: 2, drop: [battery]}
    dataset: {identifier: air, title: Luchtkwaliteit, themes: [ENVI]}
  - name: parking in the centre, shared for the mobility plan
    match: {kind: parking, zone: "centrum*"}
    class: shared
    grants:
      - profile: mobility-partner
        purpose: evaluation of the circulation plan
        legal_basis: agreement 2026/114
        until: 2099-12-31
        view: {drop: [rssi]}
  - name: the rest stays internal
    match: {}
    class: closed
)";

struct FormatsFixture {
  HttpFixture f{[] {
    HttpFixtureOptions options;
    options.policy_yaml = kPolicy;
    return options;
  }()};
  HttpClient client = f.client();
  core::TimestampMs ts = 0;

  FormatsFixture() {
    registry::SensorInfo centre;
    centre.id = "park-1";
    centre.kind = "parking";
    centre.zone = "centrum-noord";
    registry::SensorInfo edge = centre;
    edge.id = "park-2";
    edge.zone = "rand";
    std::vector<registry::SensorInfo> sensors{centre, edge};
    REQUIRE(f.registry->declare(sensors, f.clock.now_ms()));
    ts = (f.clock.now_ms() - 60'000) / 1000 * 1000;
    post(
        "/v1/sensors/air_quality/air-1/readings",
        R"({"ts":)" + std::to_string(ts) +
            R"(,"values":{"pm25":12.5,"humidity":80,"battery":77},"location":{"lat":51.05432,"lon":3.71789}})");
    post("/v1/sensors/parking/park-1/readings",
         R"({"ts":)" + std::to_string(ts) + R"(,"values":{"occupied":true,"rssi":-90}})");
    post("/v1/sensors/parking/park-2/readings",
         R"({"ts":)" + std::to_string(ts) + R"(,"values":{"occupied":false}})");
    post("/v1/sensors/waste_bin/bin-1/readings",
         R"({"ts":)" + std::to_string(ts) + R"(,"values":{"fill_level":70}})");
  }

  void post(const std::string& target, const std::string& body) {
    REQUIRE(client.post(target, body, bearer(f.ingest_key)).status == 202);
  }

  HttpReply get(const std::string& target, const std::string& key = "", HeaderList headers = {}) {
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
    return client.get(target, headers);
  }
};

TEST_CASE("the same reading reads back in JSON, CSV, GeoJSON and NGSI-LD, through the same view",
          "[http][formats]") {
  FormatsFixture p;
  const std::string iso = core::format_rfc3339(p.ts);

  const auto as_json = p.get("/v1/streams/air-1/latest");
  REQUIRE(as_json.status == 200);
  CHECK(as_json.header("Content-Type") == "application/json");
  const json reading = parse_json(as_json.body);
  CHECK(reading["values"] == json({{"pm25", 12.5}, {"humidity", 80}}));
  CHECK(reading["location"] == json({{"lat", 51.05}, {"lon", 3.72}}));

  const auto as_csv = p.get("/v1/streams/air-1/latest?format=csv");
  REQUIRE(as_csv.status == 200);
  CHECK(as_csv.header("Content-Type").starts_with("text/csv"));
  INFO(as_csv.body);
  // The view drops battery: not even a column.
  CHECK(as_csv.body.starts_with(
      "seq,sensor,kind,ts,received_at,lat,lon,pm25,pm10,no2,o3,temperature,humidity,rssi,"
      "other_measurements\r\n"));
  CHECK(as_csv.body.find(",air-1,air_quality," + iso + ",") != std::string::npos);
  CHECK(as_csv.body.find(",51.05,3.72,12.5,,,,,80,,\r\n") != std::string::npos);

  const auto as_geojson =
      p.get("/v1/streams/air-1/latest", "", {{"Accept", "application/geo+json"}});
  REQUIRE(as_geojson.status == 200);
  CHECK(as_geojson.header("Content-Type") == "application/geo+json");
  const json feature = parse_json(as_geojson.body);
  CHECK(feature["geometry"]["coordinates"] == json({3.72, 51.05}));
  CHECK(feature["properties"]["values"] == json({{"pm25", 12.5}, {"humidity", 80}}));

  const auto as_ngsi = p.get("/v1/streams/air-1/latest?format=ngsi-ld");
  REQUIRE(as_ngsi.status == 200);
  CHECK(as_ngsi.header("Content-Type") == "application/ld+json");
  const json entity = parse_json(as_ngsi.body);
  CHECK(entity["id"] == "urn:ngsi-ld:AirQualityObserved:air-1");
  CHECK(entity["pm25"]["value"] == 12.5);
  CHECK(entity["pm25"]["observedAt"] == iso);
  CHECK(entity["relativeHumidity"]["value"] == Approx(0.8));
  CHECK(entity["location"]["value"]["coordinates"] == json({3.72, 51.05}));
  CHECK_FALSE(entity.contains("battery"));

  // format= wins over Accept; an unknown format is a 406 listing what is served.
  CHECK(p.get("/v1/streams/air-1/latest?format=json", "", {{"Accept", "text/csv"}})
            .header("Content-Type") == "application/json");
  const auto refused = p.get("/v1/streams/air-1/latest?format=xml");
  CHECK(refused.status == 406);
  CHECK(refused.header("Content-Type") == "application/problem+json");
  CHECK(parse_json(refused.body)["supported"].size() == 4);
  CHECK(p.get("/v1/readings", "", {{"Accept", "application/ld+json"}}).status == 406);
  // An invisible stream is 404 whatever the format asked: no format tells it apart.
  CHECK(p.get("/v1/streams/bin-1/latest?format=xml").status == 404);
}

TEST_CASE("non-JSON history and feed pages carry the next page in a Link header",
          "[http][formats]") {
  FormatsFixture p;
  for (int i = 1; i <= 3; ++i) {
    p.post("/v1/sensors/air_quality/air-1/readings", R"({"ts":)" + std::to_string(p.ts + i * 1000) +
                                                         R"(,"values":{"pm25":)" +
                                                         std::to_string(i) + "}}");
  }
  const auto first = p.get("/v1/streams/air-1/readings?limit=2&format=csv");
  REQUIRE(first.status == 200);
  const std::string link = first.header("Link");
  INFO(link);
  REQUIRE(link.starts_with("</v1/streams/air-1/readings?limit=2&format=csv&cursor="));
  REQUIRE(link.ends_with(">; rel=\"next\""));
  const auto second = p.get(link.substr(1, link.find('>') - 1));
  REQUIRE(second.status == 200);
  // A header and the two remaining readings, oldest first.
  CHECK(std::count(second.body.begin(), second.body.end(), '\n') == 3);
  CHECK_FALSE(second.has_header("Link"));

  const auto feed = p.get("/v1/readings?kind=air_quality&limit=1&format=geojson");
  REQUIRE(feed.status == 200);
  CHECK(parse_json(feed.body)["features"].size() == 1);
  CHECK(feed.header("Link").find("after_seq=") != std::string::npos);
}

TEST_CASE("the NGSI-LD routes serve entities, temporal evolution and types", "[http][ngsi-ld]") {
  FormatsFixture p;
  p.post("/v1/sensors/air_quality/air-1/readings",
         R"({"ts":)" + std::to_string(p.ts + 1000) + R"(,"values":{"pm25":14}})");

  auto list = p.get("/ngsi-ld/v1/entities?type=AirQualityObserved&count=true");
  REQUIRE(list.status == 200);
  CHECK(list.header("Content-Type") == "application/json");
  CHECK(list.header("NGSILD-Results-Count") == "1");
  CHECK(list.header("Link").find("dataModel.Environment/master/context.jsonld>; "
                                 "rel=\"http://www.w3.org/ns/json-ld#context\"") !=
        std::string::npos);
  const json entities = parse_json(list.body);
  REQUIRE(entities.size() == 1);
  CHECK(entities[0]["pm25"]["value"] == 14);
  CHECK_FALSE(entities[0].contains("@context"));

  const auto ld =
      p.get("/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:air-1?options=keyValues", "",
            {{"Accept", "application/ld+json"}});
  REQUIRE(ld.status == 200);
  const json entity = parse_json(ld.body);
  CHECK(entity["pm25"] == 14);
  CHECK(entity["@context"].size() == 2);

  const auto temporal = p.get(
      "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:AirQualityObserved:air-1?attrs=pm25"
      "&options=temporalValues&timerel=after&timeAt=" +
      std::to_string(p.ts - 1));
  REQUIRE(temporal.status == 200);
  const json series = parse_json(temporal.body);
  CHECK(series["pm25"]["values"] ==
        json({{12.5, core::format_rfc3339(p.ts)}, {14, core::format_rfc3339(p.ts + 1000)}}));
  const auto last =
      p.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:AirQualityObserved:air-1?lastN=1");
  REQUIRE(last.status == 200);
  CHECK(parse_json(last.body)["pm25"].size() == 1);
  CHECK(parse_json(last.body)["pm25"][0]["value"] == 14);

  const auto types = p.get("/ngsi-ld/v1/types");
  REQUIRE(types.status == 200);
  CHECK(parse_json(types.body)["typeList"] == json({"AirQualityObserved"}));

  // Errors speak NGSI-LD.
  const auto missing = p.get("/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:nope");
  CHECK(missing.status == 404);
  CHECK(missing.header("Content-Type") == "application/problem+json");
  CHECK(parse_json(missing.body)["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound");
  const auto bad = p.get("/ngsi-ld/v1/entities");
  CHECK(bad.status == 400);
  CHECK(parse_json(bad.body)["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData");
  CHECK(parse_json(p.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:AirQualityObserved:air-1"
                         "?timerel=between&timeAt=2024-01-01T00:00:00Z")
                       .body)["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData");
  CHECK(parse_json(p.get("/ngsi-ld/v1/nothing").body)["type"] ==
        "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound");
  CHECK(p.get("/ngsi-ld/v1/entities?type=AirQualityObserved", "dbk_not_a_key").status == 401);
}

std::vector<std::string> ngsi_ids(const HttpReply& reply) {
  REQUIRE(reply.status == 200);
  std::vector<std::string> out;
  for (const auto& e : parse_json(reply.body)) out.push_back(e["id"]);
  return out;
}

TEST_CASE("a partner sees a granted stream in every format and never one it was not granted",
          "[http][formats][policy]") {
  FormatsFixture p;
  const std::string& partner = p.f.partner_key;
  using Ids = std::vector<std::string>;
  const std::string all_parking = "/ngsi-ld/v1/entities?type=ParkingSpot,OffStreetParking";
  CHECK(ngsi_ids(p.get(all_parking, partner)) == Ids{"urn:ngsi-ld:ParkingSpot:park-1"});
  CHECK(ngsi_ids(p.get(all_parking)).empty());
  CHECK(ngsi_ids(p.get(all_parking, p.f.internal_key)) ==
        Ids{"urn:ngsi-ld:ParkingSpot:park-1", "urn:ngsi-ld:ParkingSpot:park-2"});
  CHECK(p.get("/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:park-2", partner).status == 404);
  CHECK(p.get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:ParkingSpot:park-2", partner).status ==
        404);
  CHECK(p.get("/ngsi-ld/v1/entities/urn:ngsi-ld:WasteContainer:bin-1", partner).status == 404);
  CHECK(p.get("/ngsi-ld/v1/entities?id=urn:ngsi-ld:ParkingSpot:park-2", partner).body == "[]");

  // The granted spot comes through the grant's view (rssi dropped) and leaves an audit record.
  const auto granted = p.get("/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:park-1", partner);
  REQUIRE(granted.status == 200);
  CHECK(parse_json(granted.body)["status"]["value"] == "occupied");

  const auto csv = p.get("/v1/streams?format=csv", partner);
  REQUIRE(csv.status == 200);
  CHECK(csv.body.find("park-1") != std::string::npos);
  CHECK(csv.body.find("park-2") == std::string::npos);
  CHECK(csv.body.find("bin-1") == std::string::npos);
  const auto feed = p.get("/v1/readings?format=csv", partner);
  CHECK(feed.body.find("park-2") == std::string::npos);
  CHECK(feed.body.find("bin-1") == std::string::npos);
  CHECK(feed.body.find("-90") == std::string::npos);  // rssi, dropped by the grant's view

  for (const std::string target : {"/v1/streams?format=geojson", "/v1/readings?format=geojson"}) {
    const auto geo = p.get(target, partner);
    REQUIRE(geo.status == 200);
    std::set<std::string> sensors;
    const json collection = parse_json(geo.body);
    for (const auto& feature : collection["features"]) {
      const auto& props = feature["properties"];
      sensors.insert(props.contains("sensor") ? props["sensor"].get<std::string>()
                                              : feature["id"].get<std::string>());
    }
    INFO(target);
    CHECK(sensors == std::set<std::string>{"air-1", "park-1"});
  }

  const auto catalog = p.get("/v1/catalog", partner);
  REQUIRE(catalog.status == 200);
  CHECK(catalog.body.find("park") == std::string::npos);
  CHECK(catalog.body.find("bin") == std::string::npos);
  CHECK(catalog.body.find("mobility") == std::string::npos);

  // Reads of shared data through every format leave audit records.
  REQUIRE(p.f.audit->flush(std::chrono::seconds(5)));
  const auto audit = p.get("/v1/admin/audit?profile=mobility-partner", p.f.admin_key);
  REQUIRE(audit.status == 200);
  CHECK(audit.body.find("GET /ngsi-ld/v1/entities/{entityId}") != std::string::npos);
  CHECK(audit.body.find("GET /v1/readings") != std::string::npos);
}

TEST_CASE("the DCAT-AP catalogue lists open datasets only, as JSON-LD and Turtle",
          "[http][catalog]") {
  FormatsFixture p;
  for (const std::string& key : {std::string(), p.f.internal_key}) {
    const auto reply = p.get("/v1/catalog", key);
    REQUIRE(reply.status == 200);
    CHECK(reply.header("Content-Type") == "application/ld+json");
    const json doc = parse_json(reply.body);
    std::vector<std::string> datasets;
    for (const auto& node : doc["@graph"]) {
      if (node["@type"] == "dcat:Dataset") datasets.push_back(node["@id"]);
    }
    // Only the open rule's dataset; the shared and closed streams never appear, even for an
    // internal caller.
    CHECK(datasets == std::vector<std::string>{"https://data.stad.be/v1/catalog#dataset-air"});
    CHECK(reply.body.find("park-") == std::string::npos);
    CHECK(reply.body.find("bin-1") == std::string::npos);
    CHECK(reply.body.find("https://data.stad.be/v1/readings?dataset=air&format=csv") !=
          std::string::npos);
  }
  const auto turtle = p.get("/v1/catalog", "", {{"Accept", "text/turtle"}});
  REQUIRE(turtle.status == 200);
  CHECK(turtle.header("Content-Type").starts_with("text/turtle"));
  CHECK(turtle.body.find("<https://data.stad.be/v1/catalog#dataset-air> a dcat:Dataset") !=
        std::string::npos);
  CHECK(p.get("/v1/catalog?format=rdfxml").status == 406);

  // The distributions' URLs answer with exactly the dataset's streams.
  const auto csv = p.get("/v1/readings?dataset=air&format=csv", p.f.internal_key);
  REQUIRE(csv.status == 200);
  CHECK(csv.body.find("air-1") != std::string::npos);
  CHECK(csv.body.find("park-") == std::string::npos);
  CHECK(p.get("/v1/readings?dataset=nope").status == 400);

  // Closing the open rule empties the catalogue at once.
  p.f.policy_yaml = std::string(kPolicy);
  const auto open = p.f.policy_yaml.find("class: open");
  p.f.policy_yaml.replace(open, 11, "class: closed");
  p.f.policy_yaml.replace(
      p.f.policy_yaml.find("    open_view: {round_location: 2, drop: [battery]}\n"
                           "    dataset: {identifier: air, title: "
                           "Luchtkwaliteit, themes: [ENVI]}\n"),
      std::string("    open_view: {round_location: 2, drop: [battery]}\n"
                  "    dataset: {identifier: air, title: Luchtkwaliteit, "
                  "themes: [ENVI]}\n")
          .size(),
      "");
  REQUIRE(p.f.reload_policy());
  const auto closed = p.get("/v1/catalog");
  REQUIRE(closed.status == 200);
  CHECK(closed.body.find("dcat:Dataset") == std::string::npos);
  CHECK(closed.body.find("air-1") == std::string::npos);
}

}  // namespace
}  // namespace databroker::testing
