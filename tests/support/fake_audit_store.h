// An in-memory AuditStore for unit tests: entries ordered by (ts, seq) like the real one, with
// switches that make appends fail (disk full) or hold them at a gate (a slow disk), so that a
// test can fill the audit trail's queue deterministically, and a way to plant a raw entry
// (a corrupt record).
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include "broker/log/audit_store.h"

namespace databroker::testing {

class FakeAuditStore final : public log::AuditStore {
 public:
  core::Status append(std::span<const log::AuditEntry> batch) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    gate_changed_.notify_all();
    gate_changed_.wait(lock, [&] { return !held_; });
    --waiting_;
    if (fail_writes_) {
      ++failed_appends_;
      return core::fail(core::ErrorCode::Unavailable, "no space left on device (fake)");
    }
    for (const log::AuditEntry& entry : batch) {
      entries_[log::AuditKey{entry.ts, next_seq_++}] = entry.bytes;
    }
    ++appends_;
    gate_changed_.notify_all();
    return core::ok();
  }

  core::Result<log::AuditScanPage> scan(const log::AuditScan& query) const override {
    std::lock_guard lock(mutex_);
    log::AuditScanPage page;
    if (query.from >= query.to) {
      return page;
    }
    auto it = entries_.lower_bound(log::AuditKey{query.from, 0});
    if (query.after && *query.after >= log::AuditKey{query.from, 0}) {
      it = entries_.upper_bound(*query.after);
    }
    for (; it != entries_.end() && it->first.ts < query.to; ++it) {
      if (page.entries.size() == query.limit) {
        page.more = true;
        break;
      }
      page.entries.push_back({it->first, it->second});
    }
    return page;
  }

  core::Status drop_before(core::TimestampMs cutoff) override {
    std::lock_guard lock(mutex_);
    if (fail_writes_) {
      return core::fail(core::ErrorCode::Unavailable, "no space left on device (fake)");
    }
    entries_.erase(entries_.begin(), entries_.lower_bound(log::AuditKey{cutoff, 0}));
    return core::ok();
  }

  // While set, append and drop_before fail with Unavailable and store nothing.
  void fail_writes(bool fail) {
    std::lock_guard lock(mutex_);
    fail_writes_ = fail;
  }

  // While held, append waits (without storing) until release().
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release() {
    std::lock_guard lock(mutex_);
    held_ = false;
    gate_changed_.notify_all();
  }
  // True once an append is waiting at the gate, within `timeout`.
  bool wait_for_waiting_append(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return gate_changed_.wait_for(lock, timeout, [&] { return waiting_ > 0; });
  }
  // True once `count` appends have succeeded, within `timeout`.
  bool wait_for_appends(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return gate_changed_.wait_for(lock, timeout, [&] { return appends_ >= count; });
  }

  // Stores `bytes` as they are under `key`, bypassing append.
  void plant(log::AuditKey key, std::string bytes) {
    std::lock_guard lock(mutex_);
    entries_[key] = std::move(bytes);
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }
  std::size_t appends() const {
    std::lock_guard lock(mutex_);
    return appends_;
  }
  std::size_t failed_appends() const {
    std::lock_guard lock(mutex_);
    return failed_appends_;
  }

 private:
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable gate_changed_;
  std::map<log::AuditKey, std::string> entries_;
  std::uint64_t next_seq_ = 1;
  bool fail_writes_ = false;
  bool held_ = false;
  std::size_t waiting_ = 0;
  std::size_t appends_ = 0;
  std::size_t failed_appends_ = 0;
};

}  // namespace databroker::testing
