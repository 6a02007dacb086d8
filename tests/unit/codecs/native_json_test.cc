#include "adapters/codecs/native_json.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "broker/core/time.h"

using namespace databroker;
using codecs::decode_native;
using codecs::NativeTarget;

namespace {

constexpr core::TimestampMs kNow = 1'795'860'900'000;

std::vector<std::string> reasons(const core::Error& error) {
  std::vector<std::string> out;
  for (const auto& d : error.details) out.push_back(d.field + ":" + d.reason);
  return out;
}

}  // namespace

TEST_CASE("a native payload decodes with sensor and kind from the topic", "[codecs][native]") {
  auto result = decode_native(
      R"({"ts":"2026-11-28T10:15:00Z","values":{"pm25":12.3,"no2":31,"ok":true},"location":{"lat":51.054,"lon":3.717}})",
      NativeTarget{"gent-aq-001", "air_quality"}, kNow, true, 10);
  REQUIRE(result);
  REQUIRE(result->size() == 1);
  const auto& r = result->front();
  CHECK(r.sensor_id == "gent-aq-001");
  CHECK(r.kind == "air_quality");
  CHECK(r.ts == core::parse_rfc3339("2026-11-28T10:15:00Z"));
  REQUIRE(r.values.size() == 3);
  CHECK(r.values[0].name == "pm25");
  CHECK(std::get<double>(r.values[0].value) == 12.3);
  CHECK(std::get<double>(r.values[1].value) == 31);
  CHECK(std::get<bool>(r.values[2].value));
  REQUIRE(r.location);
  CHECK(r.location->lat == 51.054);
  CHECK_FALSE(r.location->alt);
}

TEST_CASE("a missing ts means the receive time, epoch milliseconds are accepted",
          "[codecs][native]") {
  auto missing = decode_native(R"({"values":{"laeq":55}})", {"n1", "noise"}, kNow, true, 10);
  REQUIRE(missing);
  CHECK(missing->front().ts == kNow);
  auto epoch = decode_native(R"({"ts":1795860900123,"values":{"laeq":55}})", {"n1", "noise"}, kNow,
                             true, 10);
  REQUIRE(epoch);
  CHECK(epoch->front().ts == 1'795'860'900'123);
}

TEST_CASE("a cross-sensor batch carries sensor and kind per object", "[codecs][native]") {
  auto result = decode_native(
      R"([{"sensor":"a","kind":"noise","values":{"laeq":50}},{"sensor":"b","kind":"parking","values":{"occupied":false}}])",
      {}, kNow, true, 10);
  REQUIRE(result);
  REQUIRE(result->size() == 2);
  CHECK((*result)[1].sensor_id == "b");
  CHECK((*result)[1].kind == "parking");
}

TEST_CASE("every problem of a batch is reported with its index", "[codecs][native]") {
  auto result = decode_native(
      R"([{"values":{"laeq":50}},{"sensor":"b","kind":"noise","valeus":{}},{"sensor":1,"kind":"noise","ts":"yesterday","values":{"x":[1]}}])",
      {}, kNow, true, 10);
  REQUIRE_FALSE(result);
  CHECK(result.error().code == core::ErrorCode::InvalidArgument);
  auto got = reasons(result.error());
  std::vector<std::string> expected = {"[0].sensor:invalid_sensor_id", "[0].kind:unknown_kind",
                                       "[1].valeus:unknown_field",     "[1].values:empty_values",
                                       "[2].sensor:wrong_type",        "[2].ts:invalid_timestamp",
                                       "[2].values.x:wrong_type"};
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  CHECK(got == expected);
}

TEST_CASE("malformed JSON, wrong shapes and oversized batches are refused", "[codecs][native]") {
  struct Case {
    const char* payload;
    const char* reason;
    bool allow_array;
  };
  for (auto [payload, reason, allow_array] : std::vector<Case>{
           {"", "malformed_json", true},
           {"{", "malformed_json", true},
           {"{\"values\":{\"a\":1}}x", "malformed_json", true},
           {"{\"values\":{\"pm25\":1e999}}", "malformed_json", true},
           {"[]", "empty_values", true},
           {"[{\"values\":{\"laeq\":1}}]", "wrong_type", false},
           {"[1,2,3,4]", "too_many_readings", true},
           {"42", "wrong_type", true},
           {"{\"values\":[1]}", "wrong_type", true},
           {"{\"values\":{\"laeq\":1,\"laeq\":2}}", "duplicate_field", true},
           {"{\"values\":{\"laeq\":1},\"ts\":-5}", "invalid_timestamp", true},
           {"{\"values\":{\"laeq\":1},\"ts\":1.5}", "invalid_timestamp", true},
           {"{\"values\":{\"laeq\":1},\"location\":{\"lat\":1}}", "invalid_location", true},
           {"{\"values\":{\"laeq\":1},\"location\":{\"lat\":\"1\",\"lon\":2}}", "invalid_location",
            true},
           {"{\"values\":{\"laeq\":1},\"sensor\":\"other\"}", "conflict", true},
       }) {
    INFO(payload);
    auto result = decode_native(payload, {"n1", "noise"}, kNow, allow_array, 3);
    REQUIRE_FALSE(result);
    REQUIRE_FALSE(result.error().details.empty());
    CHECK(result.error().details.front().reason == reason);
  }
}

TEST_CASE("invalid UTF-8 in a payload is refused, not stored", "[codecs][native]") {
  auto result = decode_native("{\"values\":{\"l\xff\":1}}", {"n1", "noise"}, kNow, true, 3);
  REQUIRE_FALSE(result);
  CHECK(result.error().details.front().reason == "malformed_json");
}

TEST_CASE("a reading encodes as JSON that reads back to the same values", "[codecs][native]") {
  core::Reading r;
  r.seq = 42;
  r.sensor_id = "gent-\"aq\"";
  r.kind = "air_quality";
  r.ts = 1'795'860'900'123;
  r.received_at = 1'795'860'901'000;
  r.values = {{"pm25", 12.3, true},
              {"tilted", false, true},
              {"fw", std::string("v1.2"), false},
              {"big", 1e21, true},
              {"tiny", 0.1 + 0.2, true}};
  r.location = core::Location{51.054, 3.717, 12.5};
  auto json = nlohmann::json::parse(codecs::reading_json(r));
  CHECK(json["seq"] == 42);
  CHECK(json["sensor"] == "gent-\"aq\"");
  CHECK(json["ts"] == "2026-11-28T10:15:00.123Z");
  CHECK(json["values"]["pm25"] == 12.3);
  CHECK(json["values"]["tilted"] == false);
  CHECK(json["values"]["fw"] == "v1.2");
  CHECK(json["values"]["big"].get<double>() == 1e21);
  CHECK(json["values"]["tiny"].get<double>() == 0.1 + 0.2);
  CHECK(json["unknown_measurements"] == nlohmann::json::array({"fw"}));
  CHECK(json["location"]["alt"] == 12.5);
}

TEST_CASE("whole numbers encode without a fraction", "[codecs][native]") {
  std::string out;
  codecs::append_json_number(out, 31);
  CHECK(out == "31");
  out.clear();
  codecs::append_json_number(out, -0.5);
  CHECK(out == "-0.5");
}
