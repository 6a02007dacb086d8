#include "adapters/codecs/uplink.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "adapters/codecs/source_decoder.h"
#include "broker/core/time.h"
#include "tests/unit/codecs/decode_checks.h"

using namespace databroker;
using namespace databroker::codec_tests;
using codecs::decode_uplink;
using nlohmann::json;

namespace {

json fixture(const std::string& name) { return json::parse(read_fixture(name)); }

core::FieldMapping fill_mapping(std::string tag = "") {
  core::FieldMapping m{"level", "fill_level", "", 1, 0, core::FillFromDistance{1200, 200, tag}};
  return m;
}

core::IngestSource waste_source(core::SourceFormat format, std::string tag = "") {
  core::IngestSource source;
  source.name = "waste";
  source.format = format;
  source.kind = "waste_bin";
  source.mapping = {fill_mapping(std::move(tag)),
                    {"temperature", "temperature", "", 1, 0, std::nullopt},
                    {"tilt", "tilted", "", 1, 0, std::nullopt}};
  return source;
}

core::Result<std::vector<core::Reading>> decode(const json& payload,
                                                const core::IngestSource& source) {
  return decode_uplink(payload.dump(), source, source.kind, builtin_kinds(), kNow);
}

}  // namespace

TEST_CASE("the reference TTS waste-bin uplink maps the DF702 strings", "[codecs][uplink]") {
  auto uplink = fixture("tts_waste_uplink.json");
  auto result = decode(uplink, waste_source(core::SourceFormat::Tts));
  REQUIRE(result);
  REQUIRE(result->size() == 1);
  const auto& r = result->front();
  CHECK(r.sensor_id == "wastebin-0042");
  CHECK(r.kind == "waste_bin");
  // §2.6: rx_metadata[0].time before uplink_message.received_at.
  CHECK(r.ts == core::parse_rfc3339("2024-11-01T07:15:02.301Z"));
  CHECK(number(r, "fill_level") == 0);  // 2000 mm is deeper than the 1200 mm bin: empty
  CHECK(number(r, "temperature") == 25);
  CHECK_FALSE(std::get<bool>(r.find("tilted")->value));
  CHECK(r.values.size() == 3);  // full, fire, battery, angle are not mapped: ignored
  CHECK_FALSE(r.location);

  uplink["uplink_message"]["decoded_payload"]["level"] = "830 mm";
  uplink["uplink_message"]["decoded_payload"]["temperature"] = "19 ℃";
  uplink["uplink_message"]["locations"]["user"] = {{"latitude", 50.88}, {"longitude", 4.70}};
  uplink["uplink_message"].erase("rx_metadata");
  result = decode(uplink, waste_source(core::SourceFormat::Tts));
  REQUIRE(result);
  CHECK(number(result->front(), "fill_level") == Approx(37));  // (1200-830)/(1200-200)
  CHECK(number(result->front(), "temperature") == 19);
  CHECK(result->front().ts == core::parse_rfc3339("2024-11-01T07:15:02.322Z"));
  REQUIRE(result->front().location);
  CHECK(result->front().location->lat == 50.88);
}

TEST_CASE("the reference ChirpStack up event takes the bin depth from the device tag",
          "[codecs][uplink]") {
  auto event = fixture("chirpstack_waste_up.json");
  event["object"]["level"] = "650 mm";
  auto source = waste_source(core::SourceFormat::ChirpStack, "binDepthMm");
  auto result = decode(event, source);
  REQUIRE(result);
  const auto& r = result->front();
  CHECK(r.sensor_id == "wastebin-0042");
  CHECK(r.ts == core::parse_rfc3339("2024-11-01T07:15:02.322Z"));
  CHECK(number(r, "fill_level") == Approx(50));  // (1100-650)/(1100-200)
  // Without the tag: the configured depth.
  event["deviceInfo"]["tags"].erase("binDepthMm");
  result = decode(event, source);
  REQUIRE(result);
  CHECK(number(result->front(), "fill_level") == Approx(55));
  event["deviceInfo"]["tags"]["binDepthMm"] = "deep";
  CHECK(first_problem(decode(event, source)) == "deviceInfo.tags.binDepthMm:invalid_tag");
}

TEST_CASE("the sensor id can be the lower-cased DevEUI", "[codecs][uplink]") {
  auto source = waste_source(core::SourceFormat::Tts);
  source.sensor_id = core::SensorIdRule::DevEui;
  auto result = decode(fixture("tts_waste_uplink.json"), source);
  REQUIRE(result);
  CHECK(result->front().sensor_id == "70b3d57ed005a1b2");
}

TEST_CASE("ratios, renames and units of bare numbers follow the mapping", "[codecs][uplink]") {
  core::IngestSource air;
  air.name = "tts-air";
  air.format = core::SourceFormat::Tts;
  air.kind = "air_quality";
  air.mapping = {{"pm2_5", "pm25", "ug/m3", 1, 0, std::nullopt},
                 {"humidity", "humidity", "/", 1, 0, std::nullopt},
                 {"sensors.temp_dc", "temperature", "Cel", 0.1, 0, std::nullopt}};
  json uplink = {
      {"end_device_ids", {{"device_id", "aq-0007"}}},
      {"received_at", "2024-11-01T07:15:02Z"},
      {"uplink_message",
       {{"decoded_payload",
         {{"pm2_5", 8.4}, {"pm10", 14.9}, {"humidity", 0.785}, {"sensors", {{"temp_dc", 116}}}}}}}};
  auto result = decode(uplink, air);
  REQUIRE(result);
  const auto& r = result->front();
  CHECK(number(r, "pm25") == Approx(8.4));
  CHECK(number(r, "humidity") == Approx(78.5));
  CHECK(number(r, "temperature") == Approx(11.6));
  CHECK_FALSE(r.find("pm10"));  // not mapped
  CHECK(r.ts == core::parse_rfc3339("2024-11-01T07:15:02Z"));
}

TEST_CASE("broken envelopes and decoded values are rejected with a reason", "[codecs][uplink]") {
  const auto tts = waste_source(core::SourceFormat::Tts);
  const auto chirpstack = waste_source(core::SourceFormat::ChirpStack);
  auto uplink = fixture("tts_waste_uplink.json");
  auto decoded = [&](const char* key, json value) {
    json copy = uplink;
    copy["uplink_message"]["decoded_payload"][key] = std::move(value);
    return decode(copy, tts);
  };
  CHECK(first_problem(decoded("temperature", "25 %")) ==
        "uplink_message.decoded_payload.temperature:unit_mismatch");
  CHECK(first_problem(decoded("temperature", "warm")) ==
        "uplink_message.decoded_payload.temperature:not_a_number");
  CHECK(first_problem(decoded("temperature", "25 furlongs")) ==
        "uplink_message.decoded_payload.temperature:unknown_unit");
  CHECK(first_problem(decoded("level", "83 Cel")) ==
        "uplink_message.decoded_payload.level:unit_mismatch");
  CHECK(first_problem(decoded("level", "-5 mm")) ==
        "uplink_message.decoded_payload.level:out_of_range");
  CHECK(first_problem(decoded("level", json::array())) ==
        "uplink_message.decoded_payload.level:wrong_type");
  CHECK(first_problem(decoded("tilt", "no")) == "uplink_message.decoded_payload.tilt:wrong_type");
  CHECK(number(decoded("level", "83 cm")->front(), "fill_level") == Approx(37));

  json missing = uplink;
  missing["uplink_message"].erase("decoded_payload");
  CHECK(first_problem(decode(missing, tts)) ==
        "uplink_message.decoded_payload:missing_decoded_payload");
  json event = fixture("chirpstack_waste_up.json");
  event.erase("object");
  CHECK(first_problem(decode(event, chirpstack)) == "object:missing_decoded_payload");

  CHECK(first_problem(decode(json::array(), tts)) == "$:malformed_envelope");
  CHECK(first_problem(decode(json{{"uplink_message", 3}}, tts)) ==
        "end_device_ids:malformed_envelope");
  CHECK(first_problem(decode(json{{"deviceInfo", {{"devEui", "ab"}}}, {"object", {}}},
                             chirpstack)) == "deviceInfo.deviceName:invalid_sensor_id");
  json bad_id = uplink;
  bad_id["end_device_ids"]["device_id"] = "bin/42";
  CHECK(first_problem(decode(bad_id, tts)) == "end_device_ids.device_id:invalid_sensor_id");
  json bad_time = event;
  bad_time["object"] = {{"tilt", true}};
  bad_time["time"] = "yesterday";
  CHECK(first_problem(decode(bad_time, chirpstack)) == "time:invalid_timestamp");
  json nothing_mapped = uplink;
  nothing_mapped["uplink_message"]["decoded_payload"] = {{"angle", "0 °"}};
  CHECK(first_problem(decode(nothing_mapped, tts)) ==
        "uplink_message.decoded_payload:empty_values");
  CHECK(first_problem(codecs::decode_uplink("{\"end_device_ids\":", tts, "waste_bin",
                                            builtin_kinds(), kNow)) == "$:malformed_json");
}

TEST_CASE("unknown envelope keys are ignored", "[codecs][uplink]") {
  auto event = fixture("chirpstack_waste_up.json");
  event["relayRxInfo"] = {{"devEui", "0102030405060708"}, {"frequency", 868100000}};
  event["deviceInfo"]["deviceClassEnabled"] = "CLASS_A";
  auto result = decode(event, waste_source(core::SourceFormat::ChirpStack));
  REQUIRE(result);
  CHECK(result->front().values.size() == 3);
}

TEST_CASE("the source decoder picks the codec of the source's format", "[codecs][uplink]") {
  core::IngestSource senml;
  senml.name = "senml";
  senml.format = core::SourceFormat::Senml;
  auto readings = codecs::decode_for_source(senml, R"([{"n":"LAeq","u":"dB","v":60}])",
                                            {"n-1", "noise"}, builtin_kinds(), {}, kNow, 10);
  REQUIRE(readings);
  CHECK(readings->front().find("laeq"));
  core::IngestSource native;
  native.format = core::SourceFormat::Native;
  readings = codecs::decode_for_source(native, R"({"values":{"laeq":60}})", {"n-1", "noise"},
                                       builtin_kinds(), {}, kNow, 10);
  REQUIRE(readings);
  CHECK(readings->front().kind == "noise");
}
