#include "broker/server/export.h"

#include <algorithm>
#include <vector>

#include "adapters/codecs/csv.h"
#include "adapters/codecs/native_json.h"

namespace databroker::server {

namespace {

// Large enough that RocksDB's iterator setup is amortised, small enough to bound memory.
constexpr std::size_t kPageReadings = 2'000;

}  // namespace

core::Result<std::uint64_t> export_stream(
    const log::ReadingLog& log, const core::KindCatalog& kinds, const ExportRequest& request,
    const std::function<bool(std::string_view)>& write,
    const std::function<void(const ExportProgress&)>& progress) {
  auto newest = log.latest(request.stream);
  if (!newest) return tl::unexpected(std::move(newest.error()));
  if (!*newest) {
    return core::fail(core::ErrorCode::NotFound, "stream '" + request.stream + "' has no readings");
  }
  std::vector<std::string> columns;
  if (const auto* kind = kinds.find((*newest)->kind)) columns = codecs::csv_kind_columns(*kind);

  std::string out;
  if (request.format == ExportFormat::Csv) {
    codecs::append_csv_readings_header(out, columns);
    if (!write(out))
      return core::fail(core::ErrorCode::Unavailable, "the export could not be written");
  }
  // Progress runs over observation time, from the first reading exported to the newest one.
  const core::TimestampMs end = std::min(request.to, (*newest)->ts + 1);
  std::optional<core::TimestampMs> start;

  log::StreamQuery query;
  query.sensor_id = request.stream;
  query.from = request.from;
  query.to = request.to;
  query.limit = kPageReadings;
  ExportProgress done;
  for (;;) {
    auto page = log.read_stream(query);
    if (!page) return tl::unexpected(std::move(page.error()));
    if (page->readings.empty()) break;
    out.clear();
    for (const auto& reading : page->readings) {
      if (request.format == ExportFormat::Csv) {
        codecs::append_csv_reading(out, reading, columns);
      } else {
        codecs::append_reading_json(out, reading);
        out.push_back('\n');
      }
    }
    if (!write(out))
      return core::fail(core::ErrorCode::Unavailable, "the export could not be written");
    const auto& last = page->readings.back();
    if (!start) start = page->readings.front().ts;
    done.readings += page->readings.size();
    done.fraction = end > *start ? std::clamp(static_cast<double>(last.ts - *start + 1) /
                                                  static_cast<double>(end - *start),
                                              0.0, 1.0)
                                 : 1.0;
    if (!page->more) done.fraction = 1.0;
    if (progress) progress(done);
    if (!page->more) break;
    query.after = log::StreamPosition{last.ts, last.seq};
  }
  return done.readings;
}

}  // namespace databroker::server
