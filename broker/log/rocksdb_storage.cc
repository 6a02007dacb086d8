#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/status.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/utilities/table_properties_collectors.h>
#include <rocksdb/write_batch.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "broker/core/logging.h"
#include "broker/log/audit_store.h"
#include "broker/log/keys.h"
#include "broker/log/reading_log.h"
#include "broker/log/record_codec.h"

namespace databroker::log {
namespace {

using core::ErrorCode;
using core::fail;

constexpr std::string_view kComponent = "log";
constexpr const char* kReadingsColumn = "readings";
constexpr const char* kByStreamColumn = "by_stream";
constexpr const char* kMetaColumn = "meta";
constexpr const char* kAuditColumn = "audit";
// In the default column family, out of MetaStore's reach: the highest seq either retention
// removed, so that a log emptied by retention still continues its seqs after a restart.
constexpr std::string_view kDroppedThroughKey = "log.dropped_through";
// In the default column family: how many times the database was opened, the epoch that keeps
// audit keys of different processes apart.
constexpr std::string_view kAuditEpochKey = "audit.epoch";
// An audit seq is the open's epoch (low 20 bits of it) above a per-process counter of 44 bits:
// a million opens before epochs repeat, 1.7e13 records per process before the counter reaches
// the epoch bits.
constexpr int kAuditCounterBits = 44;
constexpr std::uint64_t kAuditEpochMask = (std::uint64_t{1} << (64 - kAuditCounterBits)) - 1;
constexpr std::size_t kAuditKeySize = 16;
constexpr std::size_t kRetentionBatch = 10'000;
// Deletion-triggered compaction: a file is compacted once some window of kDeletionWindow
// consecutive entries holds kDeletionTrigger tombstones.
constexpr std::size_t kDeletionWindow = std::size_t{16} * 1024;
constexpr std::size_t kDeletionTrigger = std::size_t{8} * 1024;

// How an open refused because another open holds the database starts (is_in_use()).
constexpr std::string_view kInUse = "the data directory is in use";

// The one place a rocksdb::Status becomes a core::Error. Write failures caused by the disk
// (full, failing, read-only after a background error) are Unavailable so that callers answer
// 503 and retry later; what can only be a misuse of RocksDB is Internal.
core::Error to_error(const rocksdb::Status& status, std::string_view what) {
  std::string message = std::string(what) + ": " + status.ToString();
  // RocksDB reports a held LOCK file as a plain IOError; these are the POSIX file system's
  // two wordings (another process, or this process opening the same directory twice).
  if (status.IsIOError() && (message.find("While lock file") != std::string::npos ||
                             message.find("lock hold by current process") != std::string::npos)) {
    return core::Error{ErrorCode::Unavailable,
                       std::string(kInUse) +
                           " (another process, or another open in this one, holds its LOCK); " +
                           message,
                       {}};
  }
  ErrorCode code = ErrorCode::Internal;
  if (status.IsNotFound()) {
    code = ErrorCode::NotFound;
  } else if (status.IsCorruption()) {
    code = ErrorCode::Corruption;
  } else if (status.IsIOError() || status.IsBusy() || status.IsTryAgain() || status.IsTimedOut() ||
             status.IsShutdownInProgress() || status.IsIncomplete()) {
    code = ErrorCode::Unavailable;
  }
  return core::Error{code, std::move(message), {}};
}

tl::unexpected<core::Error> failed(const rocksdb::Status& status, std::string_view what) {
  return tl::unexpected<core::Error>(to_error(status, what));
}

std::string seq_context(std::string_view what, Seq seq) {
  return std::string(what) + " " + std::to_string(seq);
}

// The database and its column families, shared by the log and the meta store. Owned by
// RocksDbStorage, which outlives both.
// RocksDB 7.8, as Debian builds it (with its assertions), aborts the process when a write hits
// the end of the disk in its write-ahead log: the failed writer is touched again within the
// same write, and by Resume() and Flush() after it (RocksDB PR 12448, in 9.x, stops that). So
// the gate keeps writes away from a full disk: below `min_free_bytes` of free space on the
// data directory's file system every write is refused here (IOError NoSpace, so callers answer
// 503), without reaching RocksDB, and writes resume by themselves once space is back. Should a
// write still fail with an I/O error (the disk filled faster than the reserve, a failing disk,
// a background flush that ran out of space), the gate closes for good: reads go on, and a
// restart reopens the database, recovering up to the last acknowledged write.
class WriteGate {
 public:
  void configure(std::string path, std::uint64_t min_free_bytes) {
    path_ = std::move(path);
    min_free_bytes_ = min_free_bytes;
  }

  // Whether a write now would be let through (for the pipeline, /readyz and /metrics).
  bool open() const { return !failed_.load(std::memory_order_acquire) && has_room(); }

  // Writes `batch`, unless the gate is closed or the disk is below the reserve.
  rocksdb::Status write(rocksdb::DB* db, const rocksdb::WriteOptions& options,
                        rocksdb::WriteBatch* batch) const {
    if (failed_.load(std::memory_order_acquire)) {
      return rocksdb::Status::IOError(
          "writes are refused since an earlier write failed on the disk: free space and restart "
          "the broker");
    }
    if (!has_room()) {
      return rocksdb::Status::NoSpace("less than storage.min_free_mb free on the data directory");
    }
    auto s = db->Write(options, batch);
    if (s.IsIOError() && !failed_.exchange(true, std::memory_order_acq_rel)) {
      core::log_error(kComponent, "a write failed (" + s.ToString() +
                                      "): the log refuses writes from now on and keeps serving "
                                      "reads; free space on the data directory and restart");
    }
    return s;
  }

 private:
  // Free space is read at most every kRecheck: the pipeline asks on every submit (each HTTP
  // request, each MQTT message), and a statvfs per reading would cost more than the check buys.
  // The reserve is far larger than what a few milliseconds of ingest can write.
  static constexpr std::int64_t kRecheckNanos = 50'000'000;

  // True when the reserve is off, free space cannot be read, or there is enough of it. Logs
  // each change, whichever caller sees it first.
  bool has_room() const {
    if (min_free_bytes_ == 0) return true;
    const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::int64_t checked = checked_at_.load(std::memory_order_acquire);
    if (now - checked < kRecheckNanos ||
        !checked_at_.compare_exchange_strong(checked, now, std::memory_order_acq_rel)) {
      return room_.load(std::memory_order_acquire);  // fresh, or another thread is checking
    }
    struct statvfs fs {};
    const bool room = ::statvfs(path_.c_str(), &fs) != 0 ||
                      static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize >= min_free_bytes_;
    if (room_.exchange(room, std::memory_order_acq_rel) != room) {
      if (room) {
        core::log_info(kComponent, "free space is back on " + path_ + ": writes resume");
      } else {
        core::log_warn(kComponent, "less than " + std::to_string(min_free_bytes_ >> 20) +
                                       " MiB free on the file system of " + path_ +
                                       " (storage.min_free_mb): writes are refused until there "
                                       "is more; reads go on");
      }
    }
    return room;
  }

  std::string path_;
  std::uint64_t min_free_bytes_ = 0;
  mutable std::atomic<bool> failed_{false};
  mutable std::atomic<bool> room_{true};
  // steady_clock nanoseconds of the last statvfs; far in the past, so the first call checks.
  mutable std::atomic<std::int64_t> checked_at_{std::numeric_limits<std::int64_t>::min() / 2};
};

struct Columns {
  rocksdb::DB* db = nullptr;
  WriteGate gate;
  rocksdb::ColumnFamilyHandle* default_cf = nullptr;
  rocksdb::ColumnFamilyHandle* readings = nullptr;
  rocksdb::ColumnFamilyHandle* by_stream = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* audit = nullptr;
  rocksdb::WriteOptions write_options;
  // Never synced: audit records ride on the next synced write of the shared WAL (see
  // audit_store.h for why).
  rocksdb::WriteOptions audit_write_options;
};

// Decodes a `readings` value and checks it belongs under the key it was found at.
Result<Reading> decode_stored(std::string_view value, Seq seq) {
  auto reading = decode_record(value);
  if (!reading) {
    reading.error().message = seq_context("reading", seq) + ": " + reading.error().message;
    return reading;
  }
  if (reading->seq != seq) {
    return fail(ErrorCode::Corruption, seq_context("record stored under seq", seq) +
                                           " says it is seq " + std::to_string(reading->seq));
  }
  return reading;
}

class RocksDbReadingLog final : public ReadingLog {
 public:
  RocksDbReadingLog(const Columns& columns, Seq last_seq, Seq first_kept, Seq dropped_through)
      : c_(columns),
        last_seq_(last_seq),
        first_kept_(first_kept),
        dropped_through_(dropped_through) {}

  Result<SeqRange> append(std::span<Reading> batch, TimestampMs received_at) override {
    if (batch.empty()) {
      return fail(ErrorCode::InvalidArgument, "cannot append an empty batch");
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!is_key_safe_name(batch[i].sensor_id)) {
        return fail(ErrorCode::InvalidArgument,
                    "reading " + std::to_string(i) + ": sensor id is empty or contains NUL");
      }
    }
    // A failed write that did not close the write gate may have left RocksDB read-only;
    // Resume() lets writes through again without a restart.
    if (needs_resume_.load(std::memory_order_relaxed) && c_.gate.open()) {
      if (auto s = c_.db->Resume(); !s.ok()) {
        return failed(s, "resuming writes after an earlier failure");
      }
      needs_resume_.store(false, std::memory_order_relaxed);
    }

    const Seq first = last_seq_.load(std::memory_order_relaxed) + 1;
    std::vector<bool> stamped(batch.size(), false);
    rocksdb::WriteBatch write;
    rocksdb::Status s;
    for (std::size_t i = 0; i < batch.size() && s.ok(); ++i) {
      Reading& reading = batch[i];
      reading.seq = first + i;
      if (reading.received_at == 0) {
        reading.received_at = received_at;
        stamped[i] = true;
      }
      s = write.Put(c_.readings, encode_seq_key(reading.seq), encode_record(reading));
      if (s.ok()) {
        s = write.Put(c_.by_stream, encode_stream_key(reading.sensor_id, reading.ts, reading.seq),
                      rocksdb::Slice());
      }
    }
    if (s.ok()) {
      s = c_.gate.write(c_.db, c_.write_options, &write);
    }
    if (!s.ok()) {
      // Nothing was stored: hand the batch back as it came, so a retry is a clean retry.
      for (std::size_t i = 0; i < batch.size(); ++i) {
        batch[i].seq = 0;
        if (stamped[i]) {
          batch[i].received_at = 0;
        }
      }
      needs_resume_.store(true, std::memory_order_relaxed);
      return failed(s, "appending " + std::to_string(batch.size()) + " readings");
    }
    const Seq last = first + batch.size() - 1;
    last_seq_.store(last, std::memory_order_release);
    return SeqRange{first, last};
  }

  bool writable() const override { return c_.gate.open(); }

  Seq last_seq() const override { return last_seq_.load(std::memory_order_acquire); }

  Seq first_seq() const override {
    // first_kept_ before last_seq_: both only grow, so a first_kept_ <= last_seq_ seen in this
    // order was a stored seq at some moment.
    const Seq first = first_kept_.load(std::memory_order_acquire);
    const Seq last = last_seq_.load(std::memory_order_acquire);
    return first <= last ? first : 0;
  }

  std::optional<std::uint64_t> size_bytes() const override {
    std::uint64_t total = 0;
    for (rocksdb::ColumnFamilyHandle* cf : {c_.readings, c_.by_stream}) {
      for (const char* property :
           {"rocksdb.total-sst-files-size", "rocksdb.cur-size-all-mem-tables"}) {
        std::uint64_t value = 0;
        if (!c_.db->GetIntProperty(cf, property, &value)) return std::nullopt;
        total += value;
      }
    }
    return total;
  }

  Result<Reading> get(Seq seq) const override {
    rocksdb::PinnableSlice value;
    auto s = c_.db->Get(rocksdb::ReadOptions(), c_.readings, encode_seq_key(seq), &value);
    if (s.IsNotFound()) {
      return fail(ErrorCode::NotFound, seq_context("no reading with seq", seq));
    }
    if (!s.ok()) {
      return failed(s, seq_context("reading seq", seq));
    }
    return decode_stored(value.ToStringView(), seq);
  }

  Result<StreamPage> read_stream(const StreamQuery& query) const override {
    if (!is_key_safe_name(query.sensor_id)) {
      return fail(ErrorCode::InvalidArgument, "sensor id is empty or contains NUL");
    }
    StreamPage page;
    if (query.from >= query.to) {
      return page;
    }
    const std::string prefix = stream_prefix(query.sensor_id);
    std::string start = prefix;
    append_stream_key_tail(start, query.from, 0);
    if (query.after) {
      // The first key strictly after the position.
      StreamPosition next = *query.after;
      if (next.seq < std::numeric_limits<Seq>::max()) {
        ++next.seq;
      } else if (next.ts < std::numeric_limits<TimestampMs>::max()) {
        ++next.ts;
        next.seq = 0;
      } else {
        return page;
      }
      std::string after = prefix;
      append_stream_key_tail(after, next.ts, next.seq);
      start = std::max(start, after);
    }
    std::string end = prefix;
    append_stream_key_tail(end, query.to, 0);
    if (start >= end) {
      return page;
    }

    // One snapshot for the index and the records: retention removes both in one batch, so
    // under a snapshot an index entry always finds its record.
    rocksdb::ManagedSnapshot snapshot(c_.db);
    rocksdb::ReadOptions options;
    options.snapshot = snapshot.snapshot();
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions index_options = options;
    index_options.iterate_upper_bound = &upper;

    std::vector<std::string> keys;
    keys.reserve(std::min<std::size_t>(query.limit, 1024));
    {
      std::unique_ptr<rocksdb::Iterator> it(c_.db->NewIterator(index_options, c_.by_stream));
      for (it->Seek(start); it->Valid() && keys.size() < query.limit; it->Next()) {
        auto key = decode_stream_key(it->key().ToStringView(), prefix.size());
        if (!key) {
          return fail(ErrorCode::Corruption, "malformed index entry for sensor " + query.sensor_id);
        }
        keys.push_back(encode_seq_key(key->seq));
      }
      if (!it->status().ok()) {
        return failed(it->status(), "reading the index of sensor " + query.sensor_id);
      }
      // The loop stops on the entry after the last one taken, if there is one.
      page.more = it->Valid();
    }
    if (keys.empty()) {
      return page;
    }

    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    c_.db->MultiGet(options, c_.readings, keys.size(), slices.data(), values.data(),
                    statuses.data());
    page.readings.reserve(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const Seq seq = *decode_seq_key(keys[i]);
      if (statuses[i].IsNotFound()) {
        return fail(ErrorCode::Corruption, seq_context("index entry without record: seq", seq));
      }
      if (!statuses[i].ok()) {
        return failed(statuses[i], seq_context("reading seq", seq));
      }
      auto reading = decode_stored(values[i].ToStringView(), seq);
      if (!reading) {
        return tl::unexpected(std::move(reading.error()));
      }
      page.readings.push_back(std::move(*reading));
    }
    return page;
  }

  Result<std::optional<Reading>> latest(std::string_view sensor_id) const override {
    if (!is_key_safe_name(sensor_id)) {
      return fail(ErrorCode::InvalidArgument, "sensor id is empty or contains NUL");
    }
    const std::string prefix = stream_prefix(sensor_id);
    // The largest possible key of the prefix: the newest ts, then the highest seq.
    const std::string target = prefix + std::string(kStreamKeyTailSize, '\xff');

    rocksdb::ManagedSnapshot snapshot(c_.db);
    rocksdb::ReadOptions options;
    options.snapshot = snapshot.snapshot();
    rocksdb::Slice lower(prefix);
    rocksdb::ReadOptions index_options = options;
    index_options.iterate_lower_bound = &lower;

    std::optional<StreamKey> key;
    {
      std::unique_ptr<rocksdb::Iterator> it(c_.db->NewIterator(index_options, c_.by_stream));
      it->SeekForPrev(target);
      if (!it->status().ok()) {
        return failed(it->status(), "reading the index of sensor " + std::string(sensor_id));
      }
      if (!it->Valid()) {
        return std::optional<Reading>();
      }
      key = decode_stream_key(it->key().ToStringView(), prefix.size());
      if (!key) {
        return fail(ErrorCode::Corruption,
                    "malformed index entry for sensor " + std::string(sensor_id));
      }
    }
    rocksdb::PinnableSlice value;
    auto s = c_.db->Get(options, c_.readings, encode_seq_key(key->seq), &value);
    if (s.IsNotFound()) {
      return fail(ErrorCode::Corruption, seq_context("index entry without record: seq", key->seq));
    }
    if (!s.ok()) {
      return failed(s, seq_context("reading seq", key->seq));
    }
    auto reading = decode_stored(value.ToStringView(), key->seq);
    if (!reading) {
      return tl::unexpected(std::move(reading.error()));
    }
    return std::optional<Reading>(std::move(*reading));
  }

  Result<FeedPage> read_since(Seq after_seq, std::size_t limit,
                              const std::function<bool(const Reading&)>& keep,
                              std::size_t scan_budget) const override {
    FeedPage page;
    page.last_scanned = after_seq;
    if (limit == 0 || scan_budget == 0 || after_seq == std::numeric_limits<Seq>::max()) {
      return page;
    }
    // Seeking past what retention removed skips its tombstones.
    const Seq start = std::max(after_seq + 1, first_kept_.load(std::memory_order_acquire));
    std::unique_ptr<rocksdb::Iterator> it(c_.db->NewIterator(rocksdb::ReadOptions(), c_.readings));
    std::size_t scanned = 0;
    for (it->Seek(encode_seq_key(start)); it->Valid(); it->Next()) {
      auto seq = decode_seq_key(it->key().ToStringView());
      if (!seq) {
        return fail(ErrorCode::Corruption, "malformed key in the readings column family");
      }
      auto reading = decode_stored(it->value().ToStringView(), *seq);
      if (!reading) {
        return tl::unexpected(std::move(reading.error()));
      }
      ++scanned;
      page.last_scanned = *seq;
      if (!keep || keep(*reading)) {
        page.readings.push_back(std::move(*reading));
        if (page.readings.size() == limit) {
          break;
        }
      }
      if (scanned == scan_budget) {
        break;
      }
    }
    if (!it->status().ok()) {
      return failed(it->status(), "reading the feed");
    }
    return page;
  }

  Result<std::uint64_t> drop_received_before(TimestampMs cutoff) override {
    std::lock_guard<std::mutex> lock(retention_mutex_);
    std::uint64_t dropped = 0;
    rocksdb::ReadOptions options;
    options.fill_cache = false;  // a one-pass scan of the oldest data
    for (;;) {
      // A fresh iterator per batch: a long retention run pins no old memtables or files, and
      // appends, which only add larger seqs, never meet it.
      std::unique_ptr<rocksdb::Iterator> it(c_.db->NewIterator(options, c_.readings));
      rocksdb::WriteBatch write;
      rocksdb::Status s;
      std::size_t in_batch = 0;
      Seq last_dropped = 0;
      std::optional<Seq> kept;
      for (it->Seek(encode_seq_key(first_kept_.load(std::memory_order_acquire)));
           it->Valid() && in_batch < kRetentionBatch && s.ok(); it->Next()) {
        auto seq = decode_seq_key(it->key().ToStringView());
        if (!seq) {
          return fail(ErrorCode::Corruption, "malformed key in the readings column family");
        }
        auto reading = decode_stored(it->value().ToStringView(), *seq);
        if (!reading) {
          return tl::unexpected(std::move(reading.error()));
        }
        if (reading->received_at >= cutoff) {
          kept = *seq;
          break;
        }
        s = write.Delete(c_.readings, it->key());
        if (s.ok()) {
          s = write.Delete(c_.by_stream, encode_stream_key(reading->sensor_id, reading->ts, *seq));
        }
        last_dropped = *seq;
        ++in_batch;
      }
      if (!s.ok()) {
        return failed(s, "preparing a retention batch");
      }
      if (!it->status().ok()) {
        return failed(it->status(), "scanning for retention");
      }
      const bool done = kept.has_value() || !it->Valid();
      it.reset();
      if (in_batch == 0) {
        break;
      }
      // Stream retention may already have removed a higher seq: the watermark never goes back.
      const Seq watermark = std::max(dropped_through_, last_dropped);
      s = write.Put(c_.default_cf,
                    rocksdb::Slice(kDroppedThroughKey.data(), kDroppedThroughKey.size()),
                    encode_seq_key(watermark));
      if (s.ok()) {
        s = c_.gate.write(c_.db, c_.write_options, &write);
      }
      if (!s.ok()) {
        return failed(s, "removing " + std::to_string(in_batch) + " expired readings");
      }
      dropped += in_batch;
      dropped_through_ = watermark;
      first_kept_.store(kept.value_or(last_dropped + 1), std::memory_order_release);
      if (done) {
        break;
      }
    }
    return dropped;
  }

  Result<std::uint64_t> drop_stream_before(std::string_view sensor_id,
                                           TimestampMs cutoff_ts) override {
    if (!is_key_safe_name(sensor_id)) {
      return fail(ErrorCode::InvalidArgument, "sensor id is empty or contains NUL");
    }
    std::lock_guard<std::mutex> lock(retention_mutex_);
    const std::string prefix = stream_prefix(sensor_id);
    // The smallest key of the prefix is the prefix itself (ts INT64_MIN encodes as zeros).
    std::string start = prefix;
    std::string end = prefix;
    append_stream_key_tail(end, cutoff_ts, 0);
    const rocksdb::Slice upper(end);
    rocksdb::ReadOptions options;
    options.fill_cache = false;
    options.iterate_upper_bound = &upper;
    std::uint64_t dropped = 0;
    while (start < end) {
      // A fresh iterator per batch, as in drop_received_before. Appends racing with it only add
      // keys: one it does not see is left for the next run, never half removed, because the
      // record and its index entry are deleted together by seq.
      std::unique_ptr<rocksdb::Iterator> it(c_.db->NewIterator(options, c_.by_stream));
      rocksdb::WriteBatch write;
      rocksdb::Status s;
      std::size_t in_batch = 0;
      Seq highest = 0;
      bool drops_first_kept = false;
      const Seq first_kept = first_kept_.load(std::memory_order_acquire);
      for (it->Seek(start); it->Valid() && in_batch < kRetentionBatch && s.ok(); it->Next()) {
        auto key = decode_stream_key(it->key().ToStringView(), prefix.size());
        if (!key) {
          return fail(ErrorCode::Corruption,
                      "malformed index entry for sensor " + std::string(sensor_id));
        }
        s = write.Delete(c_.readings, encode_seq_key(key->seq));
        if (s.ok()) {
          s = write.Delete(c_.by_stream, it->key());
        }
        highest = std::max(highest, key->seq);
        drops_first_kept = drops_first_kept || key->seq == first_kept;
        // Resume on the last removed key: the next batch's seek then skips one tombstone, not
        // every one this run wrote.
        start.assign(it->key().data(), it->key().size());
        ++in_batch;
      }
      if (!s.ok()) {
        return failed(s, "preparing a stream retention batch");
      }
      if (!it->status().ok()) {
        return failed(it->status(), "scanning sensor " + std::string(sensor_id) + " for retention");
      }
      const bool done = !it->Valid();
      it.reset();
      if (in_batch == 0) {
        break;
      }
      // The newest readings of the log may be among these: the watermark keeps their seqs from
      // coming back after a restart.
      const Seq watermark = std::max(dropped_through_, highest);
      if (watermark != dropped_through_) {
        s = write.Put(c_.default_cf,
                      rocksdb::Slice(kDroppedThroughKey.data(), kDroppedThroughKey.size()),
                      encode_seq_key(watermark));
      }
      if (s.ok()) {
        s = c_.gate.write(c_.db, c_.write_options, &write);
      }
      if (!s.ok()) {
        return failed(s, "removing " + std::to_string(in_batch) + " expired readings of sensor " +
                             std::string(sensor_id));
      }
      dropped += in_batch;
      dropped_through_ = watermark;
      if (drops_first_kept) {
        if (auto moved = move_first_kept(); !moved) {
          return tl::unexpected(std::move(moved.error()));
        }
      }
      if (done) {
        break;
      }
    }
    return dropped;
  }

 private:
  // After stream retention removed the reading at first_kept_: finds the lowest seq still
  // stored. Under retention_mutex_.
  Status move_first_kept() {
    // Read before the scan: every seq up to it that is still stored is visible to the iterator,
    // so finding none means the log held nothing up to it.
    const Seq last = last_seq_.load(std::memory_order_acquire);
    rocksdb::ReadOptions options;
    options.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(c_.db->NewIterator(options, c_.readings));
    it->Seek(encode_seq_key(first_kept_.load(std::memory_order_acquire)));
    if (!it->status().ok()) {
      return failed(it->status(), "finding the first seq after retention");
    }
    if (!it->Valid()) {
      first_kept_.store(last + 1, std::memory_order_release);
      return core::ok();
    }
    auto seq = decode_seq_key(it->key().ToStringView());
    if (!seq) {
      return fail(ErrorCode::Corruption, "malformed key in the readings column family");
    }
    first_kept_.store(*seq, std::memory_order_release);
    return core::ok();
  }

  const Columns& c_;
  // Written by the single appender, read by anyone.
  std::atomic<Seq> last_seq_;
  // The lowest seq retention has not removed; last_seq_ + 1 when the log is empty. Written
  // only under retention_mutex_ (and at open), read by anyone.
  std::atomic<Seq> first_kept_;
  // The highest seq either retention removed (the stored watermark). Guarded by
  // retention_mutex_.
  Seq dropped_through_;
  std::atomic<bool> needs_resume_{false};
  std::mutex retention_mutex_;  // one retention run at a time
};

class RocksDbMetaStore final : public MetaStore {
 public:
  explicit RocksDbMetaStore(const Columns& columns) : c_(columns) {}

  Status put(std::string_view ns, std::string_view key, std::string_view value) override {
    if (!is_key_safe_name(ns)) {
      return bad_namespace();
    }
    rocksdb::WriteBatch write;
    auto s =
        write.Put(c_.meta, encode_meta_key(ns, key), rocksdb::Slice(value.data(), value.size()));
    if (s.ok()) s = c_.gate.write(c_.db, c_.write_options, &write);
    if (!s.ok()) {
      return failed(s, "storing " + std::string(ns) + " record");
    }
    return core::ok();
  }

  Result<std::optional<std::string>> get(std::string_view ns, std::string_view key) const override {
    if (!is_key_safe_name(ns)) {
      return bad_namespace();
    }
    std::string value;
    auto s = c_.db->Get(rocksdb::ReadOptions(), c_.meta, encode_meta_key(ns, key), &value);
    if (s.IsNotFound()) {
      return std::optional<std::string>();
    }
    if (!s.ok()) {
      return failed(s, "reading " + std::string(ns) + " record");
    }
    return std::optional<std::string>(std::move(value));
  }

  Status erase(std::string_view ns, std::string_view key) override {
    if (!is_key_safe_name(ns)) {
      return bad_namespace();
    }
    rocksdb::WriteBatch write;
    auto s = write.Delete(c_.meta, encode_meta_key(ns, key));
    if (s.ok()) s = c_.gate.write(c_.db, c_.write_options, &write);
    if (!s.ok()) {
      return failed(s, "erasing " + std::string(ns) + " record");
    }
    return core::ok();
  }

  Result<std::vector<std::pair<std::string, std::string>>> scan(
      std::string_view ns) const override {
    if (!is_key_safe_name(ns)) {
      return bad_namespace();
    }
    const std::string lower = meta_prefix(ns);
    const std::string upper = meta_prefix_end(ns);
    rocksdb::Slice lower_slice(lower);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions options;
    options.iterate_lower_bound = &lower_slice;
    options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(c_.db->NewIterator(options, c_.meta));
    std::vector<std::pair<std::string, std::string>> records;
    for (it->Seek(lower_slice); it->Valid(); it->Next()) {
      records.emplace_back(it->key().ToStringView().substr(lower.size()),
                           it->value().ToStringView());
    }
    if (!it->status().ok()) {
      return failed(it->status(), "scanning " + std::string(ns) + " records");
    }
    return records;
  }

 private:
  static tl::unexpected<core::Error> bad_namespace() {
    return fail(ErrorCode::InvalidArgument, "meta namespace is empty or contains NUL");
  }

  const Columns& c_;
};

// `audit` keys: ts (8 bytes, big-endian, sign bit flipped, like by_stream) then seq (8 bytes,
// big-endian), so that bytewise order is time order, negative times included.
std::string encode_audit_key(AuditKey key) {
  std::string out(kAuditKeySize, '\0');
  const std::uint64_t ts = static_cast<std::uint64_t>(key.ts) ^ (std::uint64_t{1} << 63);
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((ts >> (56 - 8 * i)) & 0xff);
    out[8 + i] = static_cast<char>((key.seq >> (56 - 8 * i)) & 0xff);
  }
  return out;
}

std::optional<AuditKey> decode_audit_key(std::string_view key) {
  if (key.size() != kAuditKeySize) {
    return std::nullopt;
  }
  std::uint64_t ts = 0;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    ts = (ts << 8) | static_cast<unsigned char>(key[i]);
    seq = (seq << 8) | static_cast<unsigned char>(key[8 + i]);
  }
  return AuditKey{static_cast<TimestampMs>(ts ^ (std::uint64_t{1} << 63)), seq};
}

class RocksDbAuditStore final : public AuditStore {
 public:
  RocksDbAuditStore(const Columns& columns, std::uint64_t epoch)
      : c_(columns), next_seq_((epoch & kAuditEpochMask) << kAuditCounterBits) {}

  Status append(std::span<const AuditEntry> batch) override {
    if (batch.empty()) {
      return core::ok();
    }
    // As for the reading log: after a failed write that left the write gate open, Resume() lets
    // writes through again.
    if (needs_resume_.load(std::memory_order_relaxed) && c_.gate.open()) {
      if (auto s = c_.db->Resume(); !s.ok()) {
        return failed(s, "resuming audit writes after an earlier failure");
      }
      needs_resume_.store(false, std::memory_order_relaxed);
    }
    // A failed write leaves a gap in the seqs, which nothing relies on; taking them up front
    // keeps concurrent appenders apart without a lock.
    const std::uint64_t first = next_seq_.fetch_add(batch.size(), std::memory_order_relaxed);
    rocksdb::WriteBatch write;
    rocksdb::Status s;
    for (std::size_t i = 0; i < batch.size() && s.ok(); ++i) {
      s = write.Put(c_.audit, encode_audit_key({batch[i].ts, first + i}),
                    rocksdb::Slice(batch[i].bytes.data(), batch[i].bytes.size()));
    }
    if (s.ok()) {
      s = c_.gate.write(c_.db, c_.audit_write_options, &write);
    }
    if (!s.ok()) {
      needs_resume_.store(true, std::memory_order_relaxed);
      return failed(s, "appending " + std::to_string(batch.size()) + " audit records");
    }
    unsynced_.store(true, std::memory_order_release);
    return core::ok();
  }

  Result<AuditScanPage> scan(const AuditScan& query) const override {
    AuditScanPage page;
    if (query.from >= query.to) {
      return page;
    }
    std::string start = encode_audit_key({query.from, 0});
    const std::string end = encode_audit_key({query.to, 0});
    bool skip_after = false;
    if (query.after) {
      std::string after = encode_audit_key(*query.after);
      if (after >= start) {
        start = std::move(after);
        skip_after = true;
      }
    }
    if (start >= end) {
      return page;
    }
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(c_.db->NewIterator(options, c_.audit));
    it->Seek(start);
    if (skip_after && it->Valid() && it->key().ToStringView() == start) {
      it->Next();
    }
    for (; it->Valid() && page.entries.size() < query.limit; it->Next()) {
      auto key = decode_audit_key(it->key().ToStringView());
      if (!key) {
        return fail(ErrorCode::Corruption, "malformed key in the audit column family");
      }
      page.entries.push_back({*key, std::string(it->value().ToStringView())});
    }
    if (!it->status().ok()) {
      return failed(it->status(), "scanning audit records");
    }
    // The loop stops on the entry after the last one taken, if there is one.
    page.more = it->Valid();
    return page;
  }

  Status drop_before(TimestampMs cutoff) override {
    if (cutoff == std::numeric_limits<TimestampMs>::min()) {
      return core::ok();
    }
    const std::string begin = encode_audit_key({std::numeric_limits<TimestampMs>::min(), 0});
    const std::string end = encode_audit_key({cutoff, 0});
    const rocksdb::Slice begin_slice(begin);
    const rocksdb::Slice end_slice(end);
    // Files wholly before the cutoff go at once (their space with them); the range tombstone
    // then covers what remains in memtables and in files that straddle the cutoff.
    if (auto s = rocksdb::DeleteFilesInRange(c_.db, c_.audit, &begin_slice, &end_slice, false);
        !s.ok()) {
      return failed(s, "removing expired audit files");
    }
    if (auto s = c_.db->DeleteRange(c_.audit_write_options, c_.audit, begin_slice, end_slice);
        !s.ok()) {
      return failed(s, "removing expired audit records");
    }
    unsynced_.store(true, std::memory_order_release);
    return core::ok();
  }

  // True once anything was written without a sync; the storage then syncs the WAL at close.
  bool has_unsynced_writes() const { return unsynced_.load(std::memory_order_acquire); }

 private:
  const Columns& c_;
  std::atomic<std::uint64_t> next_seq_;
  std::atomic<bool> needs_resume_{false};
  std::atomic<bool> unsynced_{false};
};

class RocksDbStorage final : public Storage {
 public:
  RocksDbStorage(std::string path, rocksdb::DB* db,
                 const std::vector<rocksdb::ColumnFamilyHandle*>& handles, Durability durability,
                 std::uint64_t min_free_bytes)
      : path_(std::move(path)), db_(db), handles_(handles), durability_(durability) {
    columns_.db = db;
    columns_.gate.configure(path_, min_free_bytes);
    columns_.default_cf = handles[0];
    columns_.readings = handles[1];
    columns_.by_stream = handles[2];
    columns_.meta = handles[3];
    columns_.audit = handles[4];
    columns_.write_options.sync = durability == Durability::Sync;
    columns_.audit_write_options.sync = false;
  }

  ~RocksDbStorage() override {
    const bool audit_unsynced = audit_ && audit_->has_unsynced_writes();
    log_.reset();
    meta_.reset();
    audit_.reset();
    // Close() does not sync the WAL; with Buffered writes, or after audit writes (never
    // synced), a clean shutdown syncs it here, unless a failed write closed the gate (the WAL
    // writer must not be touched again; what was acknowledged is in the page cache already).
    if ((durability_ == Durability::Buffered || audit_unsynced) && columns_.gate.open()) {
      if (auto s = db_->SyncWAL(); !s.ok()) {
        core::log_warn(kComponent, to_error(s, "syncing the WAL at close").message);
      }
    }
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      if (auto s = db_->DestroyColumnFamilyHandle(handle); !s.ok()) {
        core::log_warn(kComponent, to_error(s, "releasing a column family").message);
      }
    }
    if (auto s = db_->Close(); !s.ok()) {
      core::log_warn(kComponent, to_error(s, "closing " + path_).message);
    }
  }

  RocksDbStorage(const RocksDbStorage&) = delete;
  RocksDbStorage& operator=(const RocksDbStorage&) = delete;

  // Reads where the log stands; called once, before the storage is shared.
  Status recover() {
    Seq last_stored = 0;
    std::optional<Seq> first_stored;
    {
      std::unique_ptr<rocksdb::Iterator> it(
          db_->NewIterator(rocksdb::ReadOptions(), columns_.readings));
      it->SeekToLast();
      if (it->Valid()) {
        auto last = decode_seq_key(it->key().ToStringView());
        it->SeekToFirst();
        auto first = it->Valid() ? decode_seq_key(it->key().ToStringView()) : std::nullopt;
        if (!last || !first) {
          return fail(ErrorCode::Corruption, "malformed key in the readings column family");
        }
        last_stored = *last;
        first_stored = *first;
      }
      if (!it->status().ok()) {
        return failed(it->status(), "recovering the seq counter of " + path_);
      }
    }
    std::string dropped_value;
    Seq dropped_through = 0;
    auto s = db_->Get(rocksdb::ReadOptions(), columns_.default_cf,
                      rocksdb::Slice(kDroppedThroughKey.data(), kDroppedThroughKey.size()),
                      &dropped_value);
    if (s.ok()) {
      auto seq = decode_seq_key(dropped_value);
      if (!seq) {
        return fail(ErrorCode::Corruption, "malformed retention watermark in " + path_);
      }
      dropped_through = *seq;
    } else if (!s.IsNotFound()) {
      return failed(s, "recovering the retention watermark of " + path_);
    }
    const Seq last = std::max(last_stored, dropped_through);
    auto epoch = next_audit_epoch();
    if (!epoch) {
      return tl::unexpected(std::move(epoch.error()));
    }
    const Seq first_kept = first_stored.value_or(last + 1);
    log_ = std::make_unique<RocksDbReadingLog>(columns_, last, first_kept, dropped_through);
    meta_ = std::make_unique<RocksDbMetaStore>(columns_);
    audit_ = std::make_unique<RocksDbAuditStore>(columns_, *epoch);
    core::log_info(kComponent, "opened " + path_ + ": seqs " + std::to_string(log_->first_seq()) +
                                   ".." + std::to_string(last));
    return core::ok();
  }

  // Counts this open in the default column family (synced, once per open). When the count
  // cannot be stored (disk full at start) the storage still opens, with the unstored epoch: a
  // later open may then reuse it, and its audit keys collide only on the same millisecond and
  // counter value, which a warning makes visible.
  Result<std::uint64_t> next_audit_epoch() {
    const rocksdb::Slice key(kAuditEpochKey.data(), kAuditEpochKey.size());
    std::string value;
    std::uint64_t epoch = 0;
    auto s = db_->Get(rocksdb::ReadOptions(), columns_.default_cf, key, &value);
    if (s.ok()) {
      auto stored = decode_seq_key(value);
      if (!stored) {
        return fail(ErrorCode::Corruption, "malformed audit epoch in " + path_);
      }
      epoch = *stored;
    } else if (!s.IsNotFound()) {
      return failed(s, "reading the audit epoch of " + path_);
    }
    ++epoch;
    rocksdb::WriteOptions synced;
    synced.sync = true;
    if (s = db_->Put(synced, columns_.default_cf, key, encode_seq_key(epoch)); !s.ok()) {
      core::log_warn(kComponent, to_error(s, "storing the audit epoch").message);
    }
    return epoch;
  }

  ReadingLog& log() override { return *log_; }
  MetaStore& meta() override { return *meta_; }
  bool writable() const override { return columns_.gate.open(); }
  AuditStore& audit() override { return *audit_; }

  Status flush() override {
    if (!columns_.gate.open()) {
      return fail(ErrorCode::Unavailable, "not flushing " + path_ + ": an earlier write failed");
    }
    rocksdb::FlushOptions options;
    options.wait = true;
    if (auto s = db_->Flush(options, handles_); !s.ok()) {
      return failed(s, "flushing " + path_);
    }
    return core::ok();
  }

  Result<Seq> checkpoint(const std::string& directory) override {
    std::error_code ec;
    if (std::filesystem::exists(directory, ec)) {
      return fail(ErrorCode::Conflict, directory + " exists; a checkpoint needs a new folder");
    }
    if (!columns_.gate.open()) {
      return fail(ErrorCode::Unavailable, "no checkpoint of " + path_ +
                                              ": writes are refused since an earlier write "
                                              "failed (disk full?)");
    }
    rocksdb::Checkpoint* raw = nullptr;
    if (auto s = rocksdb::Checkpoint::Create(db_.get(), &raw); !s.ok()) {
      return failed(s, "preparing a checkpoint of " + path_);
    }
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    const Seq covered = log_->last_seq();
    // log_size_for_flush 0: memtables are flushed first, so the copy needs no WAL replay and
    // holds every write acknowledged before this call whatever the durability mode.
    if (auto s = checkpoint->CreateCheckpoint(directory, /*log_size_for_flush=*/0); !s.ok()) {
      auto error = to_error(s, "writing a checkpoint of " + path_ + " to " + directory);
      error.code = ErrorCode::Unavailable;
      return tl::unexpected(std::move(error));
    }
    return covered;
  }

 private:
  const std::string path_;
  const std::unique_ptr<rocksdb::DB> db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // released before db_ closes
  const Durability durability_;
  Columns columns_;
  std::unique_ptr<RocksDbReadingLog> log_;
  std::unique_ptr<RocksDbMetaStore> meta_;
  std::unique_ptr<RocksDbAuditStore> audit_;
};

rocksdb::ColumnFamilyOptions column_options(std::size_t write_buffer_bytes,
                                            bool compact_on_deletion) {
  rocksdb::ColumnFamilyOptions options;
  options.write_buffer_size = write_buffer_bytes;
  if (compact_on_deletion) {
    // Retention deletes long runs of old keys; files made mostly of tombstones get compacted
    // soon, so the disk space comes back instead of waiting for size-triggered compactions.
    options.table_properties_collector_factories.push_back(
        rocksdb::NewCompactOnDeletionCollectorFactory(kDeletionWindow, kDeletionTrigger));
  }
  return options;
}

}  // namespace

bool is_in_use(const core::Error& error) {
  return error.code == ErrorCode::Unavailable && error.message.starts_with(kInUse);
}

Result<std::unique_ptr<Storage>> open_rocksdb_storage(const LogOptions& options) {
  if (options.path.empty()) {
    return fail(ErrorCode::InvalidArgument, "the data directory path is empty");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) {
    return fail(ErrorCode::Unavailable,
                "cannot create the data directory " + options.path + ": " + ec.message());
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // Bounds the WAL (and so replay time after a crash) when the small meta column family keeps
  // an old WAL file alive.
  db_options.max_total_wal_size = 256ull << 20;

  constexpr std::size_t kMiB = 1 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, column_options(4 * kMiB, false)},
      {kReadingsColumn, column_options(32 * kMiB, true)},
      {kByStreamColumn, column_options(16 * kMiB, true)},
      {kMetaColumn, column_options(4 * kMiB, false)},
      {kAuditColumn, column_options(8 * kMiB, false)},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &db);
  if (!s.ok()) {
    return failed(s, "opening " + options.path);
  }
  auto storage = std::make_unique<RocksDbStorage>(options.path, db, handles, options.durability,
                                                  options.min_free_bytes);
  if (auto recovered = storage->recover(); !recovered) {
    return tl::unexpected(std::move(recovered.error()));
  }
  return std::unique_ptr<Storage>(std::move(storage));
}

}  // namespace databroker::log
