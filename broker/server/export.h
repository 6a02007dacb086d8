// Exports of one stream's history for large extracts (`databroker export`): every reading with
// observation time in [from, to), oldest first, as CSV (the columns of GET .../readings?format=csv:
// adapters/codecs/csv.h) or JSON lines (one reading object per line, as the REST API serves it).
// Raw readings, before any policy view: exports are an operator's tool on the broker's own host.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "broker/core/kinds.h"
#include "broker/core/result.h"
#include "broker/log/reading_log.h"

namespace databroker::server {

enum class ExportFormat { Csv, Jsonl };

struct ExportRequest {
  std::string stream;
  core::TimestampMs from = INT64_MIN;  // inclusive
  core::TimestampMs to = INT64_MAX;    // exclusive
  ExportFormat format = ExportFormat::Csv;
};

struct ExportProgress {
  std::uint64_t readings = 0;  // written so far
  double fraction = 0;         // of the time range that holds readings, 0..1
};

// Writes the export through `write` (false: stop, the destination failed) page by page, calling
// `progress` after each page. Returns how many readings were written; NotFound when the stream
// has no reading at all, Unavailable when `write` failed.
core::Result<std::uint64_t> export_stream(
    const log::ReadingLog& log, const core::KindCatalog& kinds, const ExportRequest& request,
    const std::function<bool(std::string_view)>& write,
    const std::function<void(const ExportProgress&)>& progress);

}  // namespace databroker::server
