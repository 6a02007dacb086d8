// The audit trail: every read of shared data and every admin action leaves a record, kept in
// the database beside the log (log::AuditStore), queryable by time and profile, exportable as
// JSON lines or CSV.
//
// Invariant: recording never slows or blocks the read path. `record()` only stamps the time and
// moves the record into a bounded in-memory queue; a background writer encodes the records
// (JSON, one line each) and appends them in batches. When the queue is full a read record is
// dropped, counted and logged (rate-limited): an overloaded or failing store costs audit
// records, never answers. Admin records are rare and must not be lost, so they get room of
// their own (`admin_reserve`) that read records cannot fill; only when that is full too (the
// store has been failing for a while) does `record()` wait for room, up to `admin_wait`, and a
// record still refused then is written to the process log in full, at error level, instead.
//
// What is lost, and when: records still queued at a crash (milliseconds' worth under load);
// records the store refused until `stop()` gave up (counted in `lost`); and, on a power cut,
// what the store had not yet fsynced (see broker/log/audit_store.h). Every loss a running
// process sees is counted (`dropped`, `lost`).
//
// Threading: `record()` is safe from any thread (network threads included); for a read record
// it never waits for the store, only for a mutex that is held for a push or a swap. `query()` reads
// the store on the calling thread (disk I/O; bounded by the limit and a scan budget). `flush()`,
// `stop()` and the destructor are for the owner. Counters are atomics, readable from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "broker/core/logging.h"
#include "broker/core/reading.h"
#include "broker/core/result.h"
#include "broker/core/time.h"
#include "broker/log/audit_store.h"

namespace databroker::access {

inline constexpr std::string_view kAuditRead = "read";
inline constexpr std::string_view kAuditAdmin = "admin";
// A record names at most this many streams; record() keeps the first ones and counts the rest
// in `streams_omitted`, so that one record of a huge listing cannot swell the queue.
inline constexpr std::size_t kMaxAuditStreams = 1000;
// query() returns at most this many records per page.
inline constexpr std::size_t kMaxAuditQueryLimit = 1000;

// One audited event. A plain value.
struct AuditRecord {
  core::TimestampMs ts = 0;  // 0: record() stamps the clock's time
  std::string kind{};        // kAuditRead or kAuditAdmin
  std::string key_id{};      // the acting key's id (never a key); empty for anonymous callers
  std::string profile{};     // the acting profile
  // The route template or admin action: "GET /v1/streams/{id}/readings", "key.create",
  // "key.revoke", "policy.reload".
  std::string action{};
  std::vector<std::string> streams{};  // the streams read (sensor ids)
  std::uint64_t readings = 0;          // readings handed out
  std::string detail{};                // free text: the key created, the policy version, ...
  std::uint64_t streams_omitted = 0;   // streams beyond kMaxAuditStreams, not listed

  bool operator==(const AuditRecord&) const = default;
};

// One JSON object, no newline: {"ts":"2026-11-28T10:15:00.000Z","kind":…,"key_id":…,
// "profile":…,"action":…,"streams":[…],"readings":N,"detail":…} plus "streams_omitted" when
// not 0. `ts` is RFC 3339 in UTC with milliseconds (epoch milliseconds outside years
// 1970–9999). Bytes that are not UTF-8 become U+FFFD. This is also the stored form.
std::string to_json_line(const AuditRecord& record);

// The inverse of to_json_line; also accepts `ts` as epoch milliseconds and ignores unknown
// fields (records written by later versions). InvalidArgument for anything else, naming the
// problem; never throws.
core::Result<AuditRecord> parse_audit_record(std::string_view json);

// The CSV export (RFC 4180): a header line and one row per record, lines ending in CRLF. A
// field holding a comma, a double quote, CR or LF is quoted, its quotes doubled. `streams` is
// one field, ids separated by spaces (sensor ids hold none; a ';' would split the field in
// spreadsheets whose locale uses ';' as the separator). No formula neutralisation: fields are
// exported as stored.
inline constexpr std::string_view kAuditCsvHeader =
    "ts,kind,key_id,profile,action,streams,readings,detail,streams_omitted\r\n";
std::string to_csv_row(const AuditRecord& record);
// Appends one CSV field, quoted only when it must be.
void append_csv_field(std::string& out, std::string_view field);

struct AuditTrailOptions {
  std::size_t queue_capacity = 8192;  // records queued or being written, read records
  std::size_t admin_reserve = 256;    // room beyond queue_capacity that only admin records use
  std::chrono::milliseconds admin_wait{250};  // how long an admin record may wait for room
  std::size_t batch_size = 512;               // records per AuditStore::append
  // How long the writer lets records gather before a write that is smaller than a batch. Audit
  // records are not latency-sensitive; one write per read request would cost the read path.
  std::chrono::milliseconds linger{50};
  std::size_t query_scan_budget = 10'000;  // stored records one query() may examine
  // A failed append is retried after a pause that doubles from retry_initial up to retry_max.
  std::chrono::milliseconds retry_initial{50};
  std::chrono::milliseconds retry_max{5000};
  // How long stop() keeps retrying a failing store before it gives the rest up as lost.
  std::chrono::milliseconds stop_grace{5000};
};

// For /metrics. `recorded` = `written` + `lost` + queued, once the writer has caught up.
struct AuditCounters {
  std::atomic<std::uint64_t> recorded{0};        // accepted by record()
  std::atomic<std::uint64_t> written{0};         // stored
  std::atomic<std::uint64_t> dropped{0};         // refused by record(): queue full or stopped
  std::atomic<std::uint64_t> dropped_admin{0};   // of which admin records
  std::atomic<std::uint64_t> lost{0};            // accepted, then given up after write failures
  std::atomic<std::uint64_t> write_failures{0};  // failed AuditStore::append calls
  std::atomic<std::uint64_t> queued{0};          // queued or being written now (a gauge)
};

struct AuditQuery {
  core::TimestampMs from = INT64_MIN;  // inclusive
  core::TimestampMs to = INT64_MAX;    // exclusive
  std::string profile{};               // only this profile's records; empty: every profile
  std::size_t limit = 100;             // 1..kMaxAuditQueryLimit; larger is capped
  std::string cursor{};                // a previous page's next_cursor; empty: from `from`
};

struct AuditPage {
  std::vector<AuditRecord> records{};  // oldest first
  // Pass back (with the same from, to and profile) for the next page; empty when the range is
  // exhausted. A page may hold fewer than `limit` records, even none, and still have a cursor:
  // the scan budget ran out among other profiles' records.
  std::string next_cursor{};
};

class AuditTrail {
 public:
  // Starts the writer thread. `store` and `clock` must outlive the trail.
  AuditTrail(log::AuditStore& store, const core::Clock& clock, AuditTrailOptions options = {});
  // Stops (drains) if still running.
  ~AuditTrail();
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

  // Queues a record for writing and returns at once; true when queued. A read record finding
  // the queue full is dropped (false, counted, logged rate-limited). An admin record may use
  // the admin reserve and then waits up to `admin_wait` for room; refused, it is logged in
  // full at error level. After stop() every record is refused. Stamps `ts` when it is 0 and
  // caps `streams` at kMaxAuditStreams. Any thread.
  bool record(AuditRecord record);

  // Stored records with ts in [from, to) of the given profile, oldest first. Records still
  // queued are not seen (flush() first where that matters). InvalidArgument for a limit of 0
  // or a malformed cursor; Corruption for a stored record that does not parse; the store's
  // errors otherwise. Blocks on disk I/O; any thread.
  core::Result<AuditPage> query(const AuditQuery& query) const;

  // Waits until every record queued before the call is written (or given up). Unavailable when
  // `timeout` passes first (the store keeps failing); the records stay queued.
  core::Status flush(std::chrono::milliseconds timeout);

  // Refuses new records, writes everything queued (retrying a failing store for up to
  // `stop_grace`, then counting the rest as lost), joins the writer. Idempotent.
  void stop();

  const AuditCounters& counters() const { return counters_; }
  const AuditTrailOptions& options() const { return options_; }

 private:
  void run_writer();
  // Appends `entries`, retrying while the store fails; false when given up (stopping, past
  // stop_grace).
  bool write_batch(std::vector<log::AuditEntry>& entries);

  log::AuditStore& store_;
  const core::Clock& clock_;
  const AuditTrailOptions options_;
  AuditCounters counters_;
  core::RateLimitedLog drop_log_{std::chrono::seconds(10)};

  std::mutex mutex_;  // guards pending_ through stop_deadline_
  std::condition_variable has_work_;
  std::condition_variable has_room_;
  std::condition_variable progressed_;  // processed_ moved
  std::vector<AuditRecord> pending_;    // queued, not yet taken by the writer
  std::size_t queued_ = 0;              // pending_ plus what the writer took, not yet stored
  std::uint64_t accepted_ = 0;          // records ever queued
  std::uint64_t processed_ = 0;         // of which written or given up
  std::uint64_t flush_target_ = 0;      // flush() waits for processed_ to reach it: no lingering
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_{};

  std::mutex stop_mutex_;  // one stop() joins; the others wait for it
  std::thread writer_;
};

}  // namespace databroker::access
