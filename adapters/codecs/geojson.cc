#include "adapters/codecs/geojson.h"

#include "adapters/codecs/json_common.h"
#include "broker/core/time.h"

namespace databroker::codecs {

namespace {

using detail::Json;

Json geometry(const std::optional<core::Location>& location) {
  return location ? detail::point_json(*location) : Json(nullptr);
}

Json values_json(const std::vector<core::Measurement>& values) {
  Json out = Json::object();
  for (const core::Measurement& m : values) out[m.name] = detail::measurement_json(m.value);
  return out;
}

Json stream_feature(const StreamSummary& stream) {
  Json properties = {{"kind", stream.kind}, {"class", stream.stream_class}};
  if (stream.name) properties["name"] = *stream.name;
  if (stream.zone) properties["zone"] = *stream.zone;
  properties["last_reading_at"] =
      stream.latest ? Json(core::format_rfc3339(stream.latest->ts)) : Json(nullptr);
  Json measurements = Json::array();
  for (const core::MeasurementSpec& spec : stream.measurements) measurements.push_back(spec.name);
  properties["measurements"] = std::move(measurements);
  properties["values"] = stream.latest ? values_json(stream.latest->values) : Json(nullptr);
  return {{"type", "Feature"},
          {"id", stream.id},
          {"geometry", geometry(stream.location)},
          {"properties", std::move(properties)}};
}

Json reading_feature(const core::Reading& reading) {
  return {{"type", "Feature"},
          {"id", reading.seq},
          {"geometry", geometry(reading.location)},
          {"properties",
           {{"seq", reading.seq},
            {"sensor", reading.sensor_id},
            {"kind", reading.kind},
            {"ts", core::format_rfc3339(reading.ts)},
            {"received_at", core::format_rfc3339(reading.received_at)},
            {"values", values_json(reading.values)}}}};
}

Json collection(Json features) {
  return {{"type", "FeatureCollection"}, {"features", std::move(features)}};
}

}  // namespace

std::string geojson_stream(const StreamSummary& stream) {
  return detail::dump(stream_feature(stream));
}

std::string geojson_streams(std::span<const StreamSummary> streams) {
  Json features = Json::array();
  for (const StreamSummary& stream : streams) features.push_back(stream_feature(stream));
  return detail::dump(collection(std::move(features)));
}

std::string geojson_reading(const core::Reading& reading) {
  return detail::dump(reading_feature(reading));
}

std::string geojson_readings(std::span<const core::Reading> readings) {
  Json features = Json::array();
  for (const core::Reading& reading : readings) features.push_back(reading_feature(reading));
  return detail::dump(collection(std::move(features)));
}

}  // namespace databroker::codecs
