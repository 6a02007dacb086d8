#include "tools/simulator/fleet.h"

#include <array>
#include <cmath>
#include <cstdio>

namespace databroker::simulator {

std::string_view to_string(Format format) {
  switch (format) {
    case Format::Native:
      return "native";
    case Format::Senml:
      return "senml";
    case Format::Tts:
      return "tts";
    case Format::Chirpstack:
      return "chirpstack";
  }
  return "native";
}

std::optional<Format> parse_format(std::string_view text) {
  for (Format f : {Format::Native, Format::Senml, Format::Tts, Format::Chirpstack}) {
    if (text == to_string(f)) return f;
  }
  return std::nullopt;
}

namespace {

// Places in and around the centre of Leuven (50.88 N, 4.70 E); positions are approximate and
// the sensors made up.
struct Place {
  const char* name;
  double lat;
  double lon;
};
constexpr std::array<Place, 16> kPlaces{{
    {"Grote Markt", 50.87893, 4.70095},
    {"Martelarenplein", 50.88114, 4.71431},
    {"Ladeuzeplein", 50.87838, 4.70639},
    {"Oude Markt", 50.87755, 4.69955},
    {"Bondgenotenlaan", 50.88024, 4.70787},
    {"Tiensestraat", 50.87659, 4.70758},
    {"Naamsestraat", 50.87302, 4.70051},
    {"Brusselsestraat", 50.87942, 4.69309},
    {"Diestsestraat", 50.88249, 4.70661},
    {"Vaartkom", 50.88753, 4.70459},
    {"Sint-Jacobsplein", 50.88061, 4.69467},
    {"Kessel-Lo station", 50.88735, 4.71868},
    {"Heverlee, Naamsesteenweg", 50.86440, 4.69160},
    {"Tervuursevest", 50.87262, 4.69395},
    {"Philipssite", 50.88504, 4.71545},
    {"Hogeschoolplein", 50.87670, 4.70290},
}};

// FNV-1a, then mixed: ids differ in one digit, and every bit of the hash picks something.
std::uint64_t id_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return derive_seed(h, 0);
}

double round_degrees(double value) { return std::round(value * 1e5) / 1e5; }

// The low `digits` (< 16) hex digits of `value`.
std::string hex(std::uint64_t value, int digits) {
  char buffer[17];
  const std::uint64_t mask = (1ULL << (4 * digits)) - 1;
  std::snprintf(buffer, sizeof buffer, "%0*llx", digits,
                static_cast<unsigned long long>(value & mask));
  return buffer;
}

struct Plan {
  std::string kind;
  ModelKind model;
  Format format;
};

// Sensor `j` (0-based) of a kind: its model and format, by the rules in fleet.h.
Plan plan(std::string_view kind, std::size_t j, std::optional<Format> only) {
  if (kind == "air_quality") {
    constexpr std::array<Format, 3> kMixed{Format::Native, Format::Senml, Format::Tts};
    return {"air_quality", ModelKind::AirQuality, only.value_or(kMixed[j % 3])};
  }
  if (kind == "noise") {
    constexpr std::array<Format, 2> kMixed{Format::Native, Format::Senml};
    return {"noise", ModelKind::Noise, only.value_or(kMixed[j % 2])};
  }
  if (kind == "waste_bin") {
    constexpr std::array<Format, 4> kMixed{Format::Native, Format::Senml, Format::Tts,
                                           Format::Chirpstack};
    return {"waste_bin", ModelKind::WasteBin, only.value_or(kMixed[j % 4])};
  }
  // Parking: a garage every third sensor where the format can carry spot counts (ChirpStack's
  // parking source is a single-spot sensor).
  if (only) {
    const bool garage = *only != Format::Chirpstack && j % 3 == 0;
    return {"parking", garage ? ModelKind::Garage : ModelKind::ParkingSpot, *only};
  }
  struct Mixed {
    ModelKind model;
    Format format;
  };
  constexpr std::array<Mixed, 6> kMixed{{
      {ModelKind::Garage, Format::Native},
      {ModelKind::ParkingSpot, Format::Chirpstack},
      {ModelKind::ParkingSpot, Format::Native},
      {ModelKind::Garage, Format::Senml},
      {ModelKind::ParkingSpot, Format::Chirpstack},
      {ModelKind::ParkingSpot, Format::Senml},
  }};
  return {"parking", kMixed[j % 6].model, kMixed[j % 6].format};
}

std::vector<std::string_view> kinds_for(std::optional<Format> only) {
  if (only == Format::Tts) return {"air_quality", "waste_bin"};
  if (only == Format::Chirpstack) return {"waste_bin", "parking"};
  return {"air_quality", "noise", "waste_bin", "parking"};
}

std::string source_of(Format format, std::string_view kind) {
  switch (format) {
    case Format::Native:
      return "native";
    case Format::Senml:
      return "senml";
    case Format::Tts:
      return kind == "air_quality" ? "tts-air" : "tts-waste";
    case Format::Chirpstack:
      return kind == "parking" ? "chirpstack-parking" : "chirpstack-waste";
  }
  return "native";
}

SensorInfo describe(const Plan& p, std::size_t j) {
  SensorInfo info;
  char number[24];  // room for any size_t
  std::snprintf(number, sizeof number, "%03zu", j + 1);
  const char* prefix = p.model == ModelKind::AirQuality ? "leuven-aq-"
                       : p.model == ModelKind::Noise    ? "leuven-noise-"
                       : p.model == ModelKind::WasteBin ? "leuven-bin-"
                       : p.model == ModelKind::Garage   ? "leuven-garage-"
                                                        : "leuven-spot-";
  info.id = prefix + std::string(number);
  info.kind = p.kind;
  info.model = p.model;
  info.format = p.format;
  info.source = source_of(p.format, p.kind);

  const std::uint64_t h = id_hash(info.id);
  const Place& place = kPlaces[h % kPlaces.size()];
  // Up to about 150 m from the place, so two sensors at one place do not coincide.
  const double dlat = (static_cast<double>((h >> 8) & 0xfff) / 4095.0 - 0.5) * 0.0027;
  const double dlon = (static_cast<double>((h >> 20) & 0xfff) / 4095.0 - 0.5) * 0.0042;
  info.location = {round_degrees(place.lat + dlat), round_degrees(place.lon + dlon), std::nullopt};
  const char* what = p.model == ModelKind::AirQuality ? "air quality sensor"
                     : p.model == ModelKind::Noise    ? "noise monitor"
                     : p.model == ModelKind::WasteBin ? "street bin"
                     : p.model == ModelKind::Garage   ? "car park"
                                                      : "parking spot";
  info.name = std::string(place.name) + ", " + what + " " + std::to_string(j + 1);
  info.dev_eui = "70b3d57ed0" + hex(h >> 32, 6);
  info.dev_addr = "260b" + hex(h >> 12, 4);
  constexpr std::array<int, 3> kDepths{1000, 1100, 1200};
  if (p.format == Format::Chirpstack && p.model == ModelKind::WasteBin) {
    info.bin_depth_mm = kDepths[(h >> 40) % kDepths.size()];
  }
  info.senml_primary_units =
      p.format == Format::Senml && p.model == ModelKind::AirQuality && (h >> 44) % 2 == 1;
  return info;
}

constexpr std::array<std::uint32_t, 8> kFrequencies{868100000, 868300000, 868500000, 867100000,
                                                    867300000, 867500000, 867700000, 867900000};

}  // namespace

SimSensor::SimSensor(SensorInfo info, std::uint64_t run_seed)
    : info_(std::move(info)),
      model_(make_model(info_.model, derive_seed(run_seed, id_hash(info_.id)))),
      radio_rng_(derive_seed(run_seed ^ 0x5241444fULL, id_hash(info_.id))),
      f_cnt_(static_cast<std::uint32_t>(radio_rng_.uniform(0, 5000))) {}

Sample SimSensor::sample(core::TimestampMs t) {
  Sample out;
  out.reading.sensor_id = info_.id;
  out.reading.kind = info_.kind;
  out.reading.ts = t;
  out.reading.values = model_->sample(t);
  out.reading.location = info_.location;
  const std::uint64_t h = id_hash(info_.id);
  out.radio.f_cnt = f_cnt_++;
  out.radio.gateway = static_cast<int>(h % 3);
  // Distance to the gateway sets the spreading factor; fading moves the signal around it.
  out.radio.spreading_factor = 7 + static_cast<int>((h >> 24) % 4);
  out.radio.rssi = static_cast<int>(
      std::lround(-78 - 6.0 * (out.radio.spreading_factor - 7) + 4 * radio_rng_.normal()));
  out.radio.snr =
      std::round((9.5 - 3.5 * (out.radio.spreading_factor - 7) + 2 * radio_rng_.normal()) * 4) / 4;
  out.radio.frequency_hz = kFrequencies[radio_rng_.bits() % kFrequencies.size()];
  out.radio.random = radio_rng_.bits();
  return out;
}

std::string declarations_yaml(const std::vector<SimSensor>& fleet) {
  std::string out;
  for (const auto& sensor : fleet) {
    const SensorInfo& s = sensor.info();
    const char* tag = s.model == ModelKind::Garage        ? ", garage"
                      : s.model == ModelKind::ParkingSpot ? ", on-street"
                      : s.model == ModelKind::WasteBin    ? ", street-bin"
                                                          : "";
    const char* owner = s.model == ModelKind::WasteBin ? "EcoWerf" : "Stad Leuven";
    const char* steward = s.model == ModelKind::WasteBin ? "EcoWerf"
                          : s.kind == "parking"          ? "Dienst Mobiliteit"
                                                         : "Dienst Milieu";
    char location[64];
    std::snprintf(location, sizeof location, "{lat: %.5f, lon: %.5f}", s.location.lat,
                  s.location.lon);
    out += "\n- id: " + s.id + "\n  kind: " + s.kind + "\n  name: " + s.name +
           "\n  location: " + location + "\n  zone: leuven\n  tags: [simulated" + tag +
           "]\n  owner: " + owner + "\n  steward: " + steward + "\n";
  }
  return out;
}

std::vector<SimSensor> make_fleet(std::size_t count, std::optional<Format> format,
                                  std::uint64_t seed) {
  const auto kinds = kinds_for(format);
  std::vector<SimSensor> fleet;
  fleet.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t j = i / kinds.size();
    fleet.emplace_back(describe(plan(kinds[i % kinds.size()], j, format), j), seed);
  }
  return fleet;
}

}  // namespace databroker::simulator
