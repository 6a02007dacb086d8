// Sensor kinds: the schema of the measurements a kind of sensor may report.
//
// Four kinds are built in (air_quality, noise, waste_bin, parking); more are declared in the
// configuration with the same shape. Every kind also accepts `battery` and `rssi`. Ranges are
// validation limits: a value outside is rejected, never clamped.
//
// A KindCatalog is built at start and then only read: share it as `const` between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::core {

enum class ValueType { Number, Integer, Boolean };

std::string_view to_string(ValueType type);
std::optional<ValueType> parse_value_type(std::string_view text);

struct MeasurementSpec {
  std::string name;
  std::string unit;  // SI-like, as written in documentation and metadata ("ug/m3", "dB(A)", "%")
  ValueType type = ValueType::Number;
  std::optional<double> min;
  std::optional<double> max;
};

struct SensorKind {
  std::string name;
  std::string description;
  std::vector<MeasurementSpec> measurements;

  const MeasurementSpec* find(std::string_view measurement) const;
};

class KindCatalog {
 public:
  // The four built-in kinds.
  static KindCatalog with_builtins();

  // Adds a kind, or replaces a built-in one of the same name. `battery` and `rssi` are added
  // when the kind does not declare them. Fails on an invalid name, an empty or duplicate
  // measurement list, or min > max.
  Status add(SensorKind kind);

  const SensorKind* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, SensorKind, std::less<>> kinds_;
};

}  // namespace databroker::core
