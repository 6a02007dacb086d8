// An in-memory ReadingLog for unit tests: appends assign seqs like the real one, and a test can
// make the next appends fail (disk full) or count how many group commits happened.
#pragma once

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "broker/log/reading_log.h"

namespace databroker::testing {

class FakeReadingLog final : public log::ReadingLog {
 public:
  core::Result<log::SeqRange> append(std::span<core::Reading> batch,
                                     core::TimestampMs received_at) override {
    std::lock_guard lock(mutex_);
    if (batch.empty()) return core::fail(core::ErrorCode::InvalidArgument, "empty batch");
    if (fail_appends_ > 0) {
      --fail_appends_;
      return core::fail(core::ErrorCode::Unavailable, "no space left on device (fake)");
    }
    ++appends_;
    log::SeqRange range{last_ + 1, last_ + batch.size()};
    for (auto& r : batch) {
      r.seq = ++last_;
      if (r.received_at == 0) r.received_at = received_at;
      readings_.push_back(r);
    }
    return range;
  }
  core::Seq last_seq() const override {
    std::lock_guard lock(mutex_);
    return last_;
  }
  core::Seq first_seq() const override {
    std::lock_guard lock(mutex_);
    return readings_.empty() ? 0 : readings_.front().seq;
  }
  core::Result<core::Reading> get(core::Seq seq) const override {
    std::lock_guard lock(mutex_);
    for (const auto& r : readings_) {
      if (r.seq == seq) return r;
    }
    return core::fail(core::ErrorCode::NotFound, "no such seq");
  }
  core::Result<log::StreamPage> read_stream(const log::StreamQuery& q) const override {
    std::lock_guard lock(mutex_);
    std::vector<core::Reading> matching;
    for (const auto& r : readings_) {
      if (r.sensor_id != q.sensor_id || r.ts < q.from || r.ts >= q.to) continue;
      if (q.after && std::pair(r.ts, r.seq) <= std::pair(q.after->ts, q.after->seq)) continue;
      matching.push_back(r);
    }
    std::sort(matching.begin(), matching.end(), [](const auto& a, const auto& b) {
      return std::pair(a.ts, a.seq) < std::pair(b.ts, b.seq);
    });
    log::StreamPage page;
    page.more = matching.size() > q.limit;
    if (page.more) matching.resize(q.limit);
    page.readings = std::move(matching);
    return page;
  }
  core::Result<std::optional<core::Reading>> latest(std::string_view sensor_id) const override {
    std::lock_guard lock(mutex_);
    std::optional<core::Reading> best;
    for (const auto& r : readings_) {
      if (r.sensor_id != sensor_id) continue;
      if (!best || std::pair(r.ts, r.seq) > std::pair(best->ts, best->seq)) best = r;
    }
    return best;
  }
  core::Result<log::FeedPage> read_since(core::Seq after_seq, std::size_t limit,
                                         const std::function<bool(const core::Reading&)>& keep,
                                         std::size_t scan_budget) const override {
    std::lock_guard lock(mutex_);
    log::FeedPage page;
    page.last_scanned = after_seq;
    std::size_t scanned = 0;
    for (const auto& r : readings_) {
      if (r.seq <= after_seq) continue;
      if (page.readings.size() >= limit || scanned >= scan_budget) break;
      ++scanned;
      page.last_scanned = r.seq;
      if (keep(r)) page.readings.push_back(r);
    }
    return page;
  }
  core::Result<std::uint64_t> drop_received_before(core::TimestampMs cutoff) override {
    std::lock_guard lock(mutex_);
    auto before = readings_.size();
    std::erase_if(readings_, [&](const auto& r) { return r.received_at < cutoff; });
    return before - readings_.size();
  }
  core::Result<std::uint64_t> drop_stream_before(std::string_view sensor_id,
                                                 core::TimestampMs cutoff_ts) override {
    std::lock_guard lock(mutex_);
    if (sensor_id.empty() || sensor_id.find('\0') != std::string_view::npos) {
      return core::fail(core::ErrorCode::InvalidArgument, "bad sensor id");
    }
    auto before = readings_.size();
    std::erase_if(readings_,
                  [&](const auto& r) { return r.sensor_id == sensor_id && r.ts < cutoff_ts; });
    return before - readings_.size();
  }

  void fail_next_appends(int count) {
    std::lock_guard lock(mutex_);
    fail_appends_ = count;
  }
  // What writable() answers (a disk below its free-space reserve: false).
  void set_writable(bool writable) { writable_ = writable; }
  bool writable() const override { return writable_.load(); }
  int appends() const {
    std::lock_guard lock(mutex_);
    return appends_;
  }
  std::vector<core::Reading> all() const {
    std::lock_guard lock(mutex_);
    return readings_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<core::Reading> readings_;
  core::Seq last_ = 0;
  int fail_appends_ = 0;
  int appends_ = 0;
  std::atomic<bool> writable_{true};
};

}  // namespace databroker::testing
