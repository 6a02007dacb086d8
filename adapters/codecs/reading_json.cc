#include <charconv>
#include <cmath>

#include "adapters/codecs/native_json.h"
#include "broker/core/logging.h"
#include "broker/core/time.h"

namespace databroker::codecs {

void append_json_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";  // unreachable for validated readings; JSON has no NaN
    return;
  }
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, ec == std::errc() ? end : buffer);
}

namespace {

void append_string(std::string& out, std::string_view text) {
  out += '"';
  core::append_json_escaped(out, text);
  out += '"';
}

void append_uint(std::string& out, std::uint64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

}  // namespace

void append_reading_json(std::string& out, const core::Reading& reading) {
  out += "{\"seq\":";
  append_uint(out, reading.seq);
  out += ",\"sensor\":";
  append_string(out, reading.sensor_id);
  out += ",\"kind\":";
  append_string(out, reading.kind);
  out += ",\"ts\":\"";
  out += core::format_rfc3339(reading.ts);
  out += "\",\"received_at\":\"";
  out += core::format_rfc3339(reading.received_at);
  out += "\",\"values\":{";
  bool first = true;
  bool any_unknown = false;
  for (const auto& m : reading.values) {
    if (!first) out += ',';
    first = false;
    any_unknown |= !m.known;
    append_string(out, m.name);
    out += ':';
    if (const double* number = std::get_if<double>(&m.value)) {
      append_json_number(out, *number);
    } else if (const bool* flag = std::get_if<bool>(&m.value)) {
      out += *flag ? "true" : "false";
    } else {
      append_string(out, std::get<std::string>(m.value));
    }
  }
  out += '}';
  if (any_unknown) {
    // Flagged, not hidden: consumers see which names the kind's schema does not know.
    out += ",\"unknown_measurements\":[";
    first = true;
    for (const auto& m : reading.values) {
      if (m.known) continue;
      if (!first) out += ',';
      first = false;
      append_string(out, m.name);
    }
    out += ']';
  }
  if (reading.location) {
    out += ",\"location\":{\"lat\":";
    append_json_number(out, reading.location->lat);
    out += ",\"lon\":";
    append_json_number(out, reading.location->lon);
    if (reading.location->alt) {
      out += ",\"alt\":";
      append_json_number(out, *reading.location->alt);
    }
    out += '}';
  }
  out += '}';
}

std::string reading_json(const core::Reading& reading) {
  std::string out;
  out.reserve(256);
  append_reading_json(out, reading);
  return out;
}

}  // namespace databroker::codecs
