// The output encoders: CSV quoting and formula injection, stable columns, GeoJSON shape,
// NGSI-LD attribute names, types, units and scales against the Smart Data Models facts of the
// data-format reference, the three representations, and the DCAT-AP catalogue.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/codecs/csv.h"
#include "adapters/codecs/dcat.h"
#include "adapters/codecs/geojson.h"
#include "adapters/codecs/ngsi_ld.h"
#include "broker/core/time.h"
#include "policies/view.h"

namespace databroker::codecs {
namespace {

using nlohmann::json;

constexpr core::TimestampMs kTs = 1'730'440'800'000;  // 2024-11-01T06:00:00.000Z

core::Reading reading(std::string sensor, std::string kind, std::vector<core::Measurement> values,
                      std::optional<core::Location> location = std::nullopt) {
  core::Reading r;
  r.sensor_id = std::move(sensor);
  r.kind = std::move(kind);
  r.ts = kTs;
  r.received_at = kTs + 500;
  r.seq = 7;
  r.values = std::move(values);
  r.location = location;
  return r;
}

StreamSummary stream_of(const core::Reading& latest, std::optional<core::Location> location = {}) {
  StreamSummary s;
  s.id = latest.sensor_id;
  s.kind = latest.kind;
  s.stream_class = "open";
  s.location = location;
  s.name = "";
  s.zone = "";
  s.tags = std::vector<std::string>{};
  s.latest = latest;
  return s;
}

TEST_CASE("CSV quotes commas, quotes and newlines and ends rows with CRLF", "[codecs][csv]") {
  std::string out;
  append_csv_text(out, "plain");
  out += '|';
  append_csv_text(out, "a,b");
  out += '|';
  append_csv_text(out, "say \"hi\"");
  out += '|';
  append_csv_text(out, "two\nlines");
  CHECK(out == "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");

  const auto r = reading("aq-1", "air_quality", {{"pm25", 8.4, true}, {"no2", 21.3, true}},
                         core::Location{50.8782, 4.7005, std::nullopt});
  const std::vector<std::string> columns = {"pm25", "pm10", "no2"};
  std::string csv;
  append_csv_readings_header(csv, columns);
  append_csv_reading(csv, r, columns);
  CHECK(csv ==
        "seq,sensor,kind,ts,received_at,lat,lon,pm25,pm10,no2,other_measurements\r\n"
        "7,aq-1,air_quality,2024-11-01T06:00:00.000Z,2024-11-01T06:00:00.500Z,50.8782,4.7005,8.4,,"
        "21.3,\r\n");
}

TEST_CASE("CSV defuses spreadsheet formulas in text cells but not in numbers",
          "[codecs][csv][security]") {
  for (const std::string formula :
       {"=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"}) {
    std::string out;
    append_csv_text(out, formula);
    INFO(formula);
    CHECK((out.starts_with("'") || out.starts_with("\"'")));
  }
  auto r =
      reading("-A1", "air_quality",
              {{"temperature", -3.5, true}, {"comment", std::string("=cmd|'/c calc'!A0"), false}});
  std::string csv;
  append_csv_reading(csv, r, std::vector<std::string>{"temperature"});
  INFO(csv);
  CHECK(csv.find(",'-A1,") != std::string::npos);  // a sensor id is text
  CHECK(csv.find(",-3.5,") != std::string::npos);  // a number is left alone
  // The unknown string measurement lands in other_measurements, as JSON, guarded only if it
  // would start a formula (a JSON object starts with '{').
  CHECK(csv.find("\"{\"\"comment\"\":\"\"=cmd|'/c calc'!A0\"\"}\"") != std::string::npos);
}

TEST_CASE("CSV columns follow the kind's schema, and a mixed feed a stable union",
          "[codecs][csv]") {
  const auto kinds = core::KindCatalog::with_builtins();
  CHECK(csv_kind_columns(*kinds.find("noise")) ==
        std::vector<std::string>{"laeq", "lamax", "la90", "battery", "rssi"});
  const std::vector<std::string> names = {"air_quality", "waste_bin"};
  CHECK(csv_union_columns(kinds, names) ==
        std::vector<std::string>{"pm25", "pm10", "no2", "o3", "temperature", "humidity", "battery",
                                 "rssi", "fill_level", "tilted"});
}

TEST_CASE("GeoJSON puts [lon, lat] in a Point and a missing location as a null geometry",
          "[codecs][geojson]") {
  const auto located = reading("aq-1", "air_quality", {{"pm25", 8.4, true}},
                               core::Location{50.8782, 4.7005, std::nullopt});
  const auto unlocated = reading("bin-1", "waste_bin", {{"tilted", true, true}});
  const std::vector<core::Reading> readings = {located, unlocated};
  const json fc = json::parse(geojson_readings(readings));
  CHECK(fc["type"] == "FeatureCollection");
  REQUIRE(fc["features"].size() == 2);
  CHECK(fc["features"][0]["geometry"] ==
        json({{"type", "Point"}, {"coordinates", {4.7005, 50.8782}}}));
  CHECK(fc["features"][0]["properties"]["values"]["pm25"] == 8.4);
  CHECK(fc["features"][0]["id"] == 7);
  CHECK(fc["features"][1]["geometry"].is_null());

  StreamSummary s = stream_of(located, core::Location{50.88, 4.70, 12.0});
  s.name = std::nullopt;  // withheld by a view
  const json feature = json::parse(geojson_stream(s));
  CHECK(feature["id"] == "aq-1");
  CHECK(feature["geometry"]["coordinates"] == json({4.70, 50.88, 12.0}));
  CHECK_FALSE(feature["properties"].contains("name"));
  CHECK(feature["properties"]["last_reading_at"] == "2024-11-01T06:00:00.000Z");
}

TEST_CASE("AirQualityObserved: SDM names, GQ and CEL, relativeHumidity 0-1, observedAt",
          "[codecs][ngsi-ld]") {
  const auto r = reading("leuven-01", "air_quality",
                         {{"pm25", 8.4, true},
                          {"no2", 21.3, true},
                          {"temperature", 11.6, true},
                          {"humidity", 78.5, true},
                          {"battery", 90.0, true}});
  const StreamSummary s = stream_of(r, core::Location{50.8782, 4.7005, std::nullopt});
  const json e = json::parse(ngsi_entity(s, {}));
  CHECK(e["id"] == "urn:ngsi-ld:AirQualityObserved:leuven-01");
  CHECK(e["type"] == "AirQualityObserved");
  CHECK(e["dateObserved"] == json({{"type", "Property"}, {"value", "2024-11-01T06:00:00.000Z"}}));
  CHECK(e["pm25"] == json({{"type", "Property"},
                           {"value", 8.4},
                           {"observedAt", "2024-11-01T06:00:00.000Z"},
                           {"unitCode", "GQ"}}));
  CHECK(e["no2"]["unitCode"] == "GQ");
  CHECK(e["temperature"]["unitCode"] == "CEL");
  CHECK(e["relativeHumidity"]["value"] == Approx(0.785));
  CHECK_FALSE(e.contains("humidity"));
  CHECK_FALSE(e.contains("battery"));
  CHECK(e["location"] ==
        json({{"type", "GeoProperty"},
              {"value", {{"type", "Point"}, {"coordinates", {4.7005, 50.8782}}}}}));
  CHECK(e["refDevice"] ==
        json({{"type", "Relationship"}, {"object", "urn:ngsi-ld:Device:leuven-01"}}));
  CHECK(e["@context"] ==
        json({"https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/"
              "context.jsonld",
              "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"}));
}

TEST_CASE("NoiseLevelObserved has dateObservedFrom/To and LAeq/LAmax in dB (2N)",
          "[codecs][ngsi-ld]") {
  const auto r = reading("noise-1", "noise", {{"laeq", 67.8, true}, {"lamax", 94.5, true}});
  const json e = json::parse(ngsi_entity(stream_of(r), {}));
  CHECK(e["type"] == "NoiseLevelObserved");
  CHECK(e["dateObservedFrom"]["value"] == "2024-11-01T06:00:00.000Z");
  CHECK(e["dateObservedTo"]["value"] == "2024-11-01T06:00:00.000Z");
  CHECK(e["LAeq"]["value"] == 67.8);
  CHECK(e["LAeq"]["unitCode"] == "2N");
  CHECK(e["LAmax"]["unitCode"] == "2N");
  CHECK_FALSE(e.contains("location"));  // none known: absent, never invented
}

TEST_CASE("WasteContainer: fillingLevel 0-1, status from the tilt sensor, concise form",
          "[codecs][ngsi-ld]") {
  const auto r =
      reading("bin-42", "waste_bin",
              {{"fill_level", 62.0, true}, {"temperature", 25.0, true}, {"tilted", false, true}});
  NgsiOptions concise;
  concise.form = NgsiForm::Concise;
  const json e =
      json::parse(ngsi_entity(stream_of(r, core::Location{50.879, 4.7009, {}}), concise));
  CHECK(e["id"] == "urn:ngsi-ld:WasteContainer:bin-42");
  CHECK(e["fillingLevel"] ==
        json({{"value", 0.62}, {"observedAt", "2024-11-01T06:00:00.000Z"}, {"unitCode", "C62"}}));
  CHECK(e["temperature"]["unitCode"] == "CEL");
  CHECK(e["status"]["value"] == "ok");
  CHECK(e["location"] == json({{"type", "Point"}, {"coordinates", {4.7009, 50.879}}}));
  CHECK(e["refDevice"] == json({{"object", "urn:ngsi-ld:Device:bin-42"}}));
  CHECK(e["@context"][0] ==
        "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/"
        "context.jsonld");

  const auto tilted = reading("bin-42", "waste_bin", {{"tilted", true, true}});
  CHECK(json::parse(ngsi_entity(stream_of(tilted), {}))["status"]["value"] == "dropped");
}

TEST_CASE("ParkingSpot has status, category and refParkingSite, keyValues flattens",
          "[codecs][ngsi-ld]") {
  const auto r = reading("spot-17", "parking", {{"occupied", true, true}});
  StreamSummary s = stream_of(r, core::Location{50.8787, 4.7043, {}});
  s.zone = "ladeuzeplein";
  NgsiOptions kv;
  kv.form = NgsiForm::KeyValues;
  kv.context_in_body = false;
  const json e = json::parse(ngsi_entity(s, kv));
  CHECK(e["id"] == "urn:ngsi-ld:ParkingSpot:spot-17");
  CHECK(e["status"] == "occupied");
  CHECK(e["category"] == json({"onStreet"}));
  CHECK(e["refParkingSite"] == "urn:ngsi-ld:OnStreetParking:ladeuzeplein");
  CHECK(e["location"]["type"] == "Point");
  CHECK_FALSE(e.contains("@context"));

  const auto normalized = json::parse(ngsi_entity(s, {}));
  CHECK(normalized["status"]["observedAt"] == "2024-11-01T06:00:00.000Z");
  CHECK(normalized["refParkingSite"]["type"] == "Relationship");
  CHECK(normalized["@context"][0] ==
        "https://raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/"
        "context.jsonld");
}

TEST_CASE("a garage becomes OffStreetParking with spot numbers and occupancy",
          "[codecs][ngsi-ld]") {
  const auto r =
      reading("garage-1", "parking", {{"free_spots", 30.0, true}, {"total_spots", 120.0, true}});
  const json e = json::parse(ngsi_entity(stream_of(r), {}));
  CHECK(e["id"] == "urn:ngsi-ld:OffStreetParking:garage-1");
  CHECK(e["availableSpotNumber"]["value"] == 30);
  CHECK(e["totalSpotNumber"]["value"] == 120);
  CHECK(e["occupiedSpotNumber"]["value"] == 90);
  CHECK(e["occupancy"]["value"] == Approx(0.75));
  CHECK(e["status"]["value"] == json({"spacesAvailable"}));
}

TEST_CASE("a view applied before encoding shows in NGSI-LD, GeoJSON and CSV alike",
          "[codecs][views]") {
  policies::View view;
  view.drop.insert("no2");
  view.round_location = 2;
  const auto raw = reading("aq-9", "air_quality", {{"pm25", 8.4, true}, {"no2", 21.3, true}},
                           core::Location{50.87823, 4.70051, std::nullopt});
  const core::Reading viewed = policies::apply_view(raw, view);
  StreamSummary s = stream_of(viewed, policies::view_location(raw.location, view));
  const json e = json::parse(ngsi_entity(s, {}));
  CHECK_FALSE(e.contains("no2"));
  CHECK(e["location"]["value"]["coordinates"] == json({4.7, 50.88}));
  const json g = json::parse(geojson_reading(viewed));
  CHECK_FALSE(g["properties"]["values"].contains("no2"));
  CHECK(g["geometry"]["coordinates"] == json({4.7, 50.88}));
  std::string csv;
  append_csv_reading(csv, viewed, std::vector<std::string>{"pm25"});
  CHECK(csv.find("21.3") == std::string::npos);
  CHECK(csv.find("50.88,4.7,") != std::string::npos);
}

TEST_CASE("temporal NGSI-LD: arrays of instances, and temporalValues pairs", "[codecs][ngsi-ld]") {
  auto first = reading("aq-1", "air_quality", {{"pm25", 9.1, true}});
  auto second = reading("aq-1", "air_quality", {{"pm25", 8.4, true}, {"no2", 20.0, true}});
  second.ts = kTs + 600'000;
  const std::vector<core::Reading> readings = {first, second};
  const StreamSummary s = stream_of(second);
  const json normalized = json::parse(ngsi_temporal_entity(s, readings, {}));
  REQUIRE(normalized["pm25"].size() == 2);
  CHECK(normalized["pm25"][0] == json({{"type", "Property"},
                                       {"value", 9.1},
                                       {"observedAt", "2024-11-01T06:00:00.000Z"},
                                       {"unitCode", "GQ"}}));
  CHECK(normalized["no2"].size() == 1);
  NgsiTemporalOptions values;
  values.form = NgsiTemporalForm::TemporalValues;
  values.attrs = {"pm25"};
  const json simplified = json::parse(ngsi_temporal_entity(s, readings, values));
  CHECK(simplified["pm25"] ==
        json({{"type", "Property"},
              {"values", {{9.1, "2024-11-01T06:00:00.000Z"}, {8.4, "2024-11-01T06:10:00.000Z"}}}}));
  CHECK_FALSE(simplified.contains("no2"));
}

TEST_CASE("entity ids parse back only for served types and valid sensor ids", "[codecs][ngsi-ld]") {
  const auto ref = parse_ngsi_entity_id("urn:ngsi-ld:ParkingSpot:gent:spot-1");
  REQUIRE(ref);
  CHECK(ref->type == "ParkingSpot");
  CHECK(ref->sensor_id == "gent:spot-1");
  CHECK_FALSE(parse_ngsi_entity_id("urn:ngsi-ld:Device:x"));
  CHECK_FALSE(parse_ngsi_entity_id("urn:ngsi-ld:ParkingSpot:"));
  CHECK_FALSE(parse_ngsi_entity_id("urn:ngsi-ld:ParkingSpot:a/b"));
  CHECK_FALSE(parse_ngsi_entity_id("ParkingSpot:x"));
}

policies::CatalogInfo catalog_info() {
  policies::CatalogInfo c;
  c.base_url = "https://data.stad.be";
  c.title = "Sensordata \"Stad\"";
  c.description = "Open sensordata";
  c.publisher = {"Stad Gent", "open@stad.be", "https://stad.gent"};
  c.contact = {"Dienst Data", "data@stad.be", ""};
  c.license = "http://data.vlaanderen.be/id/licentie/modellicentie-gratis-hergebruik/v1.0";
  c.keywords = {"sensoren"};
  return c;
}

TEST_CASE("the DCAT-AP catalogue meets the DCAT-AP Vlaanderen minimum", "[codecs][dcat]") {
  DcatDataset air;
  air.info = {"air-quality",
              "Luchtkwaliteit",
              "Fijn stof en NO2",
              {"lucht"},
              {},
              catalog_info().license,
              3};
  air.kinds = {"air_quality"};
  air.modified = kTs;
  const std::vector<DcatDataset> datasets = {air};
  const json doc = json::parse(dcat_jsonld(catalog_info(), datasets));
  std::map<std::string, json> nodes;
  for (const auto& node : doc["@graph"]) nodes[node["@id"]] = node;
  const std::string root = "https://data.stad.be/v1/catalog";
  REQUIRE(nodes.contains(root));
  CHECK(nodes[root]["@type"] == "dcat:Catalog");
  const json& dataset = nodes[root + "#dataset-air-quality"];
  CHECK(dataset["@type"] == "dcat:Dataset");
  CHECK(dataset["dct:title"] == json({{"@value", "Luchtkwaliteit"}, {"@language", "nl"}}));
  CHECK(dataset["dct:publisher"]["@id"] == root + "#publisher");
  CHECK(dataset["dcat:contactPoint"]["@id"] == root + "#contact");
  CHECK(dataset["dct:accessRights"]["@id"] ==
        "http://publications.europa.eu/resource/authority/access-right/PUBLIC");
  CHECK(dataset["dcat:theme"]["@id"] ==
        "http://publications.europa.eu/resource/authority/data-theme/ENVI");
  CHECK(dataset["dcat:keyword"]["@value"] == "lucht");
  REQUIRE(dataset["dcat:distribution"].size() == 5);
  for (const auto& ref : dataset["dcat:distribution"]) {
    const json& d = nodes[ref["@id"]];
    INFO(d.dump());
    CHECK(d["@type"] == "dcat:Distribution");
    CHECK(d["dcat:accessURL"]["@id"].get<std::string>().starts_with("https://data.stad.be/"));
    CHECK(d.contains("dct:identifier"));
    CHECK(d.contains("dct:format"));
    CHECK(d["dct:license"]["@id"] == catalog_info().license);
  }
  CHECK(nodes[root + "#dataset-air-quality-csv"]["dcat:accessURL"]["@id"] ==
        "https://data.stad.be/v1/readings?dataset=air-quality&format=csv");
  CHECK(nodes[root + "#dataset-air-quality-ngsi-ld"]["dcat:accessService"]["@id"] ==
        root + "#ngsi-ld-api");
  const json& service = nodes[root + "#ngsi-ld-api"];
  CHECK(service["@type"] == "dcat:DataService");
  CHECK(service["dcat:endpointURL"]["@id"] == "https://data.stad.be/ngsi-ld/v1");
  CHECK(service["dcat:endpointDescription"]["@id"] == "https://data.stad.be/v1/openapi.json");
  CHECK(nodes[root + "#publisher"]["foaf:mbox"]["@id"] == "mailto:open@stad.be");

  const std::string turtle = dcat_turtle(catalog_info(), datasets);
  INFO(turtle);
  CHECK(turtle.find("@prefix dcat: <http://www.w3.org/ns/dcat#> .") != std::string::npos);
  CHECK(turtle.find("<https://data.stad.be/v1/catalog> a dcat:Catalog ;") != std::string::npos);
  CHECK(turtle.find("dct:title \"Sensordata \\\"Stad\\\"\"@nl") != std::string::npos);
  CHECK(turtle.find("dct:modified \"2024-11-01T06:00:00.000Z\"^^xsd:dateTime") !=
        std::string::npos);
  // Every subject of the JSON-LD graph is described in the Turtle too.
  for (const auto& [id, node] : nodes) CHECK(turtle.find("\n<" + id + "> a ") != std::string::npos);
}

}  // namespace
}  // namespace databroker::codecs
