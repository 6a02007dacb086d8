// RecentReadings: the newest committed readings, kept in memory for live subscribers.
//
// Live delivery is a log follower per subscriber (follower.h). Reading RocksDB for every
// subscriber after every commit would cost one iterator per subscriber per commit; instead the
// ingest committer appends each durable commit here, and followers that are close to the head
// of the log read from this ring. A follower whose cursor is older than the ring reads the log
// (catch-up) and rejoins the ring when it is close again, so the ring is the only per-reading
// memory of live delivery and it is bounded by `capacity`, whatever the number of subscribers.
//
// Each entry also caches its reading encoded through a policy view (at most a few views per
// entry), so an event is serialised once per view and shared by every subscriber of that view.
// The cache key holds the Policy alive, so a View's address is never reused for another view
// while its encoding is cached.
//
// Threading: append() from the ingest committer only (one thread); everything else from any
// thread. A shared_mutex guards the ring; each entry's cache has its own mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/core/reading.h"
#include "policies/engine.h"

namespace databroker::hub {

// Encodes a reading (already through its view) as JSON; the server passes the native encoder.
using ReadingEncoder = std::function<std::string(const core::Reading&)>;

class RecentEntry {
 public:
  RecentEntry(core::Reading reading, std::uint64_t stream_slot, const ReadingEncoder& encode)
      : reading_(std::move(reading)), stream_slot_(stream_slot), encode_(encode) {}
  const core::Reading& reading() const { return reading_; }
  // A number for the reading's stream, the same for every entry of that stream and never given
  // to another stream (never 0), so followers can find a stream's decision by number instead of
  // hashing its id for every event.
  std::uint64_t stream_slot() const { return stream_slot_; }
  // The reading through `view` (null: raw), encoded once per (policy, view) and then shared.
  // `policy` owns `view`; it is kept alive by the cache.
  std::shared_ptr<const std::string> encoded(const std::shared_ptr<const policies::Policy>& policy,
                                             const policies::View* view) const;

 private:
  struct Cached {
    std::shared_ptr<const policies::Policy> policy;
    const policies::View* view;
    std::shared_ptr<const std::string> text;
  };
  static constexpr std::size_t kMaxCachedViews = 4;

  const core::Reading reading_;
  const std::uint64_t stream_slot_;
  const ReadingEncoder& encode_;
  mutable std::mutex mutex_;  // guards cache_
  mutable std::vector<Cached> cache_;
};

class RecentReadings {
 public:
  // `capacity` readings at most (at least 1); `encode` must outlive this object.
  RecentReadings(std::size_t capacity, ReadingEncoder encode);
  RecentReadings(const RecentReadings&) = delete;
  RecentReadings& operator=(const RecentReadings&) = delete;

  // Adds a durable commit: readings with consecutive seqs, ascending, normally continuing the
  // previous append (a gap restarts the ring, so it never claims a seq it lacks). Moves the
  // readings out of `committed`. Ingest committer only.
  void append(std::span<core::Reading> committed);

  // Up to `limit` entries with seq > `after`, ascending, when the ring holds everything after
  // `after` (first_seq() <= after + 1); nothing when `after` is older than the ring holds (read
  // the log instead). An `after` at or beyond last_seq() gives an empty vector.
  std::optional<std::vector<std::shared_ptr<const RecentEntry>>> since(core::Seq after,
                                                                       std::size_t limit) const;

  // The seq range held; both 0 when empty.
  core::Seq first_seq() const;
  core::Seq last_seq() const;
  std::size_t capacity() const { return entries_.size(); }
  const ReadingEncoder& encoder() const { return encode_; }

 private:
  const ReadingEncoder encode_;
  // Stream slots, touched by append() only (the committer). Bounded: past kMaxSlots streams
  // the map starts afresh and streams get new numbers; a number is never given out twice.
  static constexpr std::size_t kMaxSlots = 1 << 20;
  std::unordered_map<std::string, std::uint64_t> slots_;
  std::uint64_t next_slot_ = 1;
  mutable std::shared_mutex mutex_;                          // guards everything below
  std::vector<std::shared_ptr<const RecentEntry>> entries_;  // slot = seq % capacity
  core::Seq first_ = 0;
  core::Seq last_ = 0;
};

}  // namespace databroker::hub
