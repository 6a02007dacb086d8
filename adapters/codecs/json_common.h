// Internal to the codecs library: the nlohmann_json helpers the encoders share (GeoJSON,
// NGSI-LD, DCAT). Not a public header: nothing outside adapters/codecs/*.cc includes it.
//
// Strings come from sensors and stewards, so invalid UTF-8 is replaced (U+FFFD) on output instead
// of throwing; objects keep their members in insertion order.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "broker/core/reading.h"

namespace databroker::codecs::detail {

using Json = nlohmann::ordered_json;

inline std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline Json measurement_json(const core::MeasurementValue& value) {
  if (const double* number = std::get_if<double>(&value)) {
    return std::isfinite(*number) ? Json(*number) : Json(nullptr);
  }
  if (const bool* flag = std::get_if<bool>(&value)) return *flag;
  return std::get<std::string>(value);
}

// An RFC 7946 Point: [longitude, latitude(, altitude)].
inline Json point_json(const core::Location& location) {
  Json coordinates = Json::array({location.lon, location.lat});
  if (location.alt) coordinates.push_back(*location.alt);
  return {{"type", "Point"}, {"coordinates", std::move(coordinates)}};
}

}  // namespace databroker::codecs::detail
