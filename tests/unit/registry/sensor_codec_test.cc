#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "broker/registry/sensor_registry.h"

namespace databroker::registry {
namespace {

SensorInfo full_sensor() {
  SensorInfo info;
  info.id = "gent:aq-0042";
  info.kind = "air_quality";
  info.name = "Sint-Pietersplein — north side";
  info.location = core::Location{51.0421, 3.7265, 12.5};
  info.zone = "centrum-zuid";
  info.tags = {"school", "traffic"};
  info.owner = "Stad Gent";
  info.steward = "data@stad.gent";
  info.declared = true;
  info.registered_at = 1'795'000'000'123;
  return info;
}

bool has_field(const core::Error& error, std::string_view field) {
  for (const auto& detail : error.details) {
    if (detail.field == field) {
      return true;
    }
  }
  return false;
}

TEST_CASE("a sensor round-trips through its JSON encoding", "[registry][codec]") {
  SensorInfo full = full_sensor();
  SensorInfo minimal;
  minimal.id = "a";
  minimal.kind = "noise";
  SensorInfo no_alt = full;
  no_alt.location = core::Location{-90, 180, std::nullopt};
  SensorInfo precise = full;
  precise.location = core::Location{0.1 + 0.2, -179.99999999999997, -0.0};
  for (const auto& info : {full, minimal, no_alt, precise}) {
    auto decoded = decode_sensor(encode_sensor(info));
    REQUIRE(decoded);
    CHECK(*decoded == info);
  }
}

TEST_CASE("a sensor without location encodes no location", "[registry][codec]") {
  SensorInfo info;
  info.id = "bin-1";
  info.kind = "waste_bin";
  CHECK(encode_sensor(info).find("location") == std::string::npos);
}

TEST_CASE("decode accepts the minimal record and ignores unknown fields", "[registry][codec]") {
  auto decoded = decode_sensor(
      R"({"id":"p-1","kind":"parking","location":{"lat":51,"lon":3},"future_field":[1,2]})");
  REQUIRE(decoded);
  CHECK(decoded->id == "p-1");
  CHECK(decoded->kind == "parking");
  REQUIRE(decoded->location);
  CHECK(decoded->location->lat == 51);
  CHECK_FALSE(decoded->location->alt);
  CHECK_FALSE(decoded->declared);
  CHECK(decoded->registered_at == 0);

  auto null_location = decode_sensor(R"({"id":"p-1","kind":"parking","location":null})");
  REQUIRE(null_location);
  CHECK_FALSE(null_location->location);
}

TEST_CASE("decode rejects invalid sensor ids", "[registry][codec]") {
  for (const std::string& record : std::vector<std::string>{
           std::string(R"({"kind":"noise"})"), std::string(R"({"id":"","kind":"noise"})"),
           std::string(R"({"id":"has space","kind":"noise"})"),
           std::string(R"({"id":"a/b","kind":"noise"})"),
           std::string(R"({"id":"caf\u00e9","kind":"noise"})"),
           std::string(R"({"id":42,"kind":"noise"})"),
           R"({"id":")" + std::string(129, 'a') + R"(","kind":"noise"})"}) {
    CAPTURE(record);
    auto decoded = decode_sensor(record);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == core::ErrorCode::InvalidArgument);
    CHECK(has_field(decoded.error(), "id"));
  }
  CHECK(decode_sensor(R"({"id":")" + std::string(128, 'a') + R"(","kind":"noise"})"));
}

TEST_CASE("decode rejects invalid kinds", "[registry][codec]") {
  for (const std::string& record : std::vector<std::string>{
           std::string(R"({"id":"s"})"), std::string(R"({"id":"s","kind":"Noise"})"),
           std::string(R"({"id":"s","kind":"1noise"})"),
           std::string(R"({"id":"s","kind":null})")}) {
    CAPTURE(record);
    auto decoded = decode_sensor(record);
    REQUIRE_FALSE(decoded);
    CHECK(has_field(decoded.error(), "kind"));
  }
}

TEST_CASE("decode rejects locations out of range or malformed", "[registry][codec]") {
  struct Case {
    std::string location;
    std::string field;
  };
  for (const auto& c : std::vector<Case>{{R"({"lat":90.0001,"lon":0})", "location.lat"},
                                         {R"({"lat":-91,"lon":0})", "location.lat"},
                                         {R"({"lat":0,"lon":180.5})", "location.lon"},
                                         {R"({"lat":0,"lon":-181})", "location.lon"},
                                         {R"({"lat":1e400,"lon":0})", ""},
                                         {R"({"lat":"51","lon":3})", "location.lat"},
                                         {R"({"lat":51})", "location.lon"},
                                         {R"({"lat":51,"lon":3,"alt":"high"})", "location.alt"},
                                         {R"([51,3])", "location"},
                                         {R"("51,3")", "location"}}) {
    const std::string record = R"({"id":"s","kind":"noise","location":)" + c.location + "}";
    CAPTURE(record);
    auto decoded = decode_sensor(record);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == core::ErrorCode::InvalidArgument);
    if (!c.field.empty()) {
      CHECK(has_field(decoded.error(), c.field));
    }
  }
  for (const std::string& location : std::vector<std::string>{
           std::string(R"({"lat":90,"lon":180})"), std::string(R"({"lat":-90,"lon":-180})")}) {
    CHECK(decode_sensor(R"({"id":"s","kind":"noise","location":)" + location + "}"));
  }
}

TEST_CASE("decode reports every wrong field at once", "[registry][codec]") {
  auto decoded =
      decode_sensor(R"({"id":"bad id","kind":"noise","name":1,"tags":["a",2],"declared":"yes",)"
                    R"("registered_at":1.5,"location":{"lat":100,"lon":0}})");
  REQUIRE_FALSE(decoded);
  for (std::string_view field :
       {"id", "name", "tags", "declared", "registered_at", "location.lat"}) {
    CAPTURE(field);
    CHECK(has_field(decoded.error(), field));
  }
}

TEST_CASE("decode rejects garbage without throwing", "[registry][codec]") {
  for (const std::string& garbage : std::vector<std::string>{
           std::string(), std::string("{"), std::string("null"), std::string("[]"),
           std::string("42"), std::string("\"sensor\""), std::string("\xff\xfe"),
           std::string("{\"id\":\"s\",\"kind\":\"noise\"} trailing"),
           std::string("{\"id\":\"\xc3\",\"kind\":\"noise\"}"), std::string("nul\0l", 5),
           std::string(100'000, '['), std::string(100'000, '[') + std::string(100'000, ']'),
           std::string(
               "{\"registered_at\":99999999999999999999999,\"id\":\"s\",\"kind\":\"n\"}")}) {
    CAPTURE(garbage.substr(0, 60));
    auto decoded = decode_sensor(garbage);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == core::ErrorCode::InvalidArgument);
  }
}

TEST_CASE("decode of random mutations of a record never throws and only accepts valid sensors",
          "[registry][codec][random]") {
  std::mt19937 random(1128);
  const std::string valid = encode_sensor(full_sensor());
  const std::string symbols = "{}[]\":,0123456789.-eE aZ\\u\xff";
  for (int round = 0; round < 5000; ++round) {
    std::string mutated = valid;
    const int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % mutated.size();
      switch (random() % 3) {
        case 0:
          mutated[at] = symbols[random() % symbols.size()];
          break;
        case 1:
          mutated.erase(at, 1 + random() % 8);
          break;
        default:
          mutated.insert(at, 1, symbols[random() % symbols.size()]);
          break;
      }
      if (mutated.empty()) {
        mutated = "{";
      }
    }
    auto decoded = decode_sensor(mutated);
    if (decoded) {
      CHECK(validate_sensor(*decoded).empty());
    } else {
      CHECK_FALSE(decoded.error().message.empty());
    }
  }
}

TEST_CASE("validation rejects NaN coordinates", "[registry][codec]") {
  SensorInfo info = full_sensor();
  info.location->lat = std::numeric_limits<double>::quiet_NaN();
  info.location->alt = std::numeric_limits<double>::infinity();
  auto problems = validate_sensor(info, "sensors[0].");
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].field == "sensors[0].location.lat");
  CHECK(problems[1].field == "sensors[0].location.alt");
}

}  // namespace
}  // namespace databroker::registry
