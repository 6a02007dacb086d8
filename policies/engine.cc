#include "policies/engine.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <utility>

#include "broker/core/check.h"

namespace databroker::policies {

PolicySnapshot::PolicySnapshot(std::shared_ptr<const Policy> policy, core::TimestampMs loaded_at,
                               std::size_t max_cached_streams)
    : policy_(std::move(policy)),
      loaded_at_(loaded_at),
      max_cached_streams_(std::max<std::size_t>(1, max_cached_streams)) {
  DATABROKER_CHECK(policy_ != nullptr, "a snapshot holds a policy");
}

PolicySnapshot::Shard& PolicySnapshot::shard_of(const std::string& id) const {
  return shards_[std::hash<std::string>{}(id) % kShards];
}

Decision PolicySnapshot::decide(const StreamFacts& stream) const {
  Shard& shard = shard_of(stream.id);
  {
    std::shared_lock lock(shard.mutex);
    auto it = shard.entries.find(stream.id);
    if (it != shard.entries.end() && it->second.facts == stream) {
      return it->second.decision;
    }
  }
  // The scan runs without the lock: concurrent misses for one stream decide twice, alike.
  const Decision decision = policy_->decide(stream);
  std::unique_lock lock(shard.mutex);
  auto it = shard.entries.find(stream.id);
  if (it != shard.entries.end()) {
    it->second = Cached{stream, decision};
    return decision;
  }
  if (cached_.load(std::memory_order_relaxed) >= max_cached_streams_) {
    // Clearing beats an eviction order here: entries are cheap to recompute, and a bound that
    // is rarely hit must not cost every hit a bookkeeping write. An empty shard still takes its
    // entry, or its streams would never be cached while the others stay full.
    cached_.fetch_sub(shard.entries.size(), std::memory_order_relaxed);
    shard.entries.clear();
  }
  shard.entries.emplace(stream.id, Cached{stream, decision});
  cached_.fetch_add(1, std::memory_order_relaxed);
  return decision;
}

std::size_t PolicySnapshot::cached_streams() const {
  std::size_t total = 0;
  for (const Shard& shard : shards_) {
    std::shared_lock lock(shard.mutex);
    total += shard.entries.size();
  }
  return total;
}

PolicyEngine::PolicyEngine(std::size_t max_cached_streams)
    : PolicyEngine(Policy::empty(), 0, max_cached_streams) {}

PolicyEngine::PolicyEngine(std::shared_ptr<const Policy> policy, core::TimestampMs now,
                           std::size_t max_cached_streams)
    : max_cached_streams_(max_cached_streams),
      current_(std::make_shared<const PolicySnapshot>(std::move(policy), now, max_cached_streams)) {
}

std::shared_ptr<const PolicySnapshot> PolicyEngine::snapshot() const {
  return std::atomic_load(&current_);
}

std::shared_ptr<const PolicySnapshot> PolicyEngine::install(std::shared_ptr<const Policy> policy,
                                                            core::TimestampMs now) {
  auto next = std::make_shared<const PolicySnapshot>(std::move(policy), now, max_cached_streams_);
  std::atomic_store(&current_, next);
  return next;
}

}  // namespace databroker::policies
