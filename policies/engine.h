// The policy in force: an immutable snapshot of one compiled policy version, swapped atomically.
//
// Readers take the current snapshot (`PolicyEngine::snapshot()`, a shared_ptr copy) and use it
// for a whole request or event: every decision, access and view they get points into that
// snapshot's Policy, so keeping the shared_ptr keeps them valid, and one request never mixes two
// versions. A reload compiles the new document aside (policy_file.h) and `install`s it; a
// broken document is never installed, so the old version stays in force.
//
// Each snapshot caches the decision per stream id, so a reading costs a hash lookup, not a rule
// scan. A cached entry remembers the facts it was decided on; a stream whose facts changed (a
// sensor declared again with another zone) is decided afresh, so a stale entry can never leak.
// The cache is split in shards by stream id, each with its own lock, so concurrent readers of
// different streams rarely touch the same lock. It is bounded: once it holds
// `max_cached_streams` entries, a miss clears the shard it falls in before inserting (so the
// cache holds at most max_cached_streams + 15 entries), and that shard refills.
// Access (grants in force, views) is computed per call from the cached decision and `now`, so an
// expiring grant needs no reload.
//
// Threading: every method of both classes may be called from any thread. `snapshot()` and
// `install()` are std::atomic_load and std::atomic_store on a shared_ptr: a pointer copy, never a
// wait on a reload's work (the new snapshot is built before the store). A snapshot's cache
// shards are each guarded by a shared_mutex: hits take it shared, a miss decides outside the lock
// and then takes it exclusively for one insertion.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "broker/core/reading.h"
#include "policies/policy.h"

namespace databroker::policies {

inline constexpr std::size_t kDefaultMaxCachedStreams = 262'144;

class PolicySnapshot {
 public:
  // `policy` must not be null (checked).
  PolicySnapshot(std::shared_ptr<const Policy> policy, core::TimestampMs loaded_at,
                 std::size_t max_cached_streams = kDefaultMaxCachedStreams);
  PolicySnapshot(const PolicySnapshot&) = delete;
  PolicySnapshot& operator=(const PolicySnapshot&) = delete;

  const Policy& policy() const { return *policy_; }
  const std::shared_ptr<const Policy>& shared_policy() const { return policy_; }
  const std::string& version() const { return policy_->version(); }
  // When this version was installed (epoch ms).
  core::TimestampMs loaded_at() const { return loaded_at_; }

  // Policy::decide, cached by stream id (see the header comment).
  Decision decide(const StreamFacts& stream) const;

  // decide() then Policy::access(): what `caller` may see of `stream` at `now`.
  Access access(const StreamFacts& stream, const Caller& caller, core::TimestampMs now) const {
    return policy_->access(decide(stream), caller, now);
  }

  // Entries in the decision cache now (for metrics and tests).
  std::size_t cached_streams() const;

 private:
  struct Cached {
    StreamFacts facts;
    Decision decision;
  };
  // On its own cache line, so that readers of different shards do not contend for one.
  struct alignas(64) Shard {
    mutable std::shared_mutex mutex;  // guards entries
    std::unordered_map<std::string, Cached> entries;
  };
  static constexpr std::size_t kShards = 16;

  Shard& shard_of(const std::string& id) const;

  std::shared_ptr<const Policy> policy_;
  core::TimestampMs loaded_at_;
  std::size_t max_cached_streams_;
  mutable std::atomic<std::size_t> cached_{0};  // entries over all shards
  mutable std::array<Shard, kShards> shards_;
};

class PolicyEngine {
 public:
  // Starts with the empty policy (every stream closed), loaded at time 0.
  explicit PolicyEngine(std::size_t max_cached_streams = kDefaultMaxCachedStreams);
  // Starts with `policy` (not null), loaded at `now`.
  PolicyEngine(std::shared_ptr<const Policy> policy, core::TimestampMs now,
               std::size_t max_cached_streams = kDefaultMaxCachedStreams);
  PolicyEngine(const PolicyEngine&) = delete;
  PolicyEngine& operator=(const PolicyEngine&) = delete;

  // The version in force. Snapshots taken earlier stay valid (and keep their version) after an
  // install; a caller holding one is not affected by the swap.
  std::shared_ptr<const PolicySnapshot> snapshot() const;

  // Puts `policy` (not null) in force from now on, with an empty decision cache, and returns the
  // new snapshot. Builds the snapshot before the swap, so readers never wait for it.
  std::shared_ptr<const PolicySnapshot> install(std::shared_ptr<const Policy> policy,
                                                core::TimestampMs now);

 private:
  std::size_t max_cached_streams_;
  // Accessed only through std::atomic_load / std::atomic_store. Not
  // std::atomic<std::shared_ptr>: GCC 12's load() releases its internal lock with relaxed order,
  // a data race (ThreadSanitizer reports it) that may pair a pointer with the wrong control block
  // on weakly ordered CPUs.
  std::shared_ptr<const PolicySnapshot> current_;
};

}  // namespace databroker::policies
