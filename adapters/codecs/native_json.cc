#include "adapters/codecs/native_json.h"

#include <simdjson.h>

#include <cmath>
#include <string>

#include "broker/core/time.h"

namespace databroker::codecs {

using core::ErrorCode;
using core::FieldError;
using core::Reading;

namespace {

constexpr std::size_t kMaxStringValue = 256;
// Epoch milliseconds beyond year 9999 or before 1970 cannot be a sensor's clock.
constexpr double kMaxEpochMs = 253402300799999.0;

class ObjectDecoder {
 public:
  ObjectDecoder(const NativeTarget& target, core::TimestampMs now, std::vector<FieldError>& errors)
      : target_(target), now_(now), errors_(errors) {}

  // Decodes one reading object; problems go to `errors_` with `prefix` on every field name.
  Reading decode(simdjson::dom::element element, const std::string& prefix) {
    Reading reading;
    reading.sensor_id = std::string(target_.sensor_id);
    reading.kind = std::string(target_.kind);
    reading.ts = now_;
    simdjson::dom::object object;
    if (element.get_object().get(object)) {
      add(prefix.empty() ? "$" : prefix.substr(0, prefix.size() - 1), "wrong_type",
          "a reading must be a JSON object");
      return reading;
    }
    bool has_values = false, has_sensor = false, has_kind = false;
    for (auto field : object) {
      std::string_view key = field.key;
      if (key == "ts") {
        decode_ts(field.value, prefix, reading);
      } else if (key == "values") {
        has_values = true;
        decode_values(field.value, prefix, reading);
      } else if (key == "location") {
        decode_location(field.value, prefix, reading);
      } else if (key == "sensor") {
        has_sensor = true;
        decode_target(field.value, prefix + "sensor", target_.sensor_id, reading.sensor_id);
      } else if (key == "kind") {
        has_kind = true;
        decode_target(field.value, prefix + "kind", target_.kind, reading.kind);
      } else {
        add(prefix + std::string(key), "unknown_field",
            "unknown field; a reading has ts, values and location" +
                std::string(target_.sensor_id.empty() ? ", sensor and kind" : ""));
      }
    }
    if (!has_values) add(prefix + "values", "empty_values", "a reading needs values");
    // A present but wrong field was reported already; only absence is reported here.
    if (reading.sensor_id.empty() && !has_sensor) {
      add(prefix + "sensor", "invalid_sensor_id", "sensor is missing");
    }
    if (reading.kind.empty() && !has_kind) add(prefix + "kind", "unknown_kind", "kind is missing");
    return reading;
  }

 private:
  void add(std::string field, std::string reason, std::string detail) {
    errors_.push_back({std::move(field), std::move(reason), std::move(detail)});
  }

  void decode_ts(simdjson::dom::element value, const std::string& prefix, Reading& reading) {
    std::string field = prefix + "ts";
    if (value.is_null()) return;  // explicit null: the receive time, as when absent
    if (value.is_string()) {
      std::string_view text = value.get_string().value_unsafe();
      auto parsed = core::parse_rfc3339(text);
      if (!parsed) {
        add(field, "invalid_timestamp", "ts must be RFC 3339 (2026-11-28T10:15:00Z) or epoch ms");
        return;
      }
      reading.ts = *parsed;
      return;
    }
    if (value.is_number()) {
      double ms = value.get_double().value_unsafe();
      if (!std::isfinite(ms) || ms != std::floor(ms) || ms < 0 || ms > kMaxEpochMs) {
        add(field, "invalid_timestamp", "ts as a number must be whole epoch milliseconds");
        return;
      }
      reading.ts = static_cast<core::TimestampMs>(ms);
      return;
    }
    add(field, "invalid_timestamp", "ts must be a string or a number");
  }

  void decode_values(simdjson::dom::element value, const std::string& prefix, Reading& reading) {
    simdjson::dom::object values;
    if (value.get_object().get(values)) {
      add(prefix + "values", "wrong_type", "values must be an object of measurements");
      return;
    }
    for (auto field : values) {
      std::string name(field.key);
      std::string path = prefix + "values." + name;
      if (reading.find(name)) {
        add(path, "duplicate_field", "measurement given twice");
        continue;
      }
      simdjson::dom::element v = field.value;
      if (v.is_bool()) {
        reading.values.push_back({std::move(name), v.get_bool().value_unsafe(), true});
      } else if (v.is_number()) {
        reading.values.push_back({std::move(name), v.get_double().value_unsafe(), true});
      } else if (v.is_string()) {
        std::string_view text = v.get_string().value_unsafe();
        if (text.size() > kMaxStringValue) {
          add(path, "wrong_type", "text values are limited to 256 bytes");
          continue;
        }
        reading.values.push_back({std::move(name), std::string(text), true});
      } else {
        add(path, "wrong_type", "a measurement is a number, a boolean or a short string");
      }
    }
  }

  void decode_location(simdjson::dom::element value, const std::string& prefix, Reading& reading) {
    std::string field = prefix + "location";
    if (value.is_null()) return;
    simdjson::dom::object object;
    if (value.get_object().get(object)) {
      add(field, "invalid_location", "location must be an object with lat and lon");
      return;
    }
    core::Location location;
    bool has_lat = false, has_lon = false;
    for (auto member : object) {
      std::string_view key = member.key;
      double number = 0;
      if (member.value.get_double().get(number)) {
        add(field + "." + std::string(key), "invalid_location", "coordinates are numbers");
        continue;
      }
      if (key == "lat") {
        location.lat = number;
        has_lat = true;
      } else if (key == "lon") {
        location.lon = number;
        has_lon = true;
      } else if (key == "alt") {
        location.alt = number;
      } else {
        add(field + "." + std::string(key), "unknown_field", "a location has lat, lon and alt");
      }
    }
    if (!has_lat || !has_lon) {
      add(field, "invalid_location", "location needs both lat and lon");
      return;
    }
    reading.location = location;
  }

  void decode_target(simdjson::dom::element value, const std::string& field,
                     std::string_view from_target, std::string& out) {
    std::string_view text;
    if (value.get_string().get(text)) {
      add(field, "wrong_type", "must be a string");
      return;
    }
    if (!from_target.empty() && text != from_target) {
      add(field, "conflict", "differs from the one in the topic or path");
      return;
    }
    out = std::string(text);
  }

  const NativeTarget& target_;
  const core::TimestampMs now_;
  std::vector<FieldError>& errors_;
};

}  // namespace

core::Result<std::vector<Reading>> decode_native(std::string_view payload,
                                                 const NativeTarget& target, core::TimestampMs now,
                                                 bool allow_array, std::size_t max_readings) {
  // One parser per thread: it keeps its buffers between calls, so parsing allocates nothing
  // once warm.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element document;
  if (auto error = parser.parse(payload.data(), payload.size(), true).get(document)) {
    return core::fail(ErrorCode::InvalidArgument, "the payload is not valid JSON",
                      {{"$", "malformed_json", simdjson::error_message(error)}});
  }
  std::vector<FieldError> errors;
  std::vector<Reading> readings;
  ObjectDecoder decoder(target, now, errors);
  if (document.is_array()) {
    simdjson::dom::array array = document.get_array().value_unsafe();
    if (!allow_array) {
      return core::fail(ErrorCode::InvalidArgument, "one reading object is expected here",
                        {{"$", "wrong_type", "an array is not accepted here"}});
    }
    std::size_t count = array.size();
    if (count == 0) {
      return core::fail(ErrorCode::InvalidArgument, "the batch is empty",
                        {{"$", "empty_values", "an empty array holds no readings"}});
    }
    if (count > max_readings) {
      return core::fail(ErrorCode::InvalidArgument, "the batch is too large",
                        {{"$", "too_many_readings",
                          "at most " + std::to_string(max_readings) + " readings per batch"}});
    }
    readings.reserve(count);
    std::size_t index = 0;
    for (auto element : array) {
      readings.push_back(decoder.decode(element, "[" + std::to_string(index++) + "]."));
    }
  } else {
    readings.push_back(decoder.decode(document, ""));
  }
  if (!errors.empty()) {
    std::string message = std::to_string(errors.size()) +
                          (errors.size() == 1 ? " problem" : " problems") + " in the payload";
    return core::fail(ErrorCode::InvalidArgument, std::move(message), std::move(errors));
  }
  return readings;
}

}  // namespace databroker::codecs
