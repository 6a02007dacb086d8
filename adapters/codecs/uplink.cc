#include "adapters/codecs/uplink.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "broker/core/text.h"
#include "broker/core/time.h"
#include "broker/core/units.h"

namespace databroker::codecs {

using core::ErrorCode;
using core::FieldError;
using core::SourceFormat;

namespace {

namespace dom = simdjson::dom;

std::string shown(std::string_view text) { return "'" + std::string(text.substr(0, 64)) + "'"; }

// The member at a dotted path ("a.b.c") of `object`, if every step is an object.
std::optional<dom::element> at_path(dom::object object, std::string_view path) {
  dom::object step = object;
  while (true) {
    const auto dot = path.find('.');
    dom::element current;
    if (step[path.substr(0, dot)].get(current)) return std::nullopt;
    if (dot == std::string_view::npos) return current;
    if (current.get_object().get(step)) return std::nullopt;
    path.remove_prefix(dot + 1);
  }
}

class UplinkDecoder {
 public:
  UplinkDecoder(const core::IngestSource& source, const core::SensorKind& kind,
                core::TimestampMs now)
      : source_(source), kind_(kind), now_(now), tts_(source.format == SourceFormat::Tts) {}

  core::Result<std::vector<core::Reading>> decode(dom::object envelope);

 private:
  void add(std::string field, std::string reason, std::string detail) {
    errors_.push_back({std::move(field), std::move(reason), std::move(detail)});
  }
  // An optional string member; a present one of another type is a problem.
  std::optional<std::string_view> string_at(dom::object object, std::string_view path,
                                            const std::string& name);
  // An optional RFC 3339 time member.
  std::optional<core::TimestampMs> time_at(dom::object object, std::string_view path,
                                           const std::string& name);
  void read_location(dom::object uplink);
  void map_field(dom::element value, const core::FieldMapping& mapping, const std::string& at,
                 core::Reading& reading);
  std::optional<double> read_number(dom::element value, const core::FieldMapping& mapping,
                                    const std::string& at, std::string& unit);
  std::optional<double> bin_depth(const core::FillFromDistance& fill, const std::string& at);

  const core::IngestSource& source_;
  const core::SensorKind& kind_;
  const core::TimestampMs now_;
  const bool tts_;
  std::vector<FieldError> errors_;
  std::optional<core::Location> location_;
  std::optional<dom::object> tags_;
};

std::optional<std::string_view> UplinkDecoder::string_at(dom::object object, std::string_view path,
                                                         const std::string& name) {
  auto element = at_path(object, path);
  if (!element) return std::nullopt;
  std::string_view text;
  if (element->get_string().get(text)) {
    add(name, "wrong_type", "must be a string");
    return std::nullopt;
  }
  return text;
}

std::optional<core::TimestampMs> UplinkDecoder::time_at(dom::object object, std::string_view path,
                                                        const std::string& name) {
  auto text = string_at(object, path, name);
  if (!text) return std::nullopt;
  auto parsed = core::parse_rfc3339(*text);
  if (!parsed) add(name, "invalid_timestamp", "must be an RFC 3339 time");
  return parsed;
}

void UplinkDecoder::read_location(dom::object uplink) {
  auto user = at_path(uplink, "locations.user");
  if (!user) return;
  const std::string at = "uplink_message.locations.user";
  dom::object object;
  if (user->get_object().get(object)) return add(at, "invalid_location", "must be an object");
  double lat = 0, lon = 0, alt = 0;
  if (object["latitude"].get(lat) || object["longitude"].get(lon)) {
    return add(at, "invalid_location", "needs numeric latitude and longitude");
  }
  location_ = core::Location{lat, lon, std::nullopt};
  if (!object["altitude"].get(alt)) location_->alt = alt;
}

core::Result<std::vector<core::Reading>> UplinkDecoder::decode(dom::object envelope) {
  const std::string ids_path = tts_ ? "end_device_ids" : "deviceInfo";
  core::Reading reading;
  reading.kind = kind_.name;
  reading.ts = now_;

  dom::object ids;
  if (auto element = at_path(envelope, ids_path); !element || element->get_object().get(ids)) {
    add(ids_path, "malformed_envelope",
        std::string(tts_ ? "a The Things Stack uplink" : "a ChirpStack up event") + " needs " +
            ids_path + " (an object)");
  } else {
    const bool by_eui = source_.sensor_id == core::SensorIdRule::DevEui;
    const std::string key =
        by_eui ? (tts_ ? "dev_eui" : "devEui") : (tts_ ? "device_id" : "deviceName");
    const std::string path = ids_path + "." + key;
    auto id = string_at(ids, key, path);
    if (!id) {
      if (errors_.empty()) add(path, "invalid_sensor_id", "the sensor id is missing");
    } else {
      std::string text(*id);
      if (by_eui) {
        std::transform(text.begin(), text.end(), text.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      }
      if (!core::is_valid_sensor_id(text)) {
        add(path, "invalid_sensor_id", "a sensor id is [A-Za-z0-9._:-]{1,128}");
      }
      reading.sensor_id = std::move(text);
    }
    if (!tts_) {
      if (auto tags = at_path(ids, "tags")) {
        dom::object object;
        if (!tags->get_object().get(object)) tags_ = object;
      }
    }
  }

  std::optional<dom::object> decoded;
  std::optional<core::TimestampMs> envelope_time;
  const std::string decoded_path = tts_ ? "uplink_message.decoded_payload" : "object";
  if (tts_) {
    dom::object uplink;
    if (auto element = at_path(envelope, "uplink_message");
        !element || element->get_object().get(uplink)) {
      add("uplink_message", "malformed_envelope",
          "not an uplink: uplink_message (an object) is missing");
    } else {
      if (auto element = at_path(uplink, "decoded_payload")) {
        dom::object object;
        if (element->get_object().get(object)) {
          add(decoded_path, "wrong_type", "the decoded payload must be an object");
        } else {
          decoded = object;
        }
      }
      dom::array rx;
      if (auto element = at_path(uplink, "rx_metadata"); element && !element->get_array().get(rx)) {
        dom::object first;
        if (rx.size() > 0 && !rx.at(0).get_object().get(first)) {
          envelope_time = time_at(first, "time", "uplink_message.rx_metadata[0].time");
        }
      }
      if (!envelope_time) {
        envelope_time = time_at(uplink, "received_at", "uplink_message.received_at");
      }
      read_location(uplink);
    }
    if (!envelope_time) envelope_time = time_at(envelope, "received_at", "received_at");
  } else {
    if (auto element = at_path(envelope, "object")) {
      dom::object object;
      if (element->get_object().get(object)) {
        add(decoded_path, "wrong_type", "the decoded payload must be an object");
      } else {
        decoded = object;
      }
    }
    envelope_time = time_at(envelope, "time", "time");
  }

  if (!decoded && errors_.empty()) {
    add(decoded_path, "missing_decoded_payload",
        "the uplink has no decoded payload: set a payload formatter (codec) for the device on " +
            std::string(tts_ ? "The Things Stack" : "ChirpStack"));
  }
  if (decoded) {
    std::optional<core::TimestampMs> device_time;
    for (std::string_view key : {"time", "timestamp"}) {
      std::string_view text;
      if (auto element = at_path(*decoded, key); element && !element->get_string().get(text)) {
        device_time = core::parse_rfc3339(text);
        if (device_time) break;
      }
    }
    reading.ts = device_time ? *device_time : envelope_time.value_or(now_);
    for (const auto& mapping : source_.mapping) {
      if (auto value = at_path(*decoded, mapping.from)) {
        map_field(*value, mapping, decoded_path + "." + mapping.from, reading);
      }
    }
    if (reading.values.empty() && errors_.empty()) {
      std::vector<std::string_view> names;
      for (const auto& mapping : source_.mapping) names.push_back(mapping.from);
      add(decoded_path, "empty_values",
          "none of the mapped fields (" + core::join(names) + ") is in the decoded payload");
    }
  }
  reading.location = location_;
  if (!errors_.empty()) {
    std::string message = std::to_string(errors_.size()) +
                          (errors_.size() == 1 ? " problem" : " problems") + " in the uplink";
    return core::fail(ErrorCode::InvalidArgument, std::move(message), std::move(errors_));
  }
  return std::vector<core::Reading>{std::move(reading)};
}

std::optional<double> UplinkDecoder::read_number(dom::element value,
                                                 const core::FieldMapping& mapping,
                                                 const std::string& at, std::string& unit) {
  unit = mapping.unit;
  double number = 0;
  if (value.is_number()) {
    number = value.get_double().value_unsafe();
  } else if (value.is_string()) {
    std::string_view text = value.get_string().value_unsafe();
    auto parsed = core::parse_number_with_unit(text);
    if (!parsed) {
      add(at, "not_a_number", shown(text) + " is not a number with an optional unit");
      return std::nullopt;
    }
    number = parsed->value;
    if (!parsed->unit.empty()) unit = parsed->unit;
  } else {
    add(at, "wrong_type", "expected a number or a string such as \"25 ℃\"");
    return std::nullopt;
  }
  return number * mapping.scale + mapping.offset;
}

std::optional<double> UplinkDecoder::bin_depth(const core::FillFromDistance& fill,
                                               const std::string& at) {
  if (fill.bin_depth_tag.empty() || !tags_) return fill.bin_depth_mm;
  dom::element tag;
  if ((*tags_)[fill.bin_depth_tag].get(tag)) return fill.bin_depth_mm;
  const std::string tag_path = "deviceInfo.tags." + fill.bin_depth_tag;
  std::string_view text;
  std::optional<double> depth;
  if (!tag.get_string().get(text)) depth = core::parse_finite_number(text);
  if (!depth || *depth <= fill.blind_zone_mm) {
    add(tag_path, "invalid_tag",
        "the bin depth (for " + at + ") must be a number of millimetres above the blind zone (" +
            std::to_string(static_cast<long long>(fill.blind_zone_mm)) + " mm)");
    return std::nullopt;
  }
  return depth;
}

void UplinkDecoder::map_field(dom::element value, const core::FieldMapping& mapping,
                              const std::string& at, core::Reading& reading) {
  const core::MeasurementSpec* spec = kind_.find(mapping.to);
  if (!spec) return;  // the loader checks every target; a replaced kind cannot reach here
  if (spec->type == core::ValueType::Boolean) {
    if (!value.is_bool()) return add(at, "wrong_type", "expected true or false");
    reading.values.push_back({mapping.to, value.get_bool().value_unsafe(), true});
    return;
  }
  std::string unit;
  auto number = read_number(value, mapping, at, unit);
  if (!number) return;
  if (mapping.fill) {
    auto distance = core::convert_unit(*number, unit.empty() ? "mm" : unit, "mm");
    if (!distance) {
      return add(at, distance.error().reason,
                 distance.error().detail + " (a distance is expected)");
    }
    if (*distance < 0) return add(at, "out_of_range", "a distance cannot be negative");
    auto depth = bin_depth(*mapping.fill, at);
    if (!depth) return;
    const double span = *depth - mapping.fill->blind_zone_mm;
    const double ratio = std::clamp((*depth - *distance) / span, 0.0, 1.0);
    auto fill = core::convert_unit(ratio, "/", spec->unit);
    if (!fill) return add(at, fill.error().reason, fill.error().detail);
    reading.values.push_back({mapping.to, *fill, true});
    return;
  }
  auto converted = core::convert_unit(*number, unit, spec->unit);
  if (!converted) {
    return add(at, converted.error().reason,
               converted.error().detail + " (measurement " + shown(mapping.to) + ")");
  }
  reading.values.push_back({mapping.to, *converted, true});
}

}  // namespace

core::Result<std::vector<core::Reading>> decode_uplink(std::string_view payload,
                                                       const core::IngestSource& source,
                                                       std::string_view kind,
                                                       const core::KindCatalog& kinds,
                                                       core::TimestampMs now) {
  thread_local dom::parser parser;
  dom::element document;
  if (auto error = parser.parse(payload.data(), payload.size(), true).get(document)) {
    return core::fail(ErrorCode::InvalidArgument, "the payload is not valid JSON",
                      {{"$", "malformed_json", simdjson::error_message(error)}});
  }
  dom::object envelope;
  if (document.get_object().get(envelope)) {
    return core::fail(ErrorCode::InvalidArgument, "the uplink is not a JSON object",
                      {{"$", "malformed_envelope", "expected the network server's JSON object"}});
  }
  const core::SensorKind* spec = kinds.find(kind);
  if (!spec) {
    return core::fail(ErrorCode::InvalidArgument, "unknown kind",
                      {{"kind", "unknown_kind", "no kind named " + shown(kind)}});
  }
  return UplinkDecoder(source, *spec, now).decode(envelope);
}

}  // namespace databroker::codecs
