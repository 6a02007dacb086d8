#include "adapters/codecs/csv.h"

#include <algorithm>

#include "adapters/codecs/native_json.h"
#include "broker/core/logging.h"
#include "broker/core/time.h"

namespace databroker::codecs {

namespace {

constexpr std::string_view kCrlf = "\r\n";

bool starts_formula(std::string_view text) {
  return !text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos;
}

void append_number(std::string& out, double value) { append_json_number(out, value); }

void append_value(std::string& out, const core::MeasurementValue& value) {
  if (const double* number = std::get_if<double>(&value)) {
    append_number(out, *number);
  } else if (const bool* flag = std::get_if<bool>(&value)) {
    out += *flag ? "true" : "false";
  } else {
    append_csv_text(out, std::get<std::string>(value));
  }
}

void append_location(std::string& out, const std::optional<core::Location>& location) {
  if (location) {
    append_number(out, location->lat);
    out += ',';
    append_number(out, location->lon);
  } else {
    out += ',';
  }
}

// The measurement cells and `other_measurements` of one reading.
void append_values(std::string& out, const std::vector<core::Measurement>& values,
                   std::span<const std::string> measurements) {
  for (const std::string& column : measurements) {
    out += ',';
    const auto it = std::find_if(values.begin(), values.end(),
                                 [&](const core::Measurement& m) { return m.name == column; });
    if (it != values.end()) append_value(out, it->value);
  }
  std::string other;
  for (const core::Measurement& m : values) {
    if (std::find(measurements.begin(), measurements.end(), m.name) != measurements.end()) {
      continue;
    }
    other += other.empty() ? '{' : ',';
    other += '"';
    core::append_json_escaped(other, m.name);
    other += "\":";
    if (const double* number = std::get_if<double>(&m.value)) {
      append_json_number(other, *number);
    } else if (const bool* flag = std::get_if<bool>(&m.value)) {
      other += *flag ? "true" : "false";
    } else {
      other += '"';
      core::append_json_escaped(other, std::get<std::string>(m.value));
      other += '"';
    }
  }
  if (!other.empty()) other += '}';
  out += ',';
  append_csv_text(out, other);
}

void append_columns(std::string& out, std::span<const std::string> measurements) {
  for (const std::string& name : measurements) {
    out += ',';
    append_csv_text(out, name);
  }
  out += ",other_measurements";
  out += kCrlf;
}

}  // namespace

std::vector<std::string> csv_kind_columns(const core::SensorKind& kind) {
  std::vector<std::string> out;
  for (const core::MeasurementSpec& spec : kind.measurements) out.push_back(spec.name);
  return out;
}

std::vector<std::string> csv_union_columns(const core::KindCatalog& kinds,
                                           std::span<const std::string> kind_names) {
  std::vector<std::string> out;
  for (const std::string& name : kind_names) {
    const core::SensorKind* kind = kinds.find(name);
    if (kind == nullptr) continue;
    for (const core::MeasurementSpec& spec : kind->measurements) {
      if (std::find(out.begin(), out.end(), spec.name) == out.end()) out.push_back(spec.name);
    }
  }
  return out;
}

void append_csv_text(std::string& out, std::string_view text) {
  std::string guarded;
  if (starts_formula(text)) {
    guarded = "'";
    guarded += text;
    text = guarded;
  }
  if (text.find_first_of("\",\r\n") == std::string_view::npos) {
    out += text;
    return;
  }
  out += '"';
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_csv_readings_header(std::string& out, std::span<const std::string> measurements) {
  out += "seq,sensor,kind,ts,received_at,lat,lon";
  append_columns(out, measurements);
}

void append_csv_reading(std::string& out, const core::Reading& reading,
                        std::span<const std::string> measurements) {
  out += std::to_string(reading.seq);
  out += ',';
  append_csv_text(out, reading.sensor_id);
  out += ',';
  append_csv_text(out, reading.kind);
  out += ',';
  out += core::format_rfc3339(reading.ts);
  out += ',';
  out += core::format_rfc3339(reading.received_at);
  out += ',';
  append_location(out, reading.location);
  append_values(out, reading.values, measurements);
  out += kCrlf;
}

void append_csv_streams_header(std::string& out, std::span<const std::string> measurements) {
  out += "id,kind,class,name,zone,lat,lon,last_reading_at";
  append_columns(out, measurements);
}

void append_csv_stream(std::string& out, const StreamSummary& stream,
                       std::span<const std::string> measurements) {
  append_csv_text(out, stream.id);
  out += ',';
  append_csv_text(out, stream.kind);
  out += ',';
  append_csv_text(out, stream.stream_class);
  out += ',';
  append_csv_text(out, stream.name.value_or(""));
  out += ',';
  append_csv_text(out, stream.zone.value_or(""));
  out += ',';
  append_location(out, stream.location);
  out += ',';
  if (stream.latest) out += core::format_rfc3339(stream.latest->ts);
  static const std::vector<core::Measurement> kNone;
  append_values(out, stream.latest ? stream.latest->values : kNone, measurements);
  out += kCrlf;
}

}  // namespace databroker::codecs
