#include "broker/core/kinds.h"

#include <algorithm>
#include <set>

namespace databroker::core {

std::string_view to_string(ValueType type) {
  switch (type) {
    case ValueType::Number:
      return "number";
    case ValueType::Integer:
      return "integer";
    case ValueType::Boolean:
      return "boolean";
  }
  return "number";
}

std::optional<ValueType> parse_value_type(std::string_view text) {
  if (text == "number") return ValueType::Number;
  if (text == "integer") return ValueType::Integer;
  if (text == "boolean" || text == "bool") return ValueType::Boolean;
  return std::nullopt;
}

const MeasurementSpec* SensorKind::find(std::string_view measurement) const {
  auto it = std::find_if(measurements.begin(), measurements.end(),
                         [&](const MeasurementSpec& m) { return m.name == measurement; });
  return it == measurements.end() ? nullptr : &*it;
}

namespace {

MeasurementSpec number(std::string name, std::string unit, double min, double max) {
  return {std::move(name), std::move(unit), ValueType::Number, min, max};
}

MeasurementSpec boolean(std::string name) {
  return {std::move(name), "", ValueType::Boolean, std::nullopt, std::nullopt};
}

MeasurementSpec count(std::string name) {
  return {std::move(name), "count", ValueType::Integer, 0.0, std::nullopt};
}

}  // namespace

KindCatalog KindCatalog::with_builtins() {
  KindCatalog catalog;
  auto add = [&](SensorKind kind) {
    auto status = catalog.add(std::move(kind));
    (void)status;  // the built-in table is valid by construction; kinds_test.cc proves it
  };
  add({"air_quality",
       "Air quality: particulate matter, NO2, O3, temperature and humidity",
       {number("pm25", "ug/m3", 0, 2000), number("pm10", "ug/m3", 0, 2000),
        number("no2", "ug/m3", 0, 2000), number("o3", "ug/m3", 0, 2000),
        number("temperature", "Cel", -50, 70), number("humidity", "%", 0, 100)}});
  add({"noise",
       "Environmental noise levels, A-weighted",
       {number("laeq", "dB(A)", 0, 160), number("lamax", "dB(A)", 0, 160),
        number("la90", "dB(A)", 0, 160)}});
  add({"waste_bin",
       "Waste bin fill level, temperature (fire detection) and tilt",
       {number("fill_level", "%", 0, 100), number("temperature", "Cel", -50, 150),
        boolean("tilted")}});
  add({"parking",
       "Parking: one spot's occupancy, or the free and total spots of a zone or garage",
       {boolean("occupied"), count("free_spots"), count("total_spots")}});
  return catalog;
}

Status KindCatalog::add(SensorKind kind) {
  if (!is_valid_kind_name(kind.name)) {
    return fail(ErrorCode::InvalidArgument,
                "kind name '" + kind.name + "' must match [a-z][a-z0-9_]{0,63}");
  }
  if (kind.measurements.empty()) {
    return fail(ErrorCode::InvalidArgument, "kind '" + kind.name + "' declares no measurements");
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& m : kind.measurements) {
    if (!is_valid_kind_name(m.name)) {
      return fail(ErrorCode::InvalidArgument, "measurement name '" + m.name + "' of kind '" +
                                                  kind.name + "' must match [a-z][a-z0-9_]{0,63}");
    }
    if (!seen.insert(m.name).second) {
      return fail(ErrorCode::InvalidArgument,
                  "measurement '" + m.name + "' is declared twice in kind '" + kind.name + "'");
    }
    if (m.min && m.max && *m.min > *m.max) {
      return fail(ErrorCode::InvalidArgument,
                  "measurement '" + m.name + "' of kind '" + kind.name + "' has min > max");
    }
  }
  if (!kind.find("battery")) kind.measurements.push_back(number("battery", "%", 0, 100));
  if (!kind.find("rssi")) kind.measurements.push_back(number("rssi", "dBm", -200, 0));
  std::string name = kind.name;
  kinds_.insert_or_assign(std::move(name), std::move(kind));
  return ok();
}

const SensorKind* KindCatalog::find(std::string_view name) const {
  auto it = kinds_.find(name);
  return it == kinds_.end() ? nullptr : &it->second;
}

std::vector<std::string> KindCatalog::names() const {
  std::vector<std::string> out;
  out.reserve(kinds_.size());
  for (const auto& [name, kind] : kinds_) out.push_back(name);
  return out;
}

}  // namespace databroker::core
