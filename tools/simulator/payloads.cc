#include "tools/simulator/payloads.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "broker/core/time.h"

namespace databroker::simulator {

namespace {

using Json = nlohmann::ordered_json;

// Whole numbers as JSON integers ("87", not "87.0"), as devices and network servers write them.
Json json_number(double value) {
  if (std::trunc(value) == value && std::abs(value) < 9.0e15) {
    return static_cast<std::int64_t>(value);
  }
  return value;
}

Json json_value(const core::MeasurementValue& value) {
  if (const double* d = std::get_if<double>(&value)) return json_number(*d);
  if (const bool* b = std::get_if<bool>(&value)) return *b;
  return std::get<std::string>(value);
}

double value_of(const core::Reading& r, std::string_view name) {
  for (const auto& m : r.values) {
    if (m.name != name) continue;
    if (const double* d = std::get_if<double>(&m.value)) return *d;
    if (const bool* b = std::get_if<bool>(&m.value)) return *b ? 1 : 0;
  }
  return 0;
}

bool flag_of(const core::Reading& r, std::string_view name) { return value_of(r, name) != 0; }

core::Reading without_values(const core::Reading& r) {
  core::Reading out;
  out.sensor_id = r.sensor_id;
  out.kind = r.kind;
  out.ts = r.ts;
  return out;
}

void add(core::Reading& r, std::string name, core::MeasurementValue value) {
  r.values.push_back({std::move(name), std::move(value), true});
}

std::string hex_upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

std::string hex_bytes(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

void put_u16(std::string& bytes, int value) {
  const auto v = static_cast<std::uint16_t>(std::clamp(value, -32768, 65535));
  bytes.push_back(static_cast<char>(v >> 8));
  bytes.push_back(static_cast<char>(v & 0xff));
}

// 8-4-4-4-12 hex, version 4, RFC 4122 variant.
std::string uuid(std::uint64_t a, std::uint64_t b) {
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char text[40];
  std::snprintf(
      text, sizeof text, "%08llx-%04llx-%04llx-%04llx-%012llx",
      static_cast<unsigned long long>(a >> 32), static_cast<unsigned long long>((a >> 16) & 0xffff),
      static_cast<unsigned long long>(a & 0xffff), static_cast<unsigned long long>(b >> 48),
      static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return text;
}

// A ULID-shaped id (Crockford base32: 10 characters of time, 16 of randomness), as TTS writes
// its correlation ids.
std::string ulid(core::TimestampMs t, std::uint64_t random) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::string out(26, '0');
  auto ms = static_cast<std::uint64_t>(t);
  for (int i = 9; i >= 0; --i, ms >>= 5) out[static_cast<std::size_t>(i)] = kAlphabet[ms & 31];
  std::uint64_t r = random;
  std::uint64_t more = derive_seed(random, 7);
  for (int i = 10; i < 26; ++i) {
    out[static_cast<std::size_t>(i)] = kAlphabet[r & 31];
    r = (r >> 5) | (more << 59);
    more >>= 5;
  }
  return out;
}

struct Gateway {
  const char* id;
  const char* eui;  // lower case
};
constexpr std::array<Gateway, 3> kGateways{{
    {"gw-leuven-stadhuis", "b827ebfffe6c0a01"},
    {"gw-leuven-vaartkom", "b827ebfffe6c0a02"},
    {"gw-leuven-gasthuisberg", "b827ebfffe6c0a03"},
}};

// Time on air of a ~17-byte uplink at 125 kHz, by spreading factor.
const char* airtime(int spreading_factor) {
  switch (spreading_factor) {
    case 7:
      return "0.061696s";
    case 8:
      return "0.113152s";
    case 9:
      return "0.205824s";
    default:
      return "0.370688s";
  }
}

// ---- native and SenML -------------------------------------------------------------------------

std::string native_topic(const core::Reading& r) { return "sensors/" + r.kind + "/" + r.sensor_id; }

struct SenmlName {
  const char* ours;
  const char* senml;
  const char* unit;
};
constexpr std::array<SenmlName, 15> kSenmlNames{{
    {"pm25", "pm25", "ug/m3"},
    {"pm10", "pm10", "ug/m3"},
    {"no2", "no2", "ug/m3"},
    {"o3", "o3", "ug/m3"},
    {"temperature", "temperature", "Cel"},
    {"humidity", "humidity", "%RH"},
    {"laeq", "LAeq", "dB"},
    {"lamax", "LAmax", "dB"},
    {"la90", "LA90", "dB"},
    {"fill_level", "fillingLevel", "/"},
    {"tilted", "tilted", nullptr},
    {"occupied", "occupied", nullptr},
    {"free_spots", "availableSpots", "count"},
    {"total_spots", "totalSpots", "count"},
    {"battery", "battery", "%EL"},
}};

Message senml_message(const SensorInfo& sensor, const core::Reading& r) {
  Json pack = Json::array();
  bool secondary = false;
  for (const auto& m : r.values) {
    const auto* name = std::find_if(kSenmlNames.begin(), kSenmlNames.end(),
                                    [&](const SenmlName& n) { return m.name == n.ours; });
    if (name == kSenmlNames.end()) continue;
    Json record;
    record["n"] = name->senml;
    if (const bool* b = std::get_if<bool>(&m.value)) {
      record["vb"] = *b;
    } else {
      double v = std::get<double>(m.value);
      std::string unit = name->unit;
      if (unit == "ug/m3" && sensor.senml_primary_units) {
        unit = "kg/m3";
        v /= 1e9;
      } else if (unit == "ug/m3") {
        secondary = true;
      } else if (unit == "/") {
        v /= 100;  // a SenML ratio is 0-1
      }
      record["u"] = unit;
      record["v"] = json_number(v);
    }
    pack.push_back(std::move(record));
  }
  if (r.location) {
    pack.push_back({{"n", "lat"}, {"u", "lat"}, {"v", r.location->lat}});
    pack.push_back({{"n", "lon"}, {"u", "lon"}, {"v", r.location->lon}});
  }
  // Base fields first in the first record, as in the RFC's examples.
  Json first;
  first["bn"] = "urn:dev:ops:" + r.sensor_id + ":";
  first["bt"] = json_number(static_cast<double>(r.ts) / 1000.0);
  if (secondary) first["bver"] = 26;
  for (auto it = pack[0].begin(); it != pack[0].end(); ++it) first[it.key()] = it.value();
  pack[0] = std::move(first);

  Message out;
  out.topic = "senml/" + r.kind + "/" + r.sensor_id;
  out.http_target = "/v1/sensors/" + r.kind + "/" + r.sensor_id + "/readings";
  out.content_type = "application/senml+json";
  out.body = pack.dump();
  out.expected = r;
  return out;
}

// ---- LoRaWAN devices ---------------------------------------------------------------------------

// What a device sends and what its codec decodes from it.
struct Uplink {
  int f_port = 1;
  std::string bytes;
  Json decoded;
  core::Reading expected;
};

// The CNDingtek DF702 heartbeat (17 bytes, fPort 3) and the output of its vendor formatter
// (TTN device repository, vendor/dingtek/df702.js), quirks included: the formatter reads the
// temperature as an unsigned byte and writes the tilt angle negated.
Uplink df702(const core::Reading& r, const Radio& radio, int depth_mm) {
  const int distance = std::clamp(
      static_cast<int>(std::lround(depth_mm - value_of(r, "fill_level") / 100 * (depth_mm - 200))),
      0, 2000);
  const int temperature =
      std::clamp(static_cast<int>(std::lround(value_of(r, "temperature"))), 0, 255);
  const bool tilted = flag_of(r, "tilted");
  const int angle = tilted ? 35 + static_cast<int>(radio.random % 50) : 0;
  const bool full = distance <= 300;  // the device's full alarm threshold: 30 cm
  const bool fire = temperature >= 75;
  const bool battery_low = value_of(r, "battery") < 20;

  Uplink out;
  out.f_port = 3;
  out.bytes = {'\x80', '\x00', '\x01', '\x01', '\x11'};
  put_u16(out.bytes, distance);
  out.bytes.push_back('\x00');
  out.bytes.push_back(static_cast<char>(temperature));
  out.bytes.push_back('\x00');
  out.bytes.push_back(static_cast<char>(angle));
  out.bytes.push_back(static_cast<char>((full ? 0x10 : 0) | (fire ? 0x01 : 0)));
  out.bytes.push_back(static_cast<char>((tilted ? 0x10 : 0) | (battery_low ? 0x01 : 0)));
  out.bytes.append(3, '\x00');
  out.bytes.push_back('\x81');
  out.decoded = {{"level", std::to_string(distance) + " mm"},
                 {"full", full},
                 {"fire", fire},
                 {"tilt", tilted},
                 {"battery", battery_low},
                 {"angle", std::to_string(-angle) + " \u00b0"},
                 {"temperature", std::to_string(temperature) + " \u2103"}};
  out.expected = without_values(r);
  add(out.expected, "fill_level", fill_from_distance(distance, depth_mm));
  add(out.expected, "temperature", static_cast<double>(temperature));
  add(out.expected, "tilted", tilted);
  return out;
}

// An air-quality node (fPort 2, 11 bytes: type, PM2.5, PM10, NO2 and temperature in tenths,
// humidity in half percent, battery %) whose codec reports humidity as a 0-1 ratio. It has no
// ozone channel, like most low-cost nodes.
Uplink air_node(const core::Reading& r) {
  const auto tenths = [&](std::string_view name) {
    return static_cast<int>(std::lround(value_of(r, name) * 10));
  };
  const int pm25 = std::clamp(tenths("pm25"), 0, 65535);
  const int pm10 = std::clamp(tenths("pm10"), 0, 65535);
  const int no2 = std::clamp(tenths("no2"), 0, 65535);
  const int temperature = std::clamp(tenths("temperature"), -32768, 32767);
  const int humidity =
      std::clamp(static_cast<int>(std::lround(value_of(r, "humidity") * 2)), 0, 200);
  Uplink out;
  out.f_port = 2;
  out.bytes.push_back('\x01');
  put_u16(out.bytes, pm25);
  put_u16(out.bytes, pm10);
  put_u16(out.bytes, no2);
  put_u16(out.bytes, temperature);
  out.bytes.push_back(static_cast<char>(humidity));
  out.bytes.push_back(
      static_cast<char>(std::clamp<int>(std::lround(value_of(r, "battery")), 0, 100)));
  const double ratio = humidity / 200.0;
  out.decoded = {{"pm2_5", pm25 / 10.0},
                 {"pm10", pm10 / 10.0},
                 {"no2", no2 / 10.0},
                 {"temperature", temperature / 10.0},
                 {"humidity", ratio}};
  out.expected = without_values(r);
  add(out.expected, "pm25", pm25 / 10.0);
  add(out.expected, "pm10", pm10 / 10.0);
  add(out.expected, "no2", no2 / 10.0);
  add(out.expected, "temperature", temperature / 10.0);
  add(out.expected, "humidity", ratio * 100);
  out.expected.location = r.location;
  return out;
}

// A Bosch TPS110 style parking-spot sensor (fPort 1, one status byte).
Uplink parking_spot(const core::Reading& r) {
  const bool occupied = flag_of(r, "occupied");
  Uplink out;
  out.f_port = 1;
  out.bytes.push_back(occupied ? '\x01' : '\x00');
  const double volts = std::round((3.0 + 0.006 * value_of(r, "battery")) * 100) / 100;
  out.decoded = {{"occupied", occupied}, {"battery_v", volts}};
  out.expected = without_values(r);
  add(out.expected, "occupied", occupied);
  return out;
}

Message tts_message(const SensorInfo& sensor, const Sample& sample) {
  const core::Reading& r = sample.reading;
  const Radio& radio = sample.radio;
  const bool air = sensor.kind == "air_quality";
  Uplink uplink = air ? air_node(r) : df702(r, radio, sensor.bin_depth_mm);
  const std::string application = air ? "city-air" : "city-waste";
  const Gateway& gateway = kGateways[static_cast<std::size_t>(radio.gateway) % kGateways.size()];
  // The gateway hears the frame at the observation time (what the broker takes, reference §2.6);
  // the network and application servers receive it a little later.
  const std::string heard = core::format_rfc3339(r.ts);
  const std::string received =
      core::format_rfc3339(r.ts + 15 + static_cast<int>(radio.random % 25));

  Json message;
  message["end_device_ids"] = {{"device_id", sensor.id},
                               {"application_ids", {{"application_id", application}}},
                               {"dev_eui", hex_upper(sensor.dev_eui)},
                               {"join_eui", "0000000000000000"},
                               {"dev_addr", hex_upper(sensor.dev_addr)}};
  message["correlation_ids"] = Json::array({"as:up:" + ulid(r.ts, radio.random)});
  message["received_at"] = received;
  Json up;
  up["session_key_id"] = base64(hex_bytes(sensor.dev_eui + sensor.dev_addr) + "sim0");
  up["f_port"] = uplink.f_port;
  up["f_cnt"] = radio.f_cnt;
  up["frm_payload"] = base64(uplink.bytes);
  up["decoded_payload"] = uplink.decoded;
  up["rx_metadata"] =
      Json::array({{{"gateway_ids", {{"gateway_id", gateway.id}, {"eui", hex_upper(gateway.eui)}}},
                    {"time", heard},
                    {"timestamp", static_cast<std::uint32_t>(radio.random >> 32)},
                    {"rssi", radio.rssi},
                    {"channel_rssi", radio.rssi},
                    {"snr", radio.snr},
                    {"channel_index", static_cast<int>(radio.random % 8)}}});
  up["settings"] = {
      {"data_rate",
       {{"lora", {{"bandwidth", 125000}, {"spreading_factor", radio.spreading_factor}}}}},
      {"coding_rate", "4/5"},
      {"frequency", std::to_string(radio.frequency_hz)}};
  up["received_at"] = received;
  up["consumed_airtime"] = airtime(radio.spreading_factor);
  up["locations"] = {{"user",
                      {{"latitude", sensor.location.lat},
                       {"longitude", sensor.location.lon},
                       {"source", "SOURCE_REGISTRY"}}}};
  up["version_ids"] =
      air ? Json{{"brand_id", "leuven-labs"}, {"model_id", "aq-node"}, {"band_id", "EU_863_870"}}
          : Json{{"brand_id", "dingtek"}, {"model_id", "df702"}, {"band_id", "EU_863_870"}};
  message["uplink_message"] = std::move(up);

  Message out;
  out.topic = "v3/" + application + "@demo/devices/" + sensor.id + "/up";
  out.http_target = "/v1/ingest/" + sensor.source;
  out.content_type = "application/json";
  out.body = message.dump();
  out.expected = std::move(uplink.expected);
  out.expected.location = sensor.location;  // from uplink_message.locations.user
  return out;
}

// The contract's ChirpStack applications (UUIDs) per source.
constexpr const char* kParkingApplication = "6f1c2a9e-4b7d-4e0a-9c55-2d3b8f7a1e10";
constexpr const char* kWasteApplication = "0c7e9a52-3f1d-4b8e-a6c4-5d2e1f0a9b87";

Message chirpstack_message(const SensorInfo& sensor, const Sample& sample) {
  const core::Reading& r = sample.reading;
  const Radio& radio = sample.radio;
  const bool parking = sensor.kind == "parking";
  Uplink uplink = parking ? parking_spot(r) : df702(r, radio, sensor.bin_depth_mm);
  const std::string application = parking ? kParkingApplication : kWasteApplication;
  const Gateway& gateway = kGateways[static_cast<std::size_t>(radio.gateway) % kGateways.size()];
  std::string time = core::format_rfc3339(r.ts);
  time.replace(time.size() - 1, 1, "000+00:00");  // ChirpStack writes microseconds and an offset

  Json event;
  event["deduplicationId"] = uuid(radio.random, derive_seed(radio.random, 1));
  event["time"] = time;
  event["deviceInfo"] = {
      {"tenantId", "52f14cd4-c6f1-4fbd-8f87-4025e1d49242"},
      {"tenantName", "Stad Leuven"},
      {"applicationId", application},
      {"applicationName", parking ? "city-parking" : "city-waste"},
      {"deviceProfileId",
       parking ? "9a3c5e7f-1b2d-4f6a-8c0e-2d4f6a8c0e1b" : "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},
      {"deviceProfileName", parking ? "bosch-tps110-eu868" : "dingtek-df702-eu868"},
      {"deviceName", sensor.id},
      {"devEui", sensor.dev_eui},
      {"tags", parking ? Json{{"spotType", "on-street"}}
                       : Json{{"binDepthMm", std::to_string(sensor.bin_depth_mm)},
                              {"wasteKind", "residual"}}}};
  event["devAddr"] = sensor.dev_addr;
  event["adr"] = true;
  event["dr"] = 12 - radio.spreading_factor;
  event["fCnt"] = radio.f_cnt;
  event["fPort"] = uplink.f_port;
  event["data"] = base64(uplink.bytes);
  event["object"] = uplink.decoded;
  event["rxInfo"] = Json::array(
      {{{"gatewayId", gateway.eui},
        {"uplinkId", static_cast<std::uint32_t>(radio.random >> 40)},
        {"rssi", radio.rssi},
        {"snr", radio.snr},
        {"context", base64(std::string(reinterpret_cast<const char*>(&radio.f_cnt), 4))},
        {"metadata", {{"region_common_name", "EU868"}, {"region_config_id", "eu868"}}}}});
  event["txInfo"] = {{"frequency", radio.frequency_hz},
                     {"modulation",
                      {{"lora",
                        {{"bandwidth", 125000},
                         {"spreadingFactor", radio.spreading_factor},
                         {"codeRate", "CR_4_5"}}}}}};

  Message out;
  out.topic = "application/" + application + "/device/" + sensor.dev_eui + "/event/up";
  out.http_target = "/v1/ingest/" + sensor.source + "?event=up";
  out.content_type = "application/json";
  out.body = event.dump();
  out.expected = std::move(uplink.expected);  // a ChirpStack event carries no device location
  return out;
}

}  // namespace

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

double fill_from_distance(int distance_mm, int depth_mm) {
  const double ratio = static_cast<double>(depth_mm - distance_mm) / (depth_mm - 200);
  return std::clamp(ratio, 0.0, 1.0) * 100;
}

std::string native_json(const core::Reading& reading, bool with_target) {
  Json j;
  if (with_target) {
    j["sensor"] = reading.sensor_id;
    j["kind"] = reading.kind;
  }
  j["ts"] = core::format_rfc3339(reading.ts);
  Json values = Json::object();
  for (const auto& m : reading.values) values[m.name] = json_value(m.value);
  j["values"] = std::move(values);
  if (reading.location) {
    j["location"] = {{"lat", reading.location->lat}, {"lon", reading.location->lon}};
  }
  return j.dump();
}

Message encode(const SensorInfo& sensor, const Sample& sample) {
  switch (sensor.format) {
    case Format::Senml:
      return senml_message(sensor, sample.reading);
    case Format::Tts:
      return tts_message(sensor, sample);
    case Format::Chirpstack:
      return chirpstack_message(sensor, sample);
    case Format::Native:
      break;
  }
  Message out;
  out.topic = native_topic(sample.reading);
  out.http_target = "/v1/readings";
  out.content_type = "application/json";
  out.body = native_json(sample.reading, false);
  out.expected = sample.reading;
  return out;
}

}  // namespace databroker::simulator
