#include "tools/simulator/payloads.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "adapters/codecs/native_json.h"
#include "broker/core/time.h"

using namespace databroker;
using namespace databroker::simulator;
using nlohmann::json;

namespace {

const core::TimestampMs kStart = *core::parse_rfc3339("2026-03-02T07:30:00Z");

std::string unbase64(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int bits = 0, value = 0;
  for (char c : text) {
    if (c == '=') break;
    const auto pos = kAlphabet.find(c);
    REQUIRE(pos != std::string::npos);
    value = (value << 6) | static_cast<int>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((value >> bits) & 0xff));
    }
  }
  return out;
}

// The DF702 vendor formatter (TTN device repository vendor/dingtek/df702.js) for 17 bytes.
json decode_df702(const std::string& b) {
  REQUIRE(b.size() == 17);
  auto u = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
  return {{"level", std::to_string((u(5) << 8) + u(6)) + " mm"},
          {"full", (u(11) >> 4) != 0},
          {"fire", (u(11) & 0x0f) != 0},
          {"tilt", (u(12) >> 4) != 0},
          {"battery", (u(12) & 0x0f) != 0},
          {"angle", std::to_string(0 - u(10)) + " \u00b0"},
          {"temperature", std::to_string(u(8)) + " \u2103"}};
}

double number(const core::Reading& r, std::string_view name) {
  for (const auto& m : r.values) {
    if (m.name != name) continue;
    if (auto* d = std::get_if<double>(&m.value)) return *d;
    if (auto* b = std::get_if<bool>(&m.value)) return *b;
  }
  FAIL("no measurement " << name);
  return 0;
}

bool has(const core::Reading& r, std::string_view name) { return r.find(name) != nullptr; }

// Samples of a mixed fleet over a simulated day, every sensor several times.
std::vector<std::pair<SensorInfo, Sample>> samples() {
  std::vector<std::pair<SensorInfo, Sample>> out;
  auto fleet = make_fleet(24, std::nullopt, 3);
  for (int round = 0; round < 12; ++round) {
    for (auto& sensor : fleet) {
      out.emplace_back(sensor.info(), sensor.sample(kStart + round * 2 * 3'600'000));
    }
  }
  return out;
}

// RFC 8428 §4.6 resolution: full names, absolute times, units, values.
struct Resolved {
  std::string name;
  double time = 0;
  std::string unit;
  std::optional<double> value;
  std::optional<bool> boolean;
};

std::vector<Resolved> resolve_senml(const json& pack) {
  std::vector<Resolved> out;
  std::string bn, bu;
  double bt = 0, bv = 0;
  for (const auto& record : pack) {
    REQUIRE(record.is_object());
    if (record.contains("bn")) bn = record["bn"];
    if (record.contains("bt")) bt = record["bt"];
    if (record.contains("bu")) bu = record["bu"];
    if (record.contains("bv")) bv = record["bv"];
    Resolved r;
    r.name = bn + record.value("n", "");
    r.time = bt + record.value("t", 0.0);
    r.unit = record.value("u", bu);
    const int fields = record.contains("v") + record.contains("vb") + record.contains("vs") +
                       record.contains("vd");
    CHECK(fields == 1);  // exactly one value field per record
    if (record.contains("v")) r.value = bv + record["v"].get<double>();
    if (record.contains("vb")) r.boolean = record["vb"].get<bool>();
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("base64 is RFC 4648 with padding", "[simulator][payloads]") {
  // The DF702 heartbeat of the data-formats reference §2.4.
  const std::string bytes{'\x80', '\x00', '\x01', '\x01', '\x11', '\x07', '\xd0', '\x00', '\x19',
                          '\x00', '\x00', '\x00', '\x00', '\x00', '\x00', '\x00', '\x81'};
  CHECK(base64(bytes) == "gAABAREH0AAZAAAAAAAAAIE=");
  CHECK(decode_df702(bytes) == json::parse(R"({"level":"2000 mm","full":false,"fire":false,
      "tilt":false,"battery":false,"angle":"0 °","temperature":"25 ℃"})"));
  CHECK(base64("") == "");
  CHECK(base64("ab") == "YWI=");
}

TEST_CASE("the contract maps a DF702 distance to a fill level", "[simulator][payloads]") {
  CHECK(fill_from_distance(1200, 1200) == 0);
  CHECK(fill_from_distance(200, 1200) == 100);
  CHECK(fill_from_distance(700, 1200) == Approx(50));
  CHECK(fill_from_distance(2000, 1100) == 0);  // farther than the bottom: clamped to empty
  CHECK(fill_from_distance(100, 1100) == 100);
}

TEST_CASE("a mixed fleet speaks every source of the contract", "[simulator][payloads]") {
  std::set<std::string> sources, topics_seen;
  for (const auto& [sensor, sample] : samples()) sources.insert(sensor.source);
  CHECK(sources == std::set<std::string>{"native", "senml", "tts-air", "tts-waste",
                                         "chirpstack-parking", "chirpstack-waste"});
}

TEST_CASE("native payloads decode with the broker's own codec to the expected reading",
          "[simulator][payloads]") {
  for (const auto& [sensor, sample] : samples()) {
    if (sensor.format != Format::Native) continue;
    const Message m = encode(sensor, sample);
    CHECK(m.topic == "sensors/" + sensor.kind + "/" + sensor.id);
    CHECK(m.http_target == "/v1/readings");
    auto mqtt = codecs::decode_native(m.body, {sensor.id, sensor.kind}, kStart, false, 1);
    REQUIRE(mqtt);
    REQUIRE(mqtt->size() == 1);
    CHECK(mqtt->front() == m.expected);
    CHECK(m.expected == sample.reading);
    auto batch =
        codecs::decode_native("[" + native_json(m.expected, true) + "]", {}, kStart, true, 10);
    REQUIRE(batch);
    CHECK(batch->front() == m.expected);
  }
}

TEST_CASE("SenML packs resolve per RFC 8428 to the sensor's values", "[simulator][payloads]") {
  int packs = 0;
  for (const auto& [sensor, sample] : samples()) {
    if (sensor.format != Format::Senml) continue;
    ++packs;
    const Message m = encode(sensor, sample);
    CHECK(m.topic == "senml/" + sensor.kind + "/" + sensor.id);
    CHECK(m.http_target == "/v1/sensors/" + sensor.kind + "/" + sensor.id + "/readings");
    CHECK(m.content_type == "application/senml+json");
    const json pack = json::parse(m.body);
    REQUIRE(pack.is_array());
    REQUIRE(!pack.empty());
    const bool secondary = m.body.find("\"ug/m3\"") != std::string::npos;
    CHECK(pack[0].contains("bver") == secondary);
    if (secondary) CHECK(pack[0]["bver"] == 26);
    const std::string prefix = "urn:dev:ops:" + sensor.id + ":";
    std::map<std::string, Resolved> by_name;
    for (const auto& r : resolve_senml(pack)) {
      REQUIRE(r.name.rfind(prefix, 0) == 0);
      CHECK(r.time >= 268'435'456);  // absolute, never relative to receipt
      CHECK(std::llround(r.time * 1000) == sample.reading.ts);
      by_name[r.name.substr(prefix.size())] = r;
    }
    const auto& expected = m.expected;
    const auto ours = [&](const char* senml, const char* unit, const char* name, double scale) {
      INFO(sensor.id << " " << senml);
      REQUIRE(by_name.count(senml));
      const Resolved& r = by_name[senml];
      CHECK(r.unit == unit);
      REQUIRE(r.value);
      CHECK(*r.value * scale == Approx(number(expected, name)));
    };
    if (sensor.kind == "air_quality") {
      const bool kg = sensor.senml_primary_units;
      for (const char* gas : {"pm25", "pm10", "no2", "o3"}) {
        ours(gas, kg ? "kg/m3" : "ug/m3", gas, kg ? 1e9 : 1);
      }
      ours("temperature", "Cel", "temperature", 1);
      ours("humidity", "%RH", "humidity", 1);
    } else if (sensor.kind == "noise") {
      ours("LAeq", "dB", "laeq", 1);
      ours("LAmax", "dB", "lamax", 1);
      ours("LA90", "dB", "la90", 1);
    } else if (sensor.kind == "waste_bin") {
      ours("fillingLevel", "/", "fill_level", 100);
      CHECK(*by_name["fillingLevel"].value <= 1);
      REQUIRE(by_name["tilted"].boolean);
      CHECK(*by_name["tilted"].boolean == (number(expected, "tilted") != 0));
    } else if (has(expected, "occupied")) {
      REQUIRE(by_name["occupied"].boolean);
      CHECK(*by_name["occupied"].boolean == (number(expected, "occupied") != 0));
    } else {
      ours("availableSpots", "count", "free_spots", 1);
      ours("totalSpots", "count", "total_spots", 1);
    }
    REQUIRE(expected.location);
    CHECK(*by_name["lat"].value == expected.location->lat);
    CHECK(by_name["lat"].unit == "lat");
    CHECK(*by_name["lon"].value == expected.location->lon);
  }
  CHECK(packs > 20);
}

TEST_CASE("The Things Stack uplinks carry the contract's fields and the decoded values",
          "[simulator][payloads]") {
  int uplinks = 0;
  for (const auto& [sensor, sample] : samples()) {
    if (sensor.format != Format::Tts) continue;
    ++uplinks;
    const Message m = encode(sensor, sample);
    const bool air = sensor.kind == "air_quality";
    const std::string app = air ? "city-air" : "city-waste";
    CHECK(m.topic == "v3/" + app + "@demo/devices/" + sensor.id + "/up");
    CHECK(m.http_target == (air ? "/v1/ingest/tts-air" : "/v1/ingest/tts-waste"));
    const json up = json::parse(m.body);
    CHECK(up["end_device_ids"]["device_id"] == sensor.id);
    CHECK(up["end_device_ids"]["application_ids"]["application_id"] == app);
    const std::string eui = up["end_device_ids"]["dev_eui"];
    CHECK(eui.size() == 16);
    CHECK(eui.find_first_not_of("0123456789ABCDEF") == std::string::npos);
    // The gateway heard it at the observation time (the broker's ts, reference §2.6); the
    // servers received it a few milliseconds later.
    const auto received = core::parse_rfc3339(up["received_at"].get<std::string>());
    REQUIRE(received);
    CHECK(*received > sample.reading.ts);
    CHECK(*received < sample.reading.ts + 100);
    const json& u = up["uplink_message"];
    for (const char* key : {"f_port", "f_cnt", "frm_payload", "decoded_payload", "rx_metadata",
                            "received_at", "locations"}) {
      CHECK(u.contains(key));
    }
    CHECK(core::parse_rfc3339(u["received_at"].get<std::string>()) == received);
    CHECK(u["rx_metadata"].is_array());
    CHECK(core::parse_rfc3339(u["rx_metadata"][0]["time"].get<std::string>()) == sample.reading.ts);
    CHECK(u["rx_metadata"][0]["gateway_ids"].contains("gateway_id"));
    CHECK(u["settings"]["frequency"].is_string());
    CHECK(u["locations"]["user"]["latitude"] == sensor.location.lat);
    CHECK(u["locations"]["user"]["longitude"] == sensor.location.lon);
    const std::string bytes = unbase64(u["frm_payload"]);
    const json& decoded = u["decoded_payload"];
    if (air) {
      CHECK(u["f_port"] == 2);
      CHECK(bytes.size() == 11);
      CHECK(decoded["pm2_5"].get<double>() == Approx(number(m.expected, "pm25")));
      CHECK(decoded["pm10"].get<double>() == Approx(number(m.expected, "pm10")));
      CHECK(decoded["no2"].get<double>() == Approx(number(m.expected, "no2")));
      CHECK(decoded["temperature"].get<double>() == Approx(number(m.expected, "temperature")));
      CHECK(decoded["humidity"].get<double>() <= 1);
      CHECK(decoded["humidity"].get<double>() * 100 == Approx(number(m.expected, "humidity")));
      CHECK(number(m.expected, "pm25") == Approx(number(sample.reading, "pm25")).margin(0.051));
      CHECK(!decoded.contains("o3"));
    } else {
      CHECK(u["f_port"] == 3);
      CHECK(decoded == decode_df702(bytes));
      const int distance = std::stoi(decoded["level"].get<std::string>());
      CHECK(number(m.expected, "fill_level") == Approx(fill_from_distance(distance, 1200)));
      CHECK(number(m.expected, "fill_level") ==
            Approx(number(sample.reading, "fill_level")).margin(0.11));
      CHECK(std::to_string(static_cast<int>(number(m.expected, "temperature"))) + " \u2103" ==
            decoded["temperature"]);
      CHECK(decoded["tilt"] == (number(m.expected, "tilted") != 0));
    }
    REQUIRE(m.expected.location);
    CHECK(*m.expected.location == sensor.location);
  }
  CHECK(uplinks > 10);
}

TEST_CASE("ChirpStack up events carry the contract's fields and the decoded values",
          "[simulator][payloads]") {
  int events = 0;
  for (const auto& [sensor, sample] : samples()) {
    if (sensor.format != Format::Chirpstack) continue;
    ++events;
    const Message m = encode(sensor, sample);
    const bool parking = sensor.kind == "parking";
    const std::string app =
        parking ? "6f1c2a9e-4b7d-4e0a-9c55-2d3b8f7a1e10" : "0c7e9a52-3f1d-4b8e-a6c4-5d2e1f0a9b87";
    CHECK(m.topic == "application/" + app + "/device/" + sensor.dev_eui + "/event/up");
    CHECK(m.http_target == "/v1/ingest/" + sensor.source + "?event=up");
    const json e = json::parse(m.body);
    for (const char* key : {"deduplicationId", "time", "deviceInfo", "fCnt", "fPort", "data",
                            "object", "rxInfo", "txInfo"}) {
      CHECK(e.contains(key));
    }
    CHECK(e["deduplicationId"].get<std::string>().size() == 36);
    CHECK(core::parse_rfc3339(e["time"].get<std::string>()) == sample.reading.ts);
    const json& d = e["deviceInfo"];
    CHECK(d["deviceName"] == sensor.id);
    CHECK(d["devEui"] == sensor.dev_eui);
    CHECK(d["applicationId"] == app);
    CHECK(d["tags"].is_object());
    CHECK(e["txInfo"]["frequency"].is_number());
    CHECK(e["rxInfo"][0].contains("gatewayId"));
    const std::string bytes = unbase64(e["data"]);
    const json& object = e["object"];
    if (parking) {
      CHECK(bytes.size() == 1);
      CHECK(object["occupied"] == (bytes[0] == 1));
      CHECK(object["occupied"] == (number(m.expected, "occupied") != 0));
      CHECK(object["battery_v"].is_number());
      CHECK(!has(m.expected, "battery"));
    } else {
      CHECK(object == decode_df702(bytes));
      const int depth = std::stoi(d["tags"]["binDepthMm"].get<std::string>());
      CHECK(depth == sensor.bin_depth_mm);
      const int distance = std::stoi(object["level"].get<std::string>());
      CHECK(number(m.expected, "fill_level") == Approx(fill_from_distance(distance, depth)));
    }
    CHECK(!m.expected.location);  // an up event carries no device location
  }
  CHECK(events > 10);
}
