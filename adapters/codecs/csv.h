// CSV (RFC 4180) for readings and streams: a header row, CRLF line ends, fields quoted when they
// hold '"', ',', CR or LF (a quote doubled).
//
// Columns are stable: readings have `seq,sensor,kind,ts,received_at,lat,lon`, then one column per
// measurement in the order the caller passes (the kind's schema order; `csv_union_columns` for a
// feed of several kinds), then `other_measurements`: the measurements no column names (those the
// kind does not declare), as a JSON object, empty when there are none. A measurement the reading
// lacks is an empty cell; booleans are `true`/`false`; times RFC 3339.
//
// Spreadsheet formula injection: a text cell that starts with '=', '+', '-', '@', TAB or CR (a
// sensor-supplied string, a name, an id) gets a leading apostrophe, so Excel and LibreOffice show
// it as text instead of evaluating it (OWASP's advice). Numbers the broker formats are never
// altered.
//
// Pure functions appending to the caller's buffer; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/codecs/stream_summary.h"
#include "broker/core/kinds.h"
#include "broker/core/reading.h"

namespace databroker::codecs {

inline constexpr std::string_view kCsvMediaType = "text/csv; charset=utf-8; header=present";

// The measurement columns for readings of several kinds: each kind's schema, kinds in the order
// given, a name shared by two kinds (temperature) once, where it first appears. Unknown kinds are
// skipped.
std::vector<std::string> csv_union_columns(const core::KindCatalog& kinds,
                                           std::span<const std::string> kind_names);

// The schema's measurement names, in order.
std::vector<std::string> csv_kind_columns(const core::SensorKind& kind);

void append_csv_readings_header(std::string& out, std::span<const std::string> measurements);
void append_csv_reading(std::string& out, const core::Reading& reading,
                        std::span<const std::string> measurements);

// Streams: `id,kind,class,name,zone,lat,lon,last_reading_at`, then the latest reading's values in
// `measurements` columns and `other_measurements`. A withheld name or zone is an empty cell.
void append_csv_streams_header(std::string& out, std::span<const std::string> measurements);
void append_csv_stream(std::string& out, const StreamSummary& stream,
                       std::span<const std::string> measurements);

// One text cell: the formula guard, then RFC 4180 quoting when needed.
void append_csv_text(std::string& out, std::string_view text);

}  // namespace databroker::codecs
