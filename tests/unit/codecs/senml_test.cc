#include "adapters/codecs/senml.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/codecs/decode_checks.h"

using namespace databroker;
using namespace databroker::codec_tests;
using codecs::decode_senml;

namespace {

core::Result<std::vector<core::Reading>> decode(std::string_view payload,
                                                std::string_view kind = "air_quality",
                                                std::string_view sensor = "aq-1") {
  return decode_senml(payload, {sensor, kind}, builtin_kinds(), {}, kNow, 100);
}

}  // namespace

TEST_CASE("the reference air-quality pack resolves to two readings in time order",
          "[codecs][senml]") {
  auto result = decode(read_fixture("senml_air_quality.json"));
  REQUIRE(result);
  REQUIRE(result->size() == 2);
  const auto& older = (*result)[0];
  const auto& newer = (*result)[1];
  CHECK(older.ts == 1'730'440'200'000);  // bt + t = 1.7304408e9 - 600 s
  CHECK(older.values.size() == 1);
  CHECK(number(older, "pm25") == Approx(9.1));
  CHECK(newer.ts == 1'730'440'800'000);
  CHECK(newer.sensor_id == "aq-1");
  CHECK(newer.kind == "air_quality");
  CHECK(number(newer, "pm25") == Approx(8.4));
  CHECK(number(newer, "pm10") == Approx(14.9));
  CHECK(number(newer, "no2") == Approx(21.3));
  CHECK(number(newer, "o3") == Approx(48));
  CHECK(number(newer, "temperature") == Approx(11.6));
  CHECK(number(newer, "humidity") == Approx(78.5));
}

TEST_CASE("kg/m3 in a version 10 pack becomes micrograms per cubic metre", "[codecs][senml]") {
  auto result = decode(read_fixture("senml_air_quality_primary.json"));
  REQUIRE(result);
  REQUIRE(result->size() == 1);
  CHECK(number(result->front(), "pm25") == Approx(8.4));
  CHECK(number(result->front(), "pm10") == Approx(14.9));
  CHECK(number(result->front(), "temperature") == Approx(11.6));
}

TEST_CASE("the reference parking-spot pack gives the state now and 30 minutes ago",
          "[codecs][senml]") {
  auto result = decode(read_fixture("senml_parking_spot.json"), "parking", "spot-1");
  REQUIRE(result);
  REQUIRE(result->size() == 2);
  CHECK((*result)[0].ts == 1'730'442'600'000 - 1'800'000);
  CHECK_FALSE(std::get<bool>((*result)[0].find("occupied")->value));
  const auto& now = (*result)[1];
  CHECK(std::get<bool>(now.find("occupied")->value));
  CHECK(number(now, "battery") == 87);
  // Not a parking measurement: passed on for the validator's unknown_measurements rule.
  CHECK(number(now, "temperature") == 9.5);
}

TEST_CASE("the reference car-park pack maps availableSpots and totalSpots", "[codecs][senml]") {
  auto result = decode(read_fixture("senml_car_park.json"), "parking", "p2");
  REQUIRE(result);
  REQUIRE(result->size() == 1);
  CHECK(number(result->front(), "free_spots") == 132);
  CHECK(number(result->front(), "total_spots") == 414);
  CHECK(number(result->front(), "occupiedSpots") == 282);
}

TEST_CASE("relative times count from the receive time and base values add up", "[codecs][senml]") {
  auto result = decode(R"([{"bn":"urn:dev:ops:aq-1:","bt":-60,"bv":10,"n":"pm25","u":"ug/m3",
                            "v":2,"bver":26},{"n":"pm10","u":"ug/m3","v":5,"t":60}])");
  REQUIRE(result);
  REQUIRE(result->size() == 2);
  CHECK((*result)[0].ts == kNow - 60'000);
  CHECK(number((*result)[0], "pm25") == 12);
  CHECK((*result)[1].ts == kNow);
  CHECK(number((*result)[1], "pm10") == 15);
}

TEST_CASE("no time at all is the receive time", "[codecs][senml]") {
  auto result = decode(R"([{"n":"temperature","u":"Cel","v":3}])");
  REQUIRE(result);
  CHECK(result->front().ts == kNow);
}

TEST_CASE("noise names carry the weighting and dB converts to dB(A)", "[codecs][senml]") {
  auto result = decode(
      R"([{"bn":"urn:dev:ops:n-1:","n":"LAeq","u":"dB","v":61.2},{"n":"LAmax","u":"dB","v":78},
          {"n":"LA90","u":"Bspl","v":4.5}])",
      "noise", "n-1");
  REQUIRE(result);
  CHECK(number(result->front(), "laeq") == Approx(61.2));
  CHECK(number(result->front(), "lamax") == 78);
  CHECK(number(result->front(), "la90") == Approx(45));  // Bspl is bel: ×10
}

TEST_CASE("ratios become percentages and lat/lon records the location", "[codecs][senml]") {
  auto result = decode(
      R"([{"bn":"urn:dev:ops:bin-7:","n":"fillingLevel","u":"/","v":0.75},
          {"n":"tilted","vb":false},{"n":"battery","u":"%EL","v":90},
          {"n":"lat","u":"lat","v":51.05},{"n":"lon","u":"lon","v":3.72}])",
      "waste_bin", "bin-7");
  REQUIRE(result);
  REQUIRE(result->size() == 1);
  CHECK(number(result->front(), "fill_level") == Approx(75));
  REQUIRE(result->front().location);
  CHECK(result->front().location->lat == 51.05);
  CHECK(result->front().location->lon == 3.72);
  // "%" in SenML is the same 0-1 ratio as "/".
  auto legacy = decode(R"([{"n":"fill_level","u":"%","v":0.5}])", "waste_bin", "bin-7");
  REQUIRE(legacy);
  CHECK(number(legacy->front(), "fill_level") == Approx(50));
}

TEST_CASE("SenML packs that break the RFC are rejected with the record index", "[codecs][senml]") {
  CHECK(first_problem(decode(R"([{"n":"pm25","v":1,"bver":27}])")) ==
        "[0].bver:unsupported_version");
  CHECK(first_problem(decode(R"([{"n":"pm25","v":1},{"n":"pm10","v":1,"x_":1}])")) ==
        "[1].x_:must_understand");
  CHECK(first_problem(decode(R"([{"n":"pm25","v":1,"vs":"a"}])")) == "[0]:two_values");
  CHECK(first_problem(decode(R"([{"n":"pm25 x","v":1}])")) == "[0].n:invalid_name");
  CHECK(first_problem(decode(R"([{"n":"-pm25","v":1}])")) == "[0].n:invalid_name");
  CHECK(first_problem(decode(R"([{"n":"pm25","u":"Cel"}])")) == "[0]:missing_value");
  CHECK(first_problem(decode(R"([{"n":"pm25","s":3}])")) == "[0].s:unsupported_value");
  CHECK(first_problem(decode(R"([{"n":"pm25","vd":"AAE"}])")) == "[0].vd:unsupported_value");
  CHECK(first_problem(decode(R"([{"n":"pm25","v":"1"}])")) == "[0].v:wrong_type");
  CHECK(first_problem(decode(R"([])")) == "$:empty_values");
  CHECK(first_problem(decode(R"({"n":"pm25","v":1})")) == "$:wrong_type");
  CHECK(first_problem(decode(R"([{"n":"pm25","v":1)")) == "$:malformed_json");
  CHECK(first_problem(decode(R"([{"bn":"a:"},{"bn":"b:"}])")) == "$:empty_values");
  CHECK(first_problem(decode(R"([{"n":"pm25","v":1,"bver":10},{"n":"no2","v":1,"bver":26}])")) ==
        "[1].bver:version_mismatch");
}

TEST_CASE("units that do not fit the measurement are rejected with the reason", "[codecs][senml]") {
  // Secondary units need feature 4.
  CHECK(first_problem(decode(R"([{"n":"pm25","u":"ug/m3","v":1}])")) == "[0].u:secondary_unit");
  CHECK(first_problem(decode(R"([{"n":"pm25","u":"Cel","v":1}])")) == "[0].u:unit_mismatch");
  CHECK(first_problem(decode(R"([{"n":"temperature","u":"%RH","v":1}])")) == "[0].u:unit_mismatch");
  CHECK(first_problem(decode(R"([{"n":"humidity","u":"%EL","v":1}])")) == "[0].u:unit_mismatch");
  CHECK(first_problem(decode(R"([{"n":"pm25","u":"ppb","v":1}])")) == "[0].u:unknown_unit");
  CHECK(first_problem(decode(R"([{"n":"totalSpots","u":"count","v":1.5}])", "parking", "p")) ==
        "[0].v:not_an_integer");
  CHECK(first_problem(decode(R"([{"n":"occupied","v":1}])", "parking", "p")) == "[0]:wrong_type");
  CHECK(first_problem(decode(R"([{"n":"lat","u":"lon","v":51}])")) == "[0].u:unit_mismatch");
  CHECK(first_problem(decode(R"([{"n":"lat","v":51,"t":0},{"n":"pm10","v":3,"t":0}])")) ==
        "$:invalid_location");
}

TEST_CASE("one pack names one device when the sensor comes from the topic", "[codecs][senml]") {
  CHECK(first_problem(decode(R"([{"bn":"urn:dev:ops:a:","n":"pm25","v":1},
                                 {"bn":"urn:dev:ops:b:","n":"pm10","v":1}])")) ==
        "[1].n:multiple_devices");
  CHECK(first_problem(decode(R"([{"n":"pm25","v":1},{"n":"pm25","v":2}])")) ==
        "[1].n:duplicate_field");
}

TEST_CASE("without a sensor in the path the base name names each sensor", "[codecs][senml]") {
  const codecs::KindLookup registry = [](std::string_view id) -> std::optional<std::string> {
    if (id == "aq-1") return "air_quality";
    if (id == "n-1") return "noise";
    return std::nullopt;
  };
  auto result = decode_senml(R"([{"bn":"urn:dev:ops:aq-1:","n":"pm10","v":4},
                                 {"bn":"urn:dev:ops:n-1:","n":"LAeq","u":"dB","v":55}])",
                             {}, builtin_kinds(), registry, kNow, 100);
  REQUIRE(result);
  REQUIRE(result->size() == 2);
  CHECK(((*result)[0].sensor_id == "aq-1" || (*result)[1].sensor_id == "aq-1"));
  for (const auto& r : *result) CHECK(r.kind == (r.sensor_id == "aq-1" ? "air_quality" : "noise"));
  auto unknown = decode_senml(R"([{"bn":"urn:dev:ops:zz:","n":"pm10","v":4}])", {}, builtin_kinds(),
                              registry, kNow, 100);
  CHECK(first_problem(unknown) == "[0]:unknown_sensor");
  auto unnamed = decode_senml(R"([{"n":"pm10","v":4}])", {}, builtin_kinds(), registry, kNow, 100);
  CHECK(first_problem(unnamed) == "[0].n:invalid_sensor_id");
}

TEST_CASE("a pack longer than the limit is refused before it is resolved", "[codecs][senml]") {
  std::string pack = "[";
  for (int i = 0; i < 101; ++i) pack += std::string(i ? "," : "") + R"({"n":"pm10","v":1})";
  pack += "]";
  CHECK(first_problem(decode(pack)) == "$:too_many_readings");
}
