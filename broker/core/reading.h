// The reading model: one observation of one sensor, as the broker stores and serves it.
//
// A Reading is a plain value. Adapters decode payloads into Readings with `seq` and
// `received_at` unset; the durable log assigns both when it accepts them. Measurements keep the
// order in which they arrived so that a reading re-encodes as it was sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace databroker::core {

// Milliseconds since the Unix epoch, UTC.
using TimestampMs = std::int64_t;
// Position in the durable log; strictly increasing over all accepted readings, never 0.
using Seq = std::uint64_t;

struct Location {
  double lat = 0;
  double lon = 0;
  std::optional<double> alt;

  bool operator==(const Location&) const = default;
};

// Numbers (also integers, kept as double: exact up to 2^53), booleans, and strings for unknown
// measurements that a permissive configuration keeps.
using MeasurementValue = std::variant<double, bool, std::string>;

struct Measurement {
  std::string name;
  MeasurementValue value;
  // False when the sensor's kind does not declare this name and the configuration keeps it.
  bool known = true;

  bool operator==(const Measurement&) const = default;
};

struct Reading {
  std::string sensor_id;
  std::string kind;
  TimestampMs ts = 0;           // observation time
  TimestampMs received_at = 0;  // set by the broker
  Seq seq = 0;                  // set by the durable log
  std::vector<Measurement> values;
  std::optional<Location> location;

  const Measurement* find(std::string_view name) const;
  bool operator==(const Reading&) const = default;
};

// Sensor ids are `[A-Za-z0-9._:-]{1,128}`: safe in MQTT topics, URL paths and storage keys.
bool is_valid_sensor_id(std::string_view id);
// Kind names are `[a-z][a-z0-9_]{0,63}`.
bool is_valid_kind_name(std::string_view name);

}  // namespace databroker::core
