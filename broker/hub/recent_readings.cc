#include "broker/hub/recent_readings.h"

#include <algorithm>

#include "broker/core/check.h"

namespace databroker::hub {

std::shared_ptr<const std::string> RecentEntry::encoded(
    const std::shared_ptr<const policies::Policy>& policy, const policies::View* view) const {
  const policies::Policy* key = view == nullptr ? nullptr : policy.get();
  {
    std::lock_guard lock(mutex_);
    for (const Cached& cached : cache_) {
      if (cached.view == view && cached.policy.get() == key) return cached.text;
    }
  }
  // Encode outside the lock: two subscribers racing here both encode, and one result is kept.
  auto text = std::make_shared<const std::string>(
      encode_(view == nullptr ? reading_ : policies::apply_view(reading_, *view)));
  std::lock_guard lock(mutex_);
  if (cache_.size() >= kMaxCachedViews) cache_.erase(cache_.begin());
  cache_.push_back({view == nullptr ? nullptr : policy, view, text});
  return text;
}

RecentReadings::RecentReadings(std::size_t capacity, ReadingEncoder encode)
    : encode_(std::move(encode)), entries_(std::max<std::size_t>(capacity, 1)) {
  DATABROKER_CHECK(encode_ != nullptr, "RecentReadings needs an encoder");
}

void RecentReadings::append(std::span<core::Reading> committed) {
  if (committed.empty()) return;
  // Build the entries before taking the lock: readers wait only for the pointer stores.
  std::vector<std::shared_ptr<const RecentEntry>> fresh;
  fresh.reserve(committed.size());
  const core::Seq first_new = committed.front().seq;
  if (slots_.size() >= kMaxSlots) slots_.clear();
  for (core::Reading& reading : committed) {
    auto [slot, added] = slots_.try_emplace(reading.sensor_id, next_slot_);
    if (added) ++next_slot_;
    fresh.push_back(std::make_shared<const RecentEntry>(std::move(reading), slot->second, encode_));
  }
  const std::size_t capacity = entries_.size();
  std::vector<std::shared_ptr<const RecentEntry>> evicted;  // freed outside the lock
  evicted.reserve(std::min(fresh.size(), capacity));
  std::unique_lock lock(mutex_);
  if (last_ == 0 || first_new != last_ + 1) {
    // A gap (or the first append): the ring restarts, so it never claims a seq it lacks.
    for (auto& entry : entries_) evicted.push_back(std::move(entry));
    first_ = first_new;
  }
  for (auto& entry : fresh) {
    const core::Seq seq = entry->reading().seq;
    auto& slot = entries_[seq % capacity];
    if (slot) evicted.push_back(std::move(slot));
    slot = std::move(entry);
    last_ = seq;
  }
  if (last_ - first_ + 1 > capacity) first_ = last_ - capacity + 1;
  lock.unlock();
}

std::optional<std::vector<std::shared_ptr<const RecentEntry>>> RecentReadings::since(
    core::Seq after, std::size_t limit) const {
  std::shared_lock lock(mutex_);
  if (last_ == 0 || after + 1 < first_) return std::nullopt;
  std::vector<std::shared_ptr<const RecentEntry>> out;
  if (after >= last_) return out;
  const core::Seq end = std::min<core::Seq>(last_, after + limit);
  out.reserve(end - after);
  for (core::Seq seq = after + 1; seq <= end; ++seq) out.push_back(entries_[seq % entries_.size()]);
  return out;
}

core::Seq RecentReadings::first_seq() const {
  std::shared_lock lock(mutex_);
  return last_ == 0 ? 0 : first_;
}

core::Seq RecentReadings::last_seq() const {
  std::shared_lock lock(mutex_);
  return last_;
}

}  // namespace databroker::hub
