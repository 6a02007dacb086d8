#include "adapters/codecs/senml.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "broker/core/units.h"

namespace databroker::codecs {

using core::ErrorCode;
using core::FieldError;
using core::Reading;

namespace {

// RFC 8428 §4.5.3: a time below 2^28 s is relative to now.
constexpr double kRelativeTimeLimit = 268435456.0;
constexpr double kMaxEpochMs = 253402300799999.0;
constexpr std::size_t kMaxStringValue = 256;
constexpr std::size_t kMaxNameBytes = 256;
constexpr std::uint64_t kVersionBase = 10;
constexpr std::uint64_t kVersionSecondaryUnits = 26;

// SenML spellings of the built-in kinds' measurements: the names RFC 8428 examples, the Smart
// Data Models and noise meters use. Only applied when the kind declares the target.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"pm2_5", "pm25"},
    {"pm2.5", "pm25"},
    {"relativeHumidity", "humidity"},
    {"LAeq", "laeq"},
    {"LAmax", "lamax"},
    {"LA90", "la90"},
    {"fillingLevel", "fill_level"},
    {"fillLevel", "fill_level"},
    {"tilt", "tilted"},
    {"availableSpots", "free_spots"},
    {"freeSpots", "free_spots"},
    {"totalSpots", "total_spots"},
};

// SenML units as RFC 8428 and RFC 8798 define them, mapped onto the unit table (units.h). The
// secondary units (RFC 8798) are only allowed in a pack with feature 4 (bver 26).
struct SenmlUnit {
  std::string_view symbol;
  std::string_view plain;  // the units.h symbol
  double factor = 1;
  bool secondary = false;
  std::string_view only_for;  // a measurement name this unit is restricted to
};

constexpr SenmlUnit kSenmlUnits[] = {
    {"m", "m", 1, false, ""},           {"Cel", "Cel", 1, false, ""},
    {"K", "K", 1, false, ""},           {"/", "/", 1, false, ""},
    {"%", "/", 1, false, ""},  // RFC 8428: "%" is the same ratio as "/", 0 to 1
    {"%RH", "%", 1, false, "humidity"}, {"%EL", "%", 1, false, "battery"},
    {"kg/m3", "kg/m3", 1, false, ""},   {"dB", "dB", 1, false, ""},
    {"Bspl", "dB", 10, false, ""},  // bel: ×10 to decibel
    {"count", "count", 1, false, ""},   {"dBW", "dBW", 1, false, ""},
    {"deg", "deg", 1, false, ""},       {"rad", "rad", 1, false, ""},
    {"V", "V", 1, false, ""},           {"Pa", "Pa", 1, false, ""},
    {"ug/m3", "ug/m3", 1, true, ""},    {"dBm", "dBm", 1, true, ""},
    {"mm", "mm", 1, true, ""},          {"hPa", "hPa", 1, true, ""},
};

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '.' ||
         c == '/' || c == '_';
}

std::string shown(std::string_view text) { return "'" + std::string(text.substr(0, 64)) + "'"; }

struct Group {
  std::string sensor_id;
  std::string kind;
  core::TimestampMs ts = 0;
  std::vector<core::Measurement> values;
  std::optional<double> lat, lon, alt;
};

class PackDecoder {
 public:
  PackDecoder(const SenmlTarget& target, const core::KindCatalog& kinds, const KindLookup& kind_of,
              core::TimestampMs now)
      : target_(target), kinds_(kinds), kind_of_(kind_of), now_(now) {}

  core::Result<std::vector<Reading>> decode(simdjson::dom::array pack);

 private:
  void add(std::string field, std::string reason, std::string detail) {
    errors_.push_back({std::move(field), std::move(reason), std::move(detail)});
  }
  void read_version(simdjson::dom::array pack);
  void decode_record(simdjson::dom::element element, std::size_t index);
  void store(const std::string& at, const std::string& sensor_id, const std::string& local,
             std::optional<double> number, std::optional<bool> flag,
             std::optional<std::string_view> text, std::string_view unit, core::TimestampMs ts);
  // The value in the measurement's unit, or nothing (reported).
  std::optional<double> to_measurement_unit(const std::string& at, double value,
                                            std::string_view unit,
                                            const core::MeasurementSpec& spec);
  // The kind of a sensor, looked up once per sensor.
  const core::SensorKind* kind_for(const std::string& sensor_id, const std::string& at,
                                   std::string& kind_name);

  const SenmlTarget& target_;
  const core::KindCatalog& kinds_;
  const KindLookup& kind_of_;
  const core::TimestampMs now_;
  std::vector<FieldError> errors_;
  std::uint64_t version_ = kVersionBase;

  // Base fields in force (RFC 8428 §4.5: each lasts until a later record sets it again).
  std::string base_name_;
  double base_time_ = 0;
  std::string base_unit_;
  double base_value_ = 0;

  std::optional<std::string> device_prefix_;  // with a target sensor id: the one device's prefix
  std::map<std::string, std::pair<std::string, const core::SensorKind*>, std::less<>> kinds_of_;
  std::map<std::pair<std::string, core::TimestampMs>, Group> groups_;
};

void PackDecoder::read_version(simdjson::dom::array pack) {
  std::optional<std::uint64_t> seen;
  std::size_t index = 0;
  for (auto element : pack) {
    std::string at = "[" + std::to_string(index++) + "].bver";
    simdjson::dom::object record;
    if (element.get_object().get(record)) continue;  // reported by decode_record
    simdjson::dom::element value;
    if (record["bver"].get(value)) continue;
    std::uint64_t version = 0;
    if (value.get_uint64().get(version)) {
      add(at, "wrong_type", "bver is an unsigned integer");
      continue;
    }
    if (version != kVersionBase && version != kVersionSecondaryUnits) {
      add(at, "unsupported_version",
          "SenML version " + std::to_string(version) + " is not understood (10 and 26 are)");
      continue;
    }
    if (seen && *seen != version) {
      add(at, "version_mismatch", "all records of a pack share one version");
      continue;
    }
    seen = version;
  }
  version_ = seen.value_or(kVersionBase);
}

core::Result<std::vector<Reading>> PackDecoder::decode(simdjson::dom::array pack) {
  read_version(pack);
  std::size_t index = 0;
  for (auto element : pack) decode_record(element, index++);

  // A record group holding only a position (lat/lon at their own time) locates the sensor's
  // readings that carry none.
  std::vector<Reading> readings;
  std::map<std::string, core::Location, std::less<>> only_location;
  for (auto& [key, group] : groups_) {
    if (group.lat.has_value() != group.lon.has_value()) {
      add("$", "invalid_location", "a location needs both a lat and a lon record at one time");
      continue;
    }
    if (group.values.empty() && group.lat) {
      only_location.insert_or_assign(group.sensor_id,
                                     core::Location{*group.lat, *group.lon, group.alt});
    }
  }
  for (auto& [key, group] : groups_) {
    if (group.values.empty()) continue;
    Reading reading;
    reading.sensor_id = group.sensor_id;
    reading.kind = group.kind;
    reading.ts = group.ts;
    reading.values = std::move(group.values);
    if (group.lat && group.lon) {
      reading.location = core::Location{*group.lat, *group.lon, group.alt};
    } else if (auto it = only_location.find(group.sensor_id); it != only_location.end()) {
      reading.location = it->second;
    }
    readings.push_back(std::move(reading));
  }
  if (readings.empty() && errors_.empty()) {
    add("$", "empty_values", "the pack holds no measurement");
  }
  if (!errors_.empty()) {
    std::string message = std::to_string(errors_.size()) +
                          (errors_.size() == 1 ? " problem" : " problems") + " in the SenML pack";
    return core::fail(ErrorCode::InvalidArgument, std::move(message), std::move(errors_));
  }
  std::stable_sort(readings.begin(), readings.end(),
                   [](const Reading& a, const Reading& b) { return a.ts < b.ts; });
  return readings;
}

void PackDecoder::decode_record(simdjson::dom::element element, std::size_t index) {
  const std::string at = "[" + std::to_string(index) + "]";
  simdjson::dom::object record;
  if (element.get_object().get(record)) {
    add(at, "wrong_type", "a SenML record is a JSON object");
    return;
  }
  std::optional<std::string_view> name, unit, text;
  std::optional<double> time, number;
  std::optional<bool> flag;
  bool has_data = false, has_sum = false, has_regular = false;
  int value_fields = 0;
  const std::size_t errors_before = errors_.size();

  for (auto field : record) {
    std::string_view key = field.key;
    simdjson::dom::element v = field.value;
    const std::string path = at + "." + std::string(key.substr(0, 32));
    auto want_string = [&](std::optional<std::string_view>& out) {
      std::string_view s;
      if (v.get_string().get(s)) return add(path, "wrong_type", "must be a string");
      out = s;
    };
    auto want_number = [&](double& out) {
      if (!v.is_number()) {
        add(path, "wrong_type", "must be a number");
        return false;
      }
      out = v.get_double().value_unsafe();
      return true;
    };
    if (key == "bver") {
      continue;  // read_version
    } else if (key == "bn") {
      std::optional<std::string_view> s;
      want_string(s);
      if (s) base_name_ = std::string(*s);
    } else if (key == "bt") {
      want_number(base_time_);
    } else if (key == "bu") {
      std::optional<std::string_view> s;
      want_string(s);
      if (s) base_unit_ = std::string(*s);
    } else if (key == "bv") {
      want_number(base_value_);
    } else if (key == "bs") {
      double ignored = 0;
      want_number(ignored);  // sums are not stored; a base sum alone is harmless
    } else if (key == "n") {
      has_regular = true;
      want_string(name);
    } else if (key == "u") {
      has_regular = true;
      want_string(unit);
    } else if (key == "t") {
      has_regular = true;
      double t = 0;
      if (want_number(t)) time = t;
    } else if (key == "ut") {
      has_regular = true;
      double ignored = 0;
      want_number(ignored);
    } else if (key == "v") {
      ++value_fields;
      double x = 0;
      if (want_number(x)) number = x;
    } else if (key == "vb") {
      ++value_fields;
      if (!v.is_bool()) {
        add(path, "wrong_type", "must be true or false");
      } else {
        flag = v.get_bool().value_unsafe();
      }
    } else if (key == "vs") {
      ++value_fields;
      want_string(text);
      if (text && text->size() > kMaxStringValue) {
        add(path, "wrong_type", "text values are limited to 256 bytes");
      }
    } else if (key == "vd") {
      ++value_fields;
      has_data = true;
    } else if (key == "s") {
      has_sum = true;
      double ignored = 0;
      want_number(ignored);
    } else if (!key.empty() && key.back() == '_') {
      add(path, "must_understand",
          "label " + shown(key) + " must be understood (it ends in '_') and is not");
    }
    // Other labels are extensions a reader must ignore (RFC 8428 §4.4).
  }
  if (value_fields > 1) {
    add(at, "two_values", "a record carries at most one of v, vs, vb and vd");
    return;
  }
  if (value_fields == 0) {
    if (has_sum) {
      add(at + ".s", "unsupported_value", "sums are not stored; send the value in v");
    } else if (has_regular) {
      add(at, "missing_value", "a record with a name, unit or time needs a value (v, vb or vs)");
    }
    return;  // a record of base fields only
  }
  if (has_data) {
    add(at + ".vd", "unsupported_value", "data values (vd) are not stored");
    return;
  }
  if (errors_.size() != errors_before) return;

  std::string resolved = base_name_ + std::string(name.value_or(""));
  if (resolved.empty()) {
    add(at + ".n", "invalid_name", "the record has no name and no base name");
    return;
  }
  if (resolved.size() > kMaxNameBytes || !std::isalnum(static_cast<unsigned char>(resolved[0])) ||
      !std::all_of(resolved.begin(), resolved.end(), is_name_char)) {
    add(at + ".n", "invalid_name",
        "the name " + shown(resolved) +
            " must start with a letter or digit and use only A-Z a-z 0-9 - : . / _");
    return;
  }
  const auto cut = resolved.find_last_of(":/");
  const std::string prefix = cut == std::string::npos ? "" : resolved.substr(0, cut + 1);
  const std::string local = cut == std::string::npos ? resolved : resolved.substr(cut + 1);
  if (local.empty()) {
    add(at + ".n", "invalid_name", "the name " + shown(resolved) + " names no measurement");
    return;
  }

  std::string sensor_id;
  if (!target_.sensor_id.empty()) {
    sensor_id = std::string(target_.sensor_id);
    if (!device_prefix_) device_prefix_ = prefix;
    if (*device_prefix_ != prefix) {
      add(at + ".n", "multiple_devices",
          "all records must name one device (" + shown(*device_prefix_) + "), not " +
              shown(prefix));
      return;
    }
  } else {
    std::string_view device(prefix);
    if (!device.empty()) device.remove_suffix(1);
    const auto last = device.find_last_of(":/");
    if (last != std::string_view::npos) device.remove_prefix(last + 1);
    if (!core::is_valid_sensor_id(device)) {
      add(at + ".n", "invalid_sensor_id",
          "without a sensor in the path, the base name must end in the sensor id "
          "(urn:dev:ops:{sensor_id}:)");
      return;
    }
    sensor_id = std::string(device);
  }

  double seconds = base_time_ + time.value_or(0);
  double ms = seconds < kRelativeTimeLimit ? static_cast<double>(now_) + seconds * 1000.0
                                           : seconds * 1000.0;
  if (!std::isfinite(ms) || ms < 0 || ms > kMaxEpochMs) {
    add(at + ".t", "invalid_timestamp", "the resolved time is not a time between 1970 and 9999");
    return;
  }
  const auto ts = static_cast<core::TimestampMs>(std::llround(ms));

  std::string_view resolved_unit = unit ? *unit : std::string_view(base_unit_);
  if (number) *number += base_value_;
  store(at, sensor_id, local, number, flag, text, resolved_unit, ts);
}

const core::SensorKind* PackDecoder::kind_for(const std::string& sensor_id, const std::string& at,
                                              std::string& kind_name) {
  auto it = kinds_of_.find(sensor_id);
  if (it == kinds_of_.end()) {
    std::string name(target_.kind);
    if (name.empty() && kind_of_) name = kind_of_(sensor_id).value_or("");
    const core::SensorKind* kind = name.empty() ? nullptr : kinds_.find(name);
    if (name.empty()) {
      add(at, "unknown_sensor",
          "the kind of sensor " + shown(sensor_id) +
              " is not known; declare the sensor or post to /v1/sensors/{kind}/{id}/readings");
    } else if (!kind) {
      add(at, "unknown_kind", "no kind named " + shown(name));
    }
    it = kinds_of_.emplace(sensor_id, std::pair{name, kind}).first;
  }
  kind_name = it->second.first;
  return it->second.second;
}

void PackDecoder::store(const std::string& at, const std::string& sensor_id,
                        const std::string& local, std::optional<double> number,
                        std::optional<bool> flag, std::optional<std::string_view> text,
                        std::string_view unit, core::TimestampMs ts) {
  std::string kind_name;
  const core::SensorKind* kind = kind_for(sensor_id, at, kind_name);
  if (!kind) return;
  Group& group = groups_[{sensor_id, ts}];
  group.sensor_id = sensor_id;
  group.kind = kind_name;
  group.ts = ts;

  if (local == "lat" || local == "lon" || (local == "alt" && !kind->find("alt"))) {
    const std::string_view expected = local == "alt" ? "m" : std::string_view(local);
    if (!number) {
      add(at + ".v", "invalid_location", "a position is a number in v");
      return;
    }
    if (!unit.empty() && unit != expected) {
      add(at + ".u", "unit_mismatch",
          "a " + local + " record is in " + shown(expected) + ", not " + shown(unit));
      return;
    }
    std::optional<double>& slot = local == "lat"   ? group.lat
                                  : local == "lon" ? group.lon
                                                   : group.alt;
    if (slot) {
      add(at + ".n", "duplicate_field", local + " is given twice for one time");
      return;
    }
    slot = *number;
    return;
  }

  auto measurement = senml_measurement(*kind, local);
  std::string name = measurement.value_or(local);
  if (std::any_of(group.values.begin(), group.values.end(),
                  [&](const core::Measurement& m) { return m.name == name; })) {
    add(at + ".n", "duplicate_field",
        "measurement " + shown(name) + " is given twice for one time");
    return;
  }
  if (!measurement) {
    // Not a name of the kind: kept as sent, and the validator applies unknown_measurements.
    if (number) {
      group.values.push_back({std::move(name), *number, true});
    } else if (flag) {
      group.values.push_back({std::move(name), *flag, true});
    } else {
      group.values.push_back({std::move(name), std::string(*text), true});
    }
    return;
  }
  const core::MeasurementSpec& spec = *kind->find(name);
  if (spec.type == core::ValueType::Boolean) {
    if (!flag) {
      add(at, "wrong_type", "measurement " + shown(name) + " is a boolean: send it in vb");
      return;
    }
    group.values.push_back({std::move(name), *flag, true});
    return;
  }
  if (!number) {
    add(at, "wrong_type", "measurement " + shown(name) + " is a number: send it in v");
    return;
  }
  auto value = to_measurement_unit(at, *number, unit, spec);
  if (!value) return;
  group.values.push_back({std::move(name), *value, true});
}

std::optional<double> PackDecoder::to_measurement_unit(const std::string& at, double value,
                                                       std::string_view unit,
                                                       const core::MeasurementSpec& spec) {
  if (unit.empty()) return value;  // RFC 8428 §4.5.3: the unit may come from the context
  const auto* entry = std::find_if(std::begin(kSenmlUnits), std::end(kSenmlUnits),
                                   [&](const SenmlUnit& u) { return u.symbol == unit; });
  if (entry == std::end(kSenmlUnits)) {
    add(at + ".u", "unknown_unit",
        shown(unit) + " is not a SenML unit this broker converts (see docs/formats.md)");
    return std::nullopt;
  }
  if (entry->secondary && version_ != kVersionSecondaryUnits) {
    add(at + ".u", "secondary_unit",
        shown(unit) + " is a secondary unit (RFC 8798): the pack needs \"bver\": 26");
    return std::nullopt;
  }
  if (!entry->only_for.empty() && spec.name != entry->only_for) {
    add(at + ".u", "unit_mismatch",
        shown(unit) + " is for " + std::string(entry->only_for) + " only, not " + shown(spec.name));
    return std::nullopt;
  }
  if (entry->symbol == "count" && value != std::floor(value)) {
    add(at + ".v", "not_an_integer", "a count is a whole number");
    return std::nullopt;
  }
  auto converted = core::convert_unit(value * entry->factor, entry->plain, spec.unit);
  if (!converted) {
    add(at + ".u", converted.error().reason,
        converted.error().detail + " (measurement " + shown(spec.name) + ")");
    return std::nullopt;
  }
  return *converted;
}

}  // namespace

std::optional<std::string> senml_measurement(const core::SensorKind& kind, std::string_view name) {
  if (kind.find(name)) return std::string(name);
  for (const auto& [alias, target] : kAliases) {
    if (alias == name && kind.find(target)) return std::string(target);
  }
  return std::nullopt;
}

core::Result<std::vector<Reading>> decode_senml(std::string_view payload, const SenmlTarget& target,
                                                const core::KindCatalog& kinds,
                                                const KindLookup& kind_of, core::TimestampMs now,
                                                std::size_t max_records) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element document;
  if (auto error = parser.parse(payload.data(), payload.size(), true).get(document)) {
    return core::fail(ErrorCode::InvalidArgument, "the payload is not valid JSON",
                      {{"$", "malformed_json", simdjson::error_message(error)}});
  }
  simdjson::dom::array pack;
  if (document.get_array().get(pack)) {
    return core::fail(ErrorCode::InvalidArgument, "a SenML pack is a JSON array of records",
                      {{"$", "wrong_type", "expected an array of SenML records"}});
  }
  if (pack.size() == 0) {
    return core::fail(ErrorCode::InvalidArgument, "the SenML pack is empty",
                      {{"$", "empty_values", "an empty pack holds no records"}});
  }
  if (pack.size() > max_records) {
    return core::fail(ErrorCode::InvalidArgument, "the SenML pack is too large",
                      {{"$", "too_many_readings",
                        "at most " + std::to_string(max_records) + " records per pack"}});
  }
  return PackDecoder(target, kinds, kind_of, now).decode(pack);
}

}  // namespace databroker::codecs
