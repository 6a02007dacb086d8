// GeoJSON (RFC 7946) for streams and readings: coordinates `[lon, lat]` (and altitude when the
// view lets it out), WGS 84.
//
// A stream is a Feature with `id` = the stream id, the stream's location (declared, else last
// reported, after the view), and properties `kind`, `class`, `name`, `zone` (absent when the view
// withholds them), `last_reading_at`, `measurements` (the names the caller may see) and `values`
// (the latest reading's). A reading is a Feature with `id` = its seq, its own location, and
// properties `seq`, `sensor`, `kind`, `ts`, `received_at`, `values`. Without a location the
// geometry is null, which RFC 7946 §3.2 allows, so a page keeps every reading and pagination
// stays exact.
//
// Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "adapters/codecs/stream_summary.h"
#include "broker/core/reading.h"

namespace databroker::codecs {

inline constexpr std::string_view kGeoJsonMediaType = "application/geo+json";

std::string geojson_stream(const StreamSummary& stream);
std::string geojson_streams(std::span<const StreamSummary> streams);
std::string geojson_reading(const core::Reading& reading);
std::string geojson_readings(std::span<const core::Reading> readings);

}  // namespace databroker::codecs
