#include "adapters/codecs/ngsi_ld.h"

#include <algorithm>

#include "adapters/codecs/json_common.h"
#include "broker/core/time.h"

namespace databroker::codecs {

namespace {

using detail::Json;

constexpr std::string_view kAirQuality = "AirQualityObserved";
constexpr std::string_view kNoise = "NoiseLevelObserved";
constexpr std::string_view kWaste = "WasteContainer";
constexpr std::string_view kSpot = "ParkingSpot";
constexpr std::string_view kGarage = "OffStreetParking";
constexpr std::string_view kTypes[] = {kAirQuality, kNoise, kWaste, kSpot, kGarage};

constexpr std::string_view kEnvironmentContext =
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/"
    "context.jsonld";
constexpr std::string_view kWasteContext =
    "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/"
    "context.jsonld";
constexpr std::string_view kParkingContext =
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/context.jsonld";

constexpr NgsiAttributeMapping kMappings[] = {
    {"air_quality", "pm25", kAirQuality, "pm25", "GQ", 1},
    {"air_quality", "pm10", kAirQuality, "pm10", "GQ", 1},
    {"air_quality", "no2", kAirQuality, "no2", "GQ", 1},
    {"air_quality", "o3", kAirQuality, "o3", "GQ", 1},
    {"air_quality", "temperature", kAirQuality, "temperature", "CEL", 1},
    {"air_quality", "humidity", kAirQuality, "relativeHumidity", "C62", 100},
    {"noise", "laeq", kNoise, "LAeq", "2N", 1},
    {"noise", "lamax", kNoise, "LAmax", "2N", 1},
    {"noise", "la90", kNoise, "LA90", "2N", 1},
    {"waste_bin", "fill_level", kWaste, "fillingLevel", "C62", 100},
    {"waste_bin", "temperature", kWaste, "temperature", "CEL", 1},
    {"parking", "free_spots", kGarage, "availableSpotNumber", "", 1},
    {"parking", "total_spots", kGarage, "totalSpotNumber", "", 1},
};

// One attribute of an entity, before the representation is chosen.
struct Attribute {
  enum class Kind { Property, GeoProperty, Relationship };
  std::string name;
  Kind kind = Kind::Property;
  Json value;
  std::string unit_code;
  std::optional<core::TimestampMs> observed_at;
};

bool has_tag(const StreamSummary& stream, std::string_view tag) {
  return stream.tags &&
         std::find(stream.tags->begin(), stream.tags->end(), tag) != stream.tags->end();
}

// Characters outside [A-Za-z0-9._-] percent-encoded, so a zone can sit in a URN.
std::string urn_part(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '_' || c == '-') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

Attribute property(std::string name, Json value, core::TimestampMs at, std::string unit = {}) {
  return {std::move(name), Attribute::Kind::Property, std::move(value), std::move(unit), at};
}

const double* number_of(const core::Reading& reading, std::string_view name) {
  const core::Measurement* m = reading.find(name);
  return m ? std::get_if<double>(&m->value) : nullptr;
}
const bool* flag_of(const core::Reading& reading, std::string_view name) {
  const core::Measurement* m = reading.find(name);
  return m ? std::get_if<bool>(&m->value) : nullptr;
}

// The attributes one reading gives an entity of `type`: the mapped measurements and the status
// derived from them. `for_entity` adds `unknown` statuses (an entity needs one; a temporal
// series only has what was observed).
std::vector<Attribute> observed_attributes(std::string_view type, const core::Reading& reading,
                                           bool for_entity) {
  std::vector<Attribute> out;
  const core::TimestampMs ts = reading.ts;
  for (const NgsiAttributeMapping& map : kMappings) {
    if (map.type != type || map.kind != reading.kind) continue;
    const double* value = number_of(reading, map.measurement);
    if (value == nullptr) continue;
    out.push_back(
        property(std::string(map.attribute), *value / map.divisor, ts, std::string(map.unit_code)));
  }
  if (type == kWaste) {
    const bool* tilted = flag_of(reading, "tilted");
    if (tilted || for_entity) {
      out.push_back(property("status", tilted ? (*tilted ? "dropped" : "ok") : "unknown", ts));
    }
  } else if (type == kSpot) {
    const bool* occupied = flag_of(reading, "occupied");
    if (occupied || for_entity) {
      out.push_back(
          property("status", occupied ? (*occupied ? "occupied" : "free") : "unknown", ts));
    }
  } else if (type == kGarage) {
    const double* free = number_of(reading, "free_spots");
    const double* total = number_of(reading, "total_spots");
    if (free && total && *free <= *total) {
      out.push_back(property("occupiedSpotNumber", *total - *free, ts));
      if (*total > 0) out.push_back(property("occupancy", (*total - *free) / *total, ts));
    }
    if (free) {
      out.push_back(property("status", Json::array({*free > 0 ? "spacesAvailable" : "full"}), ts));
    }
  }
  return out;
}

std::vector<Attribute> entity_attributes(std::string_view type, const StreamSummary& stream) {
  std::vector<Attribute> out;
  if (stream.name && !stream.name->empty()) {
    out.push_back({"name", Attribute::Kind::Property, *stream.name, "", std::nullopt});
  }
  if (const auto& latest = stream.latest) {
    const std::string ts = core::format_rfc3339(latest->ts);
    if (type == kAirQuality) {
      out.push_back({"dateObserved", Attribute::Kind::Property, ts, "", std::nullopt});
    } else if (type == kNoise) {
      out.push_back({"dateObservedFrom", Attribute::Kind::Property, ts, "", std::nullopt});
      out.push_back({"dateObservedTo", Attribute::Kind::Property, ts, "", std::nullopt});
    }
    for (Attribute& a : observed_attributes(type, *latest, true)) out.push_back(std::move(a));
  } else if (type == kWaste || type == kSpot) {
    out.push_back({"status", Attribute::Kind::Property, "unknown", "", std::nullopt});
  }
  if (type == kSpot) {
    const bool off_street = has_tag(stream, "garage") || has_tag(stream, "offStreet");
    out.push_back({"category", Attribute::Kind::Property,
                   Json::array({off_street ? "offStreet" : "onStreet"}), "", std::nullopt});
    const std::string site =
        stream.zone && !stream.zone->empty() ? urn_part(*stream.zone) : stream.id;
    out.push_back({"refParkingSite", Attribute::Kind::Relationship,
                   ngsi_entity_id(off_street ? "OffStreetParking" : "OnStreetParking", site), "",
                   std::nullopt});
  }
  if (stream.location) {
    out.push_back({"location", Attribute::Kind::GeoProperty, detail::point_json(*stream.location),
                   "", std::nullopt});
  }
  out.push_back({"refDevice", Attribute::Kind::Relationship, ngsi_entity_id("Device", stream.id),
                 "", std::nullopt});
  return out;
}

bool wanted(const std::vector<std::string>& attrs, std::string_view name) {
  return attrs.empty() || std::find(attrs.begin(), attrs.end(), name) != attrs.end();
}

// The attribute as one instance in normalized or concise form (`typed`: normalized).
Json instance(const Attribute& a, bool typed) {
  Json out = Json::object();
  switch (a.kind) {
    case Attribute::Kind::Property:
      if (typed) out["type"] = "Property";
      out["value"] = a.value;
      break;
    case Attribute::Kind::GeoProperty:
      if (!typed) return a.value;  // concise: the geometry itself
      out["type"] = "GeoProperty";
      out["value"] = a.value;
      break;
    case Attribute::Kind::Relationship:
      if (typed) out["type"] = "Relationship";
      out["object"] = a.value;
      break;
  }
  if (a.observed_at) out["observedAt"] = core::format_rfc3339(*a.observed_at);
  if (!a.unit_code.empty()) out["unitCode"] = a.unit_code;
  return out;
}

Json context_json(std::string_view type) {
  return Json::array({ngsi_domain_context(type), kNgsiCoreContext});
}

Json entity_json(std::string_view type, const StreamSummary& stream, const NgsiOptions& options) {
  Json out = {{"id", ngsi_entity_id(type, stream.id)}, {"type", type}};
  for (const Attribute& a : entity_attributes(type, stream)) {
    if (!wanted(options.attrs, a.name)) continue;
    out[a.name] = options.form == NgsiForm::KeyValues
                      ? a.value
                      : instance(a, options.form == NgsiForm::Normalized);
  }
  if (options.context_in_body) out["@context"] = context_json(type);
  return out;
}

}  // namespace

std::span<const NgsiAttributeMapping> ngsi_attribute_mappings() { return kMappings; }

std::span<const std::string_view> ngsi_types() { return kTypes; }

std::vector<std::string_view> ngsi_types_of_kind(std::string_view kind) {
  if (kind == "air_quality") return {kAirQuality};
  if (kind == "noise") return {kNoise};
  if (kind == "waste_bin") return {kWaste};
  if (kind == "parking") return {kSpot, kGarage};
  return {};
}

std::optional<std::string_view> ngsi_type(const StreamSummary& stream) {
  if (stream.kind == "parking") {
    const bool counts = stream.latest && (stream.latest->find("free_spots") != nullptr ||
                                          stream.latest->find("total_spots") != nullptr);
    return counts ? kGarage : kSpot;
  }
  const auto types = ngsi_types_of_kind(stream.kind);
  if (types.empty()) return std::nullopt;
  return types.front();
}

std::string ngsi_entity_id(std::string_view type, std::string_view sensor_id) {
  std::string out = "urn:ngsi-ld:";
  out += type;
  out += ':';
  out += sensor_id;
  return out;
}

std::optional<NgsiEntityRef> parse_ngsi_entity_id(std::string_view id) {
  constexpr std::string_view kPrefix = "urn:ngsi-ld:";
  if (!id.starts_with(kPrefix)) return std::nullopt;
  id.remove_prefix(kPrefix.size());
  const auto colon = id.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view type = id.substr(0, colon);
  if (std::find(std::begin(kTypes), std::end(kTypes), type) == std::end(kTypes)) {
    return std::nullopt;
  }
  const std::string_view sensor = id.substr(colon + 1);
  if (!core::is_valid_sensor_id(sensor)) return std::nullopt;
  return NgsiEntityRef{std::string(type), std::string(sensor)};
}

std::string_view ngsi_domain_context(std::string_view type) {
  if (type == kWaste) return kWasteContext;
  if (type == kSpot || type == kGarage) return kParkingContext;
  return kEnvironmentContext;
}

std::string ngsi_link_context(std::string_view context) {
  return "<" + std::string(context) +
         ">; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"";
}

std::vector<std::string> ngsi_attribute_names(const StreamSummary& stream) {
  std::vector<std::string> out;
  if (const auto type = ngsi_type(stream)) {
    for (const Attribute& a : entity_attributes(*type, stream)) out.push_back(a.name);
  }
  return out;
}

std::string ngsi_entity(const StreamSummary& stream, const NgsiOptions& options) {
  const auto type = ngsi_type(stream);
  return detail::dump(type ? entity_json(*type, stream, options) : Json::object());
}

std::string ngsi_entities(std::span<const StreamSummary> streams, const NgsiOptions& options) {
  Json out = Json::array();
  for (const StreamSummary& stream : streams) {
    if (const auto type = ngsi_type(stream)) out.push_back(entity_json(*type, stream, options));
  }
  return detail::dump(out);
}

std::string ngsi_temporal_entity(const StreamSummary& stream,
                                 std::span<const core::Reading> readings,
                                 const NgsiTemporalOptions& options) {
  const auto type = ngsi_type(stream);
  if (!type) return "{}";
  Json out = {{"id", ngsi_entity_id(*type, stream.id)}, {"type", *type}};
  // Attribute name → its instances, in the order the names first appear.
  std::vector<std::pair<std::string, Json>> series;
  for (const core::Reading& reading : readings) {
    for (const Attribute& a : observed_attributes(*type, reading, false)) {
      if (!wanted(options.attrs, a.name)) continue;
      auto it = std::find_if(series.begin(), series.end(),
                             [&](const auto& entry) { return entry.first == a.name; });
      if (it == series.end()) {
        series.emplace_back(a.name, options.form == NgsiTemporalForm::TemporalValues
                                        ? Json{{"type", "Property"}, {"values", Json::array()}}
                                        : Json::array());
        it = std::prev(series.end());
      }
      if (options.form == NgsiTemporalForm::TemporalValues) {
        it->second["values"].push_back(Json::array({a.value, core::format_rfc3339(reading.ts)}));
      } else {
        it->second.push_back(instance(a, options.form == NgsiTemporalForm::Normalized));
      }
    }
  }
  for (auto& [name, value] : series) out[name] = std::move(value);
  if (options.context_in_body) out["@context"] = context_json(*type);
  return detail::dump(out);
}

}  // namespace databroker::codecs
