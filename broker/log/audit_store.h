// The audit store: opaque audit records kept in time order beside the log, in the same database,
// so that one backup holds the data and the record of who took it.
//
// The store knows nothing about what a record says (broker/access encodes and decodes them); it
// keeps bytes under a key of (ts, seq): `ts` is the record's time, `seq` a sequence the store
// assigns, unique across processes (a per-open epoch in its high bits, a per-process counter in
// the rest), so that two records of the same millisecond never overwrite each other, not even
// after a restart behind a clock that stepped back.
//
// Durability, by design weaker than the reading log's: appends are not fsynced. When `append`
// returns, the records are in RocksDB's write-ahead log in the OS page cache: they survive a
// process crash, and a power loss once some later sync of the shared WAL happened: the next
// reading appended with Durability::Sync, or the close of the storage (with
// Durability::Buffered, like the readings: the close, or the OS writing back). An fsync of
// its own per audit batch would put a second fsync stream beside the ingest group commit on the
// same disk, for records whose loss on a power cut costs a few milliseconds of access history,
// not data.
//
// Threading: `append` may be called from any thread, but is meant for one writer (the audit
// trail's); `scan` and `drop_before` are safe from any thread at any time. All calls block on
// disk I/O: never call them from a network thread that must not wait.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::log {

// One record to append: its time and its encoded bytes (any bytes, empty included).
struct AuditEntry {
  core::TimestampMs ts = 0;
  std::string bytes{};
};

// Where a stored record sits: ordered by time, then by the store's sequence.
struct AuditKey {
  core::TimestampMs ts = 0;
  std::uint64_t seq = 0;
  auto operator<=>(const AuditKey&) const = default;
};

struct StoredAuditEntry {
  AuditKey key{};
  std::string bytes{};
};

struct AuditScan {
  core::TimestampMs from = INT64_MIN;  // inclusive
  core::TimestampMs to = INT64_MAX;    // exclusive
  std::optional<AuditKey> after{};     // resume strictly after this key
  std::size_t limit = 100;             // 0 returns no entries, only `more`
};

struct AuditScanPage {
  std::vector<StoredAuditEntry> entries{};  // ascending key
  bool more = false;                        // another entry exists within [from, to)
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Stores the batch atomically (all or none), each entry under a fresh key with its own ts;
  // entries of one batch get increasing seqs in batch order. An empty batch succeeds and stores
  // nothing. Unavailable when the storage refuses writes (disk full, closed); a later call
  // retries cleanly.
  virtual core::Status append(std::span<const AuditEntry> batch) = 0;

  // Entries with ts in [from, to), after `after` when given, in key order, at most `limit`.
  virtual core::Result<AuditScanPage> scan(const AuditScan& query) const = 0;

  // Retention: removes every entry with ts < cutoff (one range deletion; the space returns
  // through compaction, whole files at once where they lie entirely before the cutoff).
  virtual core::Status drop_before(core::TimestampMs cutoff) = 0;
};

}  // namespace databroker::log
