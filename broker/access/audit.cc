#include "broker/access/audit.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

namespace databroker::access {

namespace {

using core::ErrorCode;
using core::fail;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kComponent = "audit";
// RFC 3339 as core formats and parses it covers years 1970 to 9999.
constexpr core::TimestampMs kMinRfc3339Ms = 0;
constexpr core::TimestampMs kMaxRfc3339Ms = 253'402'300'799'999;
// Stored records read per store scan while a query filters by profile.
constexpr std::size_t kFilteredScanChunk = 256;
constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;
constexpr std::size_t kCursorHalf = 16;

bool is_rfc3339_range(core::TimestampMs ts) { return ts >= kMinRfc3339Ms && ts <= kMaxRfc3339Ms; }

std::string ts_text(core::TimestampMs ts) {
  return is_rfc3339_range(ts) ? core::format_rfc3339(ts) : std::to_string(ts);
}

// The cursor is the key of the last record examined, as 32 hex digits: the time with its sign
// bit flipped, then the sequence. Opaque to clients; checked strictly on the way back in.
std::string encode_cursor(log::AuditKey key) {
  char buffer[2 * kCursorHalf + 1];
  std::snprintf(buffer, sizeof buffer, "%016llx%016llx",
                static_cast<unsigned long long>(static_cast<std::uint64_t>(key.ts) ^ kSignBit),
                static_cast<unsigned long long>(key.seq));
  return buffer;
}

std::optional<std::uint64_t> parse_hex64(std::string_view text) {
  if (text.size() != kCursorHalf || !std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<log::AuditKey> decode_cursor(std::string_view cursor) {
  if (cursor.size() != 2 * kCursorHalf) {
    return std::nullopt;
  }
  auto ts = parse_hex64(cursor.substr(0, kCursorHalf));
  auto seq = parse_hex64(cursor.substr(kCursorHalf));
  if (!ts || !seq) {
    return std::nullopt;
  }
  return log::AuditKey{static_cast<core::TimestampMs>(*ts ^ kSignBit), *seq};
}

core::Result<std::string> string_field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) {
    return std::string();
  }
  if (!it->is_string()) {
    return fail(ErrorCode::InvalidArgument, std::string("\"") + name + "\" is not a string");
  }
  return it->get<std::string>();
}

core::Result<std::uint64_t> count_field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) {
    return std::uint64_t{0};
  }
  if (!it->is_number_unsigned()) {
    return fail(ErrorCode::InvalidArgument,
                std::string("\"") + name + "\" is not a non-negative integer");
  }
  return it->get<std::uint64_t>();
}

core::Result<AuditRecord> parse_object(const Json& json) {
  if (!json.is_object()) {
    return fail(ErrorCode::InvalidArgument, "an audit record is a JSON object");
  }
  AuditRecord record;
  auto ts = json.find("ts");
  if (ts == json.end()) {
    return fail(ErrorCode::InvalidArgument, "\"ts\" is missing");
  }
  if (ts->is_string()) {
    auto parsed = core::parse_rfc3339(ts->get_ref<const std::string&>());
    if (!parsed) {
      return fail(ErrorCode::InvalidArgument, "\"ts\" is not an RFC 3339 time");
    }
    record.ts = *parsed;
  } else if (ts->is_number_integer() &&
             !(ts->is_number_unsigned() &&
               ts->get<std::uint64_t>() >
                   static_cast<std::uint64_t>(std::numeric_limits<core::TimestampMs>::max()))) {
    record.ts = ts->get<core::TimestampMs>();
  } else {
    return fail(ErrorCode::InvalidArgument, "\"ts\" is neither a time nor epoch milliseconds");
  }

  struct Text {
    const char* name;
    std::string* into;
  };
  for (const Text& text : {Text{"kind", &record.kind}, Text{"key_id", &record.key_id},
                           Text{"profile", &record.profile}, Text{"action", &record.action},
                           Text{"detail", &record.detail}}) {
    auto value = string_field(json, text.name);
    if (!value) {
      return tl::unexpected(std::move(value.error()));
    }
    *text.into = std::move(*value);
  }
  if (record.kind.empty()) {
    return fail(ErrorCode::InvalidArgument, "\"kind\" is missing or empty");
  }
  if (auto streams = json.find("streams"); streams != json.end()) {
    if (!streams->is_array()) {
      return fail(ErrorCode::InvalidArgument, "\"streams\" is not an array");
    }
    record.streams.reserve(streams->size());
    for (const Json& stream : *streams) {
      if (!stream.is_string()) {
        return fail(ErrorCode::InvalidArgument, "\"streams\" holds something else than strings");
      }
      record.streams.push_back(stream.get<std::string>());
    }
  }
  auto readings = count_field(json, "readings");
  if (!readings) {
    return tl::unexpected(std::move(readings.error()));
  }
  record.readings = *readings;
  auto omitted = count_field(json, "streams_omitted");
  if (!omitted) {
    return tl::unexpected(std::move(omitted.error()));
  }
  record.streams_omitted = *omitted;
  return record;
}

std::string key_text(log::AuditKey key) { return ts_text(key.ts) + " #" + std::to_string(key.seq); }

}  // namespace

std::string to_json_line(const AuditRecord& record) {
  OrderedJson json;
  if (is_rfc3339_range(record.ts)) {
    json["ts"] = core::format_rfc3339(record.ts);
  } else {
    json["ts"] = record.ts;
  }
  json["kind"] = record.kind;
  json["key_id"] = record.key_id;
  json["profile"] = record.profile;
  json["action"] = record.action;
  json["streams"] = record.streams;
  json["readings"] = record.readings;
  json["detail"] = record.detail;
  if (record.streams_omitted != 0) {
    json["streams_omitted"] = record.streams_omitted;
  }
  // Replace, not throw: a route or a detail may carry bytes that are not UTF-8, and the record
  // must still be kept.
  return json.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

core::Result<AuditRecord> parse_audit_record(std::string_view json) {
  // The one place JSON exceptions of this module are caught; parsing itself reports through
  // a discarded value.
  try {
    Json parsed = Json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return fail(ErrorCode::InvalidArgument, "an audit record is not valid JSON");
    }
    return parse_object(parsed);
  } catch (const Json::exception& e) {
    return fail(ErrorCode::InvalidArgument, std::string("an audit record: ") + e.what());
  }
}

void append_csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') {
      out.push_back('"');
    }
    out.push_back(c);
  }
  out.push_back('"');
}

std::string to_csv_row(const AuditRecord& record) {
  std::string streams;
  for (const std::string& stream : record.streams) {
    if (!streams.empty()) {
      streams.push_back(' ');
    }
    streams.append(stream);
  }
  const std::string ts = ts_text(record.ts);
  const std::string readings = std::to_string(record.readings);
  const std::string omitted = std::to_string(record.streams_omitted);
  const std::string_view fields[] = {
      ts,      record.kind, record.key_id, record.profile, record.action,
      streams, readings,    record.detail, omitted};
  std::string out;
  for (std::size_t i = 0; i < std::size(fields); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    append_csv_field(out, fields[i]);
  }
  out.append("\r\n");
  return out;
}

AuditTrail::AuditTrail(log::AuditStore& store, const core::Clock& clock, AuditTrailOptions options)
    : store_(store), clock_(clock), options_(options) {
  // Started last: the writer uses every member above.
  writer_ = std::thread([this] {
    // Nothing may leave a thread's entry function; what could (allocation failure) is fatal.
    try {
      run_writer();
    } catch (const std::exception& e) {
      core::log_error(kComponent, std::string("audit writer failed: ") + e.what());
      std::abort();
    }
  });
}

AuditTrail::~AuditTrail() { stop(); }

bool AuditTrail::record(AuditRecord record) {
  if (record.ts == 0) {
    record.ts = clock_.now_ms();
  }
  if (record.streams.size() > kMaxAuditStreams) {
    record.streams_omitted += record.streams.size() - kMaxAuditStreams;
    record.streams.resize(kMaxAuditStreams);
  }
  const bool admin = record.kind == kAuditAdmin;
  const std::size_t bound = options_.queue_capacity + (admin ? options_.admin_reserve : 0);
  std::unique_lock lock(mutex_);
  bool room = !stopping_ && queued_ < bound;
  if (!room && admin && !stopping_ && options_.admin_wait.count() > 0) {
    // Admin actions are rare and run off the read path; a short wait beats losing one.
    room = has_room_.wait_for(lock, options_.admin_wait, [&] {
      return stopping_ || queued_ < bound;
    }) && !stopping_;
  }
  if (!room) {
    const bool stopped = stopping_;
    lock.unlock();
    // Count before logging: a full queue must show in /metrics even when the log is quiet.
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    if (admin) {
      counters_.dropped_admin.fetch_add(1, std::memory_order_relaxed);
      core::log_error(kComponent,
                      std::string(stopped ? "audit trail stopped" : "audit queue full") +
                          "; admin record not stored: " + to_json_line(record));
    } else {
      // A constant message: the drop path allocates nothing; the count is in /metrics.
      drop_log_.warn(kComponent, stopped ? "stopped" : "queue_full",
                     stopped ? "audit trail stopped: read records are not recorded"
                             : "audit queue full: read records are dropped "
                               "(counted in /metrics)");
    }
    return false;
  }
  const bool was_empty = pending_.empty();
  pending_.push_back(std::move(record));
  ++queued_;
  ++accepted_;
  counters_.queued.store(queued_, std::memory_order_relaxed);
  counters_.recorded.fetch_add(1, std::memory_order_relaxed);
  lock.unlock();
  // The writer only sleeps on an empty queue.
  if (was_empty) {
    has_work_.notify_one();
  }
  return true;
}

void AuditTrail::run_writer() {
  std::vector<AuditRecord> taken;
  std::vector<log::AuditEntry> entries;
  entries.reserve(options_.batch_size);
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      has_work_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (!stopping_ && pending_.size() < options_.batch_size && options_.linger.count() > 0) {
        // record() notifies only an empty queue, so this sleeps the linger out unless stop() or
        // flush() wakes it: the queue bound still holds meanwhile.
        has_work_.wait_for(lock, options_.linger,
                           [&] { return stopping_ || flush_target_ > processed_; });
      }
      if (pending_.empty()) {
        return;  // stopping, and everything queued is written or given up
      }
      // A swap, so that both vectors keep their capacity: record() does not allocate once the
      // queue has been full once.
      taken.swap(pending_);
    }
    const std::size_t batch_size = std::max<std::size_t>(options_.batch_size, 1);
    for (std::size_t begin = 0; begin < taken.size(); begin += batch_size) {
      const std::size_t end = std::min(taken.size(), begin + batch_size);
      entries.clear();
      for (std::size_t i = begin; i < end; ++i) {
        entries.push_back({taken[i].ts, to_json_line(taken[i])});
      }
      const std::size_t count = end - begin;
      if (write_batch(entries)) {
        counters_.written.fetch_add(count, std::memory_order_relaxed);
      } else {
        counters_.lost.fetch_add(count, std::memory_order_relaxed);
        // Admin records must not vanish without a trace: the process log keeps them.
        for (std::size_t i = begin; i < end; ++i) {
          if (taken[i].kind == kAuditAdmin) {
            core::log_error(kComponent, "admin record not stored: " + entries[i - begin].bytes);
          }
        }
      }
      {
        std::lock_guard lock(mutex_);
        // The bound counts records until they are stored, so it covers the write in progress.
        queued_ -= count;
        processed_ += count;
        counters_.queued.store(queued_, std::memory_order_relaxed);
      }
      has_room_.notify_all();
      progressed_.notify_all();
    }
    taken.clear();
  }
}

bool AuditTrail::write_batch(std::vector<log::AuditEntry>& entries) {
  std::chrono::milliseconds pause = options_.retry_initial;
  for (;;) {
    auto status = store_.append(std::span<const log::AuditEntry>(entries));
    if (status) {
      return true;
    }
    counters_.write_failures.fetch_add(1, std::memory_order_relaxed);
    std::unique_lock lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (stopping_ && now >= stop_deadline_) {
      lock.unlock();
      core::log_error(kComponent, std::to_string(entries.size()) +
                                      " audit records lost at shutdown: " + status.error().message);
      return false;
    }
    lock.unlock();
    drop_log_.warn(kComponent, "write_failed",
                   "audit records not stored yet, retrying: " + status.error().message);
    lock.lock();
    // The store may come back (space freed); meanwhile the queue fills and read records are
    // dropped, counted. stop() cuts the pause short so that shutdown keeps to its grace.
    const bool was_stopping = stopping_;
    auto until = now + pause;
    if (stopping_) {
      until = std::min(until, stop_deadline_);
    }
    has_work_.wait_until(lock, until, [&] { return stopping_ != was_stopping; });
    pause = std::min(pause * 2, options_.retry_max);
  }
}

core::Status AuditTrail::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = accepted_;
  flush_target_ = std::max(flush_target_, target);
  has_work_.notify_all();
  if (progressed_.wait_for(lock, timeout, [&] { return processed_ >= target; })) {
    return core::ok();
  }
  return fail(ErrorCode::Unavailable, std::to_string(target - processed_) +
                                          " audit records are not written yet; the audit "
                                          "store keeps failing");
}

void AuditTrail::stop() {
  std::lock_guard stop_lock(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_ = std::chrono::steady_clock::now() + options_.stop_grace;
    }
  }
  has_work_.notify_all();
  has_room_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
}

core::Result<AuditPage> AuditTrail::query(const AuditQuery& query) const {
  if (query.limit == 0) {
    return fail(ErrorCode::InvalidArgument, "limit must be at least 1");
  }
  const std::size_t limit = std::min(query.limit, kMaxAuditQueryLimit);
  std::optional<log::AuditKey> after;
  if (!query.cursor.empty()) {
    after = decode_cursor(query.cursor);
    if (!after) {
      return fail(ErrorCode::InvalidArgument, "malformed audit cursor");
    }
  }
  // A budget below the limit would only shorten unfiltered pages.
  const std::size_t budget = std::max(options_.query_scan_budget, limit);
  const bool filtered = !query.profile.empty();

  AuditPage page;
  std::size_t examined = 0;
  bool exhausted = false;
  while (page.records.size() < limit && examined < budget) {
    const std::size_t want = filtered ? std::min(budget - examined, kFilteredScanChunk)
                                      : std::min(budget - examined, limit - page.records.size());
    auto scanned = store_.scan({.from = query.from, .to = query.to, .after = after, .limit = want});
    if (!scanned) {
      return tl::unexpected(std::move(scanned.error()));
    }
    std::size_t consumed = 0;
    for (log::StoredAuditEntry& entry : scanned->entries) {
      ++consumed;
      ++examined;
      after = entry.key;
      auto record = parse_audit_record(entry.bytes);
      if (!record) {
        return fail(ErrorCode::Corruption,
                    "audit record at " + key_text(entry.key) + ": " + record.error().message);
      }
      if (!filtered || record->profile == query.profile) {
        page.records.push_back(std::move(*record));
        if (page.records.size() == limit) {
          break;
        }
      }
    }
    if (consumed == scanned->entries.size() && !scanned->more) {
      exhausted = true;
      break;
    }
  }
  if (!exhausted) {
    page.next_cursor = after ? encode_cursor(*after) : query.cursor;
  }
  return page;
}

}  // namespace databroker::access
