#include "broker/ingest/validation.h"

#include <catch2/catch.hpp>

#include "adapters/codecs/native_json.h"
#include "broker/registry/sensor_registry.h"
#include "tests/support/fake_meta_store.h"

using namespace databroker;

namespace {

constexpr core::TimestampMs kNow = 1'795'860'900'000;  // 2026-11-28T10:15:00Z

struct Case {
  const char* kind;
  const char* payload;
  const char* expected;  // "" = valid, else "field:reason" of the first problem
};

// The validation table: for every built-in kind, readings that pass and each way one fails.
const std::vector<Case> kTable = {
    // air_quality
    {"air_quality",
     R"({"values":{"pm25":12.3,"pm10":20,"no2":31,"o3":40,"temperature":8.5,"humidity":81}})", ""},
    {"air_quality", R"({"values":{"pm25":0,"pm10":2000,"temperature":-50,"humidity":100}})", ""},
    {"air_quality", R"({"values":{"pm25":-0.1}})", "values.pm25:out_of_range"},
    {"air_quality", R"({"values":{"pm10":2000.5}})", "values.pm10:out_of_range"},
    {"air_quality", R"({"values":{"no2":"31"}})", "values.no2:wrong_type"},
    {"air_quality", R"({"values":{"o3":true}})", "values.o3:wrong_type"},
    {"air_quality", R"({"values":{"temperature":70.1}})", "values.temperature:out_of_range"},
    {"air_quality", R"({"values":{"temperature":-50.5}})", "values.temperature:out_of_range"},
    {"air_quality", R"({"values":{"humidity":100.01}})", "values.humidity:out_of_range"},
    {"air_quality", R"({"values":{}})", "values:empty_values"},
    // noise
    {"noise", R"({"values":{"laeq":55.2,"lamax":80.1,"la90":40}})", ""},
    {"noise", R"({"values":{"laeq":160.1}})", "values.laeq:out_of_range"},
    {"noise", R"({"values":{"lamax":-1}})", "values.lamax:out_of_range"},
    {"noise", R"({"values":{"la90":null}})", "MALFORMED"},
    // waste_bin
    {"waste_bin", R"({"values":{"fill_level":73,"temperature":140,"tilted":false}})", ""},
    {"waste_bin", R"({"values":{"fill_level":101}})", "values.fill_level:out_of_range"},
    {"waste_bin", R"({"values":{"temperature":150.5}})", "values.temperature:out_of_range"},
    {"waste_bin", R"({"values":{"tilted":1}})", "values.tilted:wrong_type"},
    // parking
    {"parking", R"({"values":{"occupied":true}})", ""},
    {"parking", R"({"values":{"free_spots":12,"total_spots":40}})", ""},
    {"parking", R"({"values":{"occupied":"yes"}})", "values.occupied:wrong_type"},
    {"parking", R"({"values":{"free_spots":3.5}})", "values.free_spots:not_integer"},
    {"parking", R"({"values":{"free_spots":-1}})", "values.free_spots:out_of_range"},
    {"parking", R"({"values":{"free_spots":41,"total_spots":40}})",
     "values.free_spots:inconsistent"},
    // every kind: battery, rssi, time, location, kind
    {"noise", R"({"values":{"laeq":50,"battery":87,"rssi":-112}})", ""},
    {"noise", R"({"values":{"laeq":50,"battery":101}})", "values.battery:out_of_range"},
    {"noise", R"({"values":{"laeq":50,"rssi":3}})", "values.rssi:out_of_range"},
    {"noise", R"({"ts":"2026-11-28T10:19:59Z","values":{"laeq":50}})", ""},
    {"noise", R"({"ts":"2026-11-28T10:20:01Z","values":{"laeq":50}})", "ts:timestamp_in_future"},
    {"noise", R"({"ts":"1999-12-31T23:59:59Z","values":{"laeq":50}})", "ts:timestamp_too_old"},
    {"noise", R"({"values":{"laeq":50},"location":{"lat":91,"lon":3}})",
     "location.lat:invalid_location"},
    {"noise", R"({"values":{"laeq":50},"location":{"lat":51,"lon":-180.5}})",
     "location.lon:invalid_location"},
    {"water_level", R"({"values":{"level":1}})", "kind:unknown_kind"},
    {"noise", R"({"values":{"laeq":50,"firmware":"1.2"}})", ""},  // unknown: kept and flagged
};

std::string first_problem(const char* kind, const char* payload, const ingest::Validator& v,
                          const char* sensor = "gent-test-1") {
  auto decoded = codecs::decode_native(payload, {sensor, kind}, kNow, false, 1);
  if (!decoded) return "MALFORMED";
  std::vector<core::FieldError> errors;
  bool ok = v.check(decoded->front(), kNow, "", errors);
  if (ok != errors.empty()) return "INCONSISTENT";
  return errors.empty() ? "" : errors.front().field + ":" + errors.front().reason;
}

}  // namespace

TEST_CASE("the validation table holds for every built-in kind", "[ingest][validation]") {
  auto kinds = core::KindCatalog::with_builtins();
  ingest::Validator validator(kinds, {}, nullptr);
  for (const auto& c : kTable) {
    INFO(c.kind << " " << c.payload);
    CHECK(first_problem(c.kind, c.payload, validator) == c.expected);
  }
}

TEST_CASE("unknown measurements are flagged, or rejected when configured", "[ingest][validation]") {
  auto kinds = core::KindCatalog::with_builtins();
  ingest::Validator keep(kinds, {}, nullptr);
  auto decoded = codecs::decode_native(R"({"values":{"laeq":50,"firmware":"1.2"}})",
                                       {"n1", "noise"}, kNow, false, 1);
  REQUIRE(decoded);
  std::vector<core::FieldError> errors;
  CHECK(keep.check(decoded->front(), kNow, "", errors));
  CHECK(decoded->front().find("laeq")->known);
  CHECK_FALSE(decoded->front().find("firmware")->known);

  ingest::ValidationRules strict_rules;
  strict_rules.unknown_measurements = ingest::UnknownMeasurements::Reject;
  ingest::Validator reject(kinds, strict_rules, nullptr);
  CHECK(first_problem("noise", R"({"values":{"laeq":50,"firmware":"1.2"}})", reject) ==
        "values.firmware:unknown_measurement");
}

TEST_CASE("the allowed clock skew is configurable", "[ingest][validation]") {
  auto kinds = core::KindCatalog::with_builtins();
  ingest::ValidationRules rules;
  rules.max_future_skew_ms = 3'600'000;
  ingest::Validator lenient(kinds, rules, nullptr);
  CHECK(first_problem("noise", R"({"ts":"2026-11-28T11:00:00Z","values":{"laeq":50}})", lenient) ==
        "");
  CHECK(first_problem("noise", R"({"ts":"2026-11-28T11:16:00Z","values":{"laeq":50}})", lenient) ==
        "ts:timestamp_in_future");
}

TEST_CASE("invalid sensor ids are refused", "[ingest][validation]") {
  auto kinds = core::KindCatalog::with_builtins();
  ingest::Validator validator(kinds, {}, nullptr);
  CHECK(first_problem("noise", R"({"values":{"laeq":50}})", validator, "bad id") ==
        "sensor:invalid_sensor_id");
}

TEST_CASE("every problem of a reading is listed, not just the first", "[ingest][validation]") {
  auto kinds = core::KindCatalog::with_builtins();
  ingest::Validator validator(kinds, {}, nullptr);
  auto decoded = codecs::decode_native(
      R"({"ts":"2030-01-01T00:00:00Z","values":{"pm25":-1,"no2":"x","humidity":300}})",
      {"aq1", "air_quality"}, kNow, false, 1);
  REQUIRE(decoded);
  std::vector<core::FieldError> errors;
  CHECK_FALSE(validator.check(decoded->front(), kNow, "[7].", errors));
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].field == "[7].ts");
  CHECK(errors[1].reason == "out_of_range");
  CHECK(errors[2].reason == "wrong_type");
  CHECK(errors[3].field == "[7].values.humidity");
  CHECK(errors[3].detail.find("[0, 100]") != std::string::npos);
}

TEST_CASE("a strict registry refuses unknown sensors and every registry refuses a kind change",
          "[ingest][validation]") {
  auto kinds = core::KindCatalog::with_builtins();
  testing::FakeMetaStore meta;
  auto registry = registry::SensorRegistry::open(meta, /*strict=*/true);
  REQUIRE(registry);
  registry::SensorInfo declared;
  declared.id = "gent-noise-1";
  declared.kind = "noise";
  declared.declared = true;
  std::vector<registry::SensorInfo> sensors{declared};
  REQUIRE((*registry)->declare(sensors, kNow));
  ingest::Validator validator(kinds, {}, registry->get());
  CHECK(first_problem("noise", R"({"values":{"laeq":50}})", validator, "gent-noise-1") == "");
  CHECK(first_problem("noise", R"({"values":{"laeq":50}})", validator, "gent-noise-2") ==
        "sensor:unknown_sensor");
  CHECK(first_problem("air_quality", R"({"values":{"pm25":5}})", validator, "gent-noise-1") ==
        "kind:kind_mismatch");
}
