// The durable log: every accepted reading, in `seq` order, in RocksDB. RocksDB lives only in
// this module; everything else sees these interfaces.
//
// Invariants:
//  - `seq` is strictly increasing over all appended readings, starts at 1, and continues after a
//    restart (the next seq is one past the highest stored).
//  - `append` returns only once the batch is in the RocksDB write-ahead log: fsynced with
//    Durability::Sync, in the OS page cache with Durability::Buffered (survives a process crash,
//    not a power loss). A batch is written atomically: all of it or none.
//  - The log stores raw readings; policies apply at egress.
//
// Threading: `append` is called by one writer thread at a time (the ingest pipeline's group
// committer); reads may run concurrently from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"
#include "broker/log/audit_store.h"

namespace databroker::log {

using core::Reading;
using core::Result;
using core::Seq;
using core::Status;
using core::TimestampMs;

enum class Durability { Sync, Buffered };

struct LogOptions {
  std::string path;  // a directory; created if missing
  Durability durability = Durability::Sync;
  // Writes are refused (Unavailable) while the file system holding `path` has less free space
  // than this, and go through again once it has more; 0 turns the reserve off.
  std::uint64_t min_free_bytes = 0;
};

struct SeqRange {
  Seq first = 0;
  Seq last = 0;
};

// Position within one stream's history, ordered by observation time then seq. The HTTP layer
// turns it into an opaque cursor.
struct StreamPosition {
  TimestampMs ts = 0;
  Seq seq = 0;
  bool operator==(const StreamPosition&) const = default;
};

struct StreamQuery {
  std::string sensor_id;                  // not empty, no NUL (InvalidArgument otherwise)
  TimestampMs from = INT64_MIN;           // inclusive, observation time
  TimestampMs to = INT64_MAX;             // exclusive
  std::optional<StreamPosition> after{};  // resume strictly after this position
  std::size_t limit = 100;                // 0 returns no readings, only `more`
};

struct StreamPage {
  std::vector<Reading> readings{};  // oldest first
  bool more = false;                // another page exists within [from, to)
};

struct FeedPage {
  std::vector<Reading> readings{};  // ascending seq, only those `keep` accepted
  // Resume the feed after this seq (>= every returned seq); the given after_seq when nothing
  // was scanned.
  Seq last_scanned = 0;
};

// Small keyed records (sensor registry, cursors) stored beside the log in the same database, so
// that one backup holds everything. Namespaces keep modules apart: a namespace is not empty and
// holds no NUL (InvalidArgument otherwise); keys and values are any bytes. Writes use the log's
// durability. Safe to call from any thread.
class MetaStore {
 public:
  virtual ~MetaStore() = default;
  virtual Status put(std::string_view ns, std::string_view key, std::string_view value) = 0;
  // Nothing when the key is absent.
  virtual Result<std::optional<std::string>> get(std::string_view ns,
                                                 std::string_view key) const = 0;
  // Erasing an absent key succeeds.
  virtual Status erase(std::string_view ns, std::string_view key) = 0;
  // Every record of a namespace, ordered by key.
  virtual Result<std::vector<std::pair<std::string, std::string>>> scan(
      std::string_view ns) const = 0;
};

class ReadingLog {
 public:
  virtual ~ReadingLog() = default;

  // Assigns consecutive seqs and `received_at` (when still 0) to `batch` in place, writes it
  // atomically with the by-stream index, and returns the seq range. Unavailable when the
  // storage refuses writes (disk full, closed); nothing of the batch is stored then and the seq
  // counter does not advance, and `batch` is handed back unchanged. An empty batch, or a reading
  // whose sensor id is empty or holds NUL, is InvalidArgument.
  virtual Result<SeqRange> append(std::span<Reading> batch, TimestampMs received_at) = 0;

  // Highest seq stored, 0 for an empty log.
  virtual Seq last_seq() const = 0;

  // One reading by seq; NotFound when absent (never appended, or dropped by retention).
  virtual Result<Reading> get(Seq seq) const = 0;

  // One stream's readings with observation time in [from, to), oldest first, by (ts, seq).
  virtual Result<StreamPage> read_stream(const StreamQuery& query) const = 0;

  // The newest reading of a stream by observation time (ties: highest seq), if any.
  virtual Result<std::optional<Reading>> latest(std::string_view sensor_id) const = 0;

  // The cross-stream feed: readings with seq > after_seq in seq order, filtered by `keep`,
  // until `limit` are kept or `scan_budget` have been examined, whichever comes first. An empty
  // `keep` keeps everything; `keep` runs on the calling thread and must not throw.
  virtual Result<FeedPage> read_since(Seq after_seq, std::size_t limit,
                                      const std::function<bool(const Reading&)>& keep,
                                      std::size_t scan_budget) const = 0;

  // Retention: removes readings received before `cutoff` with their index entries. Returns how
  // many were removed. Safe to run while appends continue.
  virtual Result<std::uint64_t> drop_received_before(TimestampMs cutoff) = 0;

  // Retention of one stream (a policy rule's): removes the readings of `sensor_id` observed
  // before `cutoff_ts` (`ts < cutoff_ts`, observation time, unlike drop_received_before) with
  // their index entries, in batches, and returns how many. Other streams are untouched. Safe to
  // run while appends continue: a reading appended meanwhile may be left for the next run.
  // Serialised with drop_received_before. A removed seq is never handed out again, not after a
  // restart either. InvalidArgument when `sensor_id` is empty or holds NUL.
  virtual Result<std::uint64_t> drop_stream_before(std::string_view sensor_id,
                                                   TimestampMs cutoff_ts) = 0;

  // The first seq still stored (after either retention), 0 when empty.
  virtual Seq first_seq() const = 0;

  // Bytes the stored readings take, as the storage estimates them cheaply (for /metrics);
  // nullopt when the implementation cannot tell.
  virtual std::optional<std::uint64_t> size_bytes() const { return std::nullopt; }

  // Whether an append now would reach the disk (Storage::writable); the ingest pipeline refuses
  // new batches while it is false, so MQTT holds its deliveries back instead of losing them.
  virtual bool writable() const { return true; }
};

// The RocksDB-backed log and meta store, one database. Opening recovers the seq counter.
// Destroying it closes the database (syncing the WAL first with Durability::Buffered); the
// log() and meta() references die with it, so nothing may be using them then.
class Storage {
 public:
  virtual ~Storage() = default;
  virtual ReadingLog& log() = 0;
  virtual MetaStore& meta() = 0;
  // The audit records, in the same database (broker/log/audit_store.h); dies with the storage.
  virtual AuditStore& audit() = 0;
  // Flushes memtables so a clean shutdown leaves nothing to replay.
  virtual Status flush() = 0;
  // False while a write would be refused: below LogOptions::min_free_bytes of free space (until
  // there is more again), or for good once a write failed on the disk (a restart, with space
  // back, makes the storage writable again). Reads go on either way.
  virtual bool writable() const = 0;
  // Writes a consistent copy of the whole database (readings, index, meta, audit) to
  // `directory`, which must not exist yet, while appends go on: a RocksDB checkpoint, hard links
  // where `directory` is on the same file system, copies otherwise. It holds at least every
  // reading up to the returned seq (the last seq stored when the checkpoint began). The copy
  // opens with open_rocksdb_storage like any data directory. Conflict when `directory` exists,
  // Unavailable when it cannot be written.
  virtual Result<Seq> checkpoint(const std::string& directory) = 0;
};

// Opens (creating if needed) the database at options.path. Fails with Unavailable when another
// process holds it (RocksDB's LOCK), Corruption when it cannot be recovered.
Result<std::unique_ptr<Storage>> open_rocksdb_storage(const LogOptions& options);

// True for open_rocksdb_storage's error when the database is open elsewhere (a running broker).
bool is_in_use(const core::Error& error);

}  // namespace databroker::log
