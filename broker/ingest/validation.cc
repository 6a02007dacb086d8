#include "broker/ingest/validation.h"

#include <cmath>
#include <string>

#include "broker/registry/sensor_registry.h"

namespace databroker::ingest {

using core::FieldError;
using core::ValueType;

namespace {

// Before 2000 no city sensor in service had a working clock: such a ts is a reset RTC.
constexpr core::TimestampMs kOldestTimestamp = 946'684'800'000;

std::string format_limit(double value) {
  std::string text = std::to_string(value);
  text.erase(text.find_last_not_of('0') + 1);
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

bool Validator::check(core::Reading& reading, core::TimestampMs now, std::string_view field_prefix,
                      std::vector<FieldError>& errors) const {
  const std::size_t errors_before = errors.size();
  std::string prefix(field_prefix);
  auto add = [&](std::string field, const char* reason, std::string detail) {
    errors.push_back({prefix + field, reason, std::move(detail)});
  };

  if (!core::is_valid_sensor_id(reading.sensor_id)) {
    add("sensor", "invalid_sensor_id", "sensor ids match [A-Za-z0-9._:-]{1,128}");
  }
  const core::SensorKind* kind = kinds_.find(reading.kind);
  if (!kind) {
    add("kind", "unknown_kind", "no kind named '" + reading.kind.substr(0, 64) + "'");
  }
  if (registry_ && core::is_valid_sensor_id(reading.sensor_id)) {
    auto registered = registry_->kind_of(reading.sensor_id);
    if (!registered) {
      if (registry_->is_strict()) {
        add("sensor", "unknown_sensor", "sensor is not declared and the registry is strict");
      }
    } else if (*registered != reading.kind) {
      add("kind", "kind_mismatch", "sensor is registered as '" + *registered + "'");
    }
  }

  if (reading.ts > now + rules_.max_future_skew_ms) {
    add("ts", "timestamp_in_future",
        "ts is " + std::to_string((reading.ts - now) / 1000) + " s ahead of the broker's clock");
  } else if (reading.ts < kOldestTimestamp) {
    add("ts", "timestamp_too_old", "ts is before 2000-01-01");
  }

  if (reading.location) {
    const auto& loc = *reading.location;
    if (!std::isfinite(loc.lat) || loc.lat < -90 || loc.lat > 90) {
      add("location.lat", "invalid_location", "lat must be within [-90, 90]");
    }
    if (!std::isfinite(loc.lon) || loc.lon < -180 || loc.lon > 180) {
      add("location.lon", "invalid_location", "lon must be within [-180, 180]");
    }
    if (loc.alt && !std::isfinite(*loc.alt)) {
      add("location.alt", "invalid_location", "alt must be a finite number");
    }
  }

  if (reading.values.empty()) {
    add("values", "empty_values", "a reading needs at least one measurement");
  }
  const double* free_spots = nullptr;
  const double* total_spots = nullptr;
  for (auto& m : reading.values) {
    std::string field = "values." + m.name;
    const core::MeasurementSpec* spec = kind ? kind->find(m.name) : nullptr;
    if (!spec) {
      if (!kind) continue;  // already reported as unknown_kind
      if (rules_.unknown_measurements == UnknownMeasurements::Reject) {
        add(field, "unknown_measurement", "kind '" + kind->name + "' has no such measurement");
      }
      m.known = false;
      if (const double* number = std::get_if<double>(&m.value); number && !std::isfinite(*number)) {
        add(field, "not_finite", "numbers must be finite");
      }
      continue;
    }
    m.known = true;
    if (spec->type == ValueType::Boolean) {
      if (!std::holds_alternative<bool>(m.value)) add(field, "wrong_type", "expected a boolean");
      continue;
    }
    const double* number = std::get_if<double>(&m.value);
    if (!number) {
      add(field, "wrong_type", "expected a number");
      continue;
    }
    if (!std::isfinite(*number)) {
      add(field, "not_finite", "numbers must be finite");
      continue;
    }
    if (spec->type == ValueType::Integer && *number != std::floor(*number)) {
      add(field, "not_integer", "expected a whole number");
      continue;
    }
    if ((spec->min && *number < *spec->min) || (spec->max && *number > *spec->max)) {
      // Built by appending: GCC 12 reports a false -Wrestrict on `"[" + std::string&&`.
      std::string detail = format_limit(*number);
      detail += " is outside [";
      detail += spec->min ? format_limit(*spec->min) : "-inf";
      detail += ", ";
      detail += spec->max ? format_limit(*spec->max) : "inf";
      detail += ']';
      if (!spec->unit.empty()) {
        detail += ' ';
        detail += spec->unit;
      }
      add(field, "out_of_range", std::move(detail));
      continue;
    }
    if (m.name == "free_spots") free_spots = number;
    if (m.name == "total_spots") total_spots = number;
  }
  if (free_spots && total_spots && *free_spots > *total_spots) {
    add("values.free_spots", "inconsistent", "free_spots exceeds total_spots");
  }
  return errors.size() == errors_before;
}

}  // namespace databroker::ingest
