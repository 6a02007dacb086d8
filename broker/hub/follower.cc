#include "broker/hub/follower.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "broker/core/check.h"
#include "broker/hub/visibility.h"
#include "policies/view.h"

namespace databroker::hub {

// A stream's view for one follower, decided once and reused across calls while it cannot have
// changed. It is valid for one policy snapshot, for at most kMaxAge (so a grant that starts, or a
// re-declared sensor, is seen within that), and never past the end of a grant it relies on, so
// an expiring grant stops events at its exact end. Bounded: past kMaxEntries streams it starts
// afresh. Without this, each batch of each subscriber would decide every stream it meets again.
class ViewCache {
 public:
  ViewCache(const FollowerContext& context, const FollowerCaller& caller,
            const SubscriptionFilter& filter)
      : context_(context), filter_(filter), caller_{caller.profile, caller.internal} {}

  // Called at the start of each next(): drops what may be stale.
  void refresh() {
    auto snapshot = context_.policy.snapshot();
    now_ = context_.clock.now_ms();
    if (snapshot != snapshot_ || now_ >= valid_until_ || views_.size() > kMaxEntries) {
      views_.clear();
      by_slot_.fill({});
      last_ = nullptr;
      snapshot_ = std::move(snapshot);
      valid_until_ = now_ + kMaxAgeMs;
    }
  }

  // The view of a stream this follower receives; nothing when filtered out or invisible.
  // Called once per reading examined: a hash lookup, and none for a run of the same sensor.
  const std::optional<StreamView>& of(const std::string& sensor_id) {
    if (last_ != nullptr && last_->first == sensor_id) return last_->second;
    auto it = views_.find(std::string_view(sensor_id));
    if (it == views_.end()) {
      std::optional<StreamView> view;
      if (const auto sensor = context_.registry.find(sensor_id);
          sensor && filter_.matches(*sensor)) {
        StreamView decided = stream_view(*snapshot_, caller_, *sensor, now_);
        if (decided.visible()) {
          if (decided.access.grant != nullptr) {
            valid_until_ = std::min(valid_until_, decided.access.grant->until);
          }
          view = decided;
        }
      }
      it = views_.emplace(sensor_id, view).first;
    }
    last_ = &*it;
    return it->second;
  }

  // The same for a reading of the ring, found by its stream slot: with many subscribers, a hash
  // lookup per event in per-subscriber tables was the largest cost of fan-out (cache misses).
  const std::optional<StreamView>& of(const RecentEntry& entry) {
    Slot& slot = by_slot_[entry.stream_slot() % kSlots];
    if (slot.tag == entry.stream_slot()) return *slot.view;
    const std::optional<StreamView>& view = of(entry.reading().sensor_id);
    slot = {entry.stream_slot(), &view};
    return view;
  }

  const std::shared_ptr<const policies::Policy>& policy() const {
    return snapshot_->shared_policy();
  }

 private:
  static constexpr core::TimestampMs kMaxAgeMs = 1000;
  static constexpr std::size_t kSlots = 256;
  // A direct-mapped index into views_ by stream slot; tag 0 is empty (slots start at 1).
  struct Slot {
    std::uint64_t tag = 0;
    const std::optional<StreamView>* view = nullptr;  // a node of views_: stable until clear()
  };
  static constexpr std::size_t kMaxEntries = 4096;

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  using Views = std::unordered_map<std::string, std::optional<StreamView>, Hash, std::equal_to<>>;

  const FollowerContext& context_;
  const SubscriptionFilter& filter_;
  const policies::Caller caller_;  // its profile points into the follower's FollowerCaller
  std::shared_ptr<const policies::PolicySnapshot> snapshot_;
  core::TimestampMs now_ = 0;
  core::TimestampMs valid_until_ = 0;
  Views views_;
  const Views::value_type* last_ = nullptr;  // stable: unordered_map nodes do not move
  std::array<Slot, kSlots> by_slot_{};
};

Follower::Follower(const FollowerContext& context, SubscriberType type, FollowerCaller caller,
                   SubscriptionFilter filter, core::Seq cursor)
    : context_(context),
      type_(type),
      caller_(std::move(caller)),
      filter_(std::move(filter)),
      cursor_(cursor),
      views_(std::make_unique<ViewCache>(context_, caller_, filter_)),
      tracking_(context.metrics, type, &cursor_) {
  DATABROKER_CHECK(context_.encode != nullptr, "a follower needs an encoder");
}

Follower::~Follower() = default;

core::Seq Follower::head() const { return context_.log.last_seq(); }

core::Result<FollowBatch> Follower::next(std::size_t limit, std::size_t scan_budget) {
  limit = std::max<std::size_t>(limit, 1);
  scan_budget = std::max(scan_budget, limit);
  ViewCache& views = *views_;
  views.refresh();
  FollowBatch batch;
  core::Seq cursor = cursor_.load(std::memory_order_relaxed);
  const auto add = [&](std::shared_ptr<const core::Reading> source,
                       std::shared_ptr<const std::string> json, bool granted) {
    const core::Seq seq = source->seq;
    batch.events.push_back({seq, std::move(json), granted, std::move(source)});
  };

  // Live: the ring holds everything after the cursor. Read it in chunks of `limit` so that a
  // follower seeing little does not copy the whole ring at once.
  // The ring may still hold readings that retention removed from the log: a cursor before the
  // log's first seq must not be served from it.
  const core::Seq first_stored = context_.log.first_seq();
  const bool before_stored =
      first_stored == 0 ? context_.log.last_seq() > cursor : cursor + 1 < first_stored;
  if (context_.recent != nullptr && !before_stored) {
    std::size_t examined = 0;
    bool served = false;
    while (batch.events.size() < limit && examined < scan_budget) {
      auto entries = context_.recent->since(cursor, std::min(limit, scan_budget - examined));
      if (!entries) break;  // older than the ring: read the log below
      served = true;
      if (entries->empty()) break;
      for (const auto& entry : *entries) {
        const core::Reading& reading = entry->reading();
        ++examined;
        cursor = reading.seq;
        if (const auto& view = views.of(*entry)) {
          // Aliasing the entry: no copy of the reading per subscriber.
          add(std::shared_ptr<const core::Reading>(entry, &reading),
              entry->encoded(views.policy(), view->transform()), view->is_granted());
          if (batch.events.size() >= limit) break;
        }
      }
    }
    if (served) {
      on_ring_ = true;
      cursor_.store(cursor, std::memory_order_relaxed);
      batch.more = cursor < context_.recent->last_seq();
      if (context_.metrics != nullptr) {
        context_.metrics->counters(type_).events += batch.events.size();
      }
      return batch;
    }
    if (on_ring_ && context_.metrics != nullptr) {
      ++context_.metrics->counters(type_).catch_up_switches;
    }
    on_ring_ = false;
  }

  // Catch-up from the durable log. Readings between the cursor and the oldest stored one were
  // removed by retention: the subscriber must learn that it lost them, not skip them silently
  // (from 0, "everything stored", nothing is lost).
  if (cursor != 0 && before_stored) {
    batch.behind_retention = true;
    batch.first_available = first_stored;
    if (context_.metrics != nullptr) ++context_.metrics->counters(type_).behind_retention;
    return batch;
  }
  const auto keep = [&](const core::Reading& reading) {
    return views.of(reading.sensor_id).has_value();
  };
  auto page = context_.log.read_since(cursor, limit, keep, scan_budget);
  if (!page) return tl::unexpected(std::move(page.error()));
  for (core::Reading& reading : page->readings) {
    const StreamView& view = *views.of(reading.sensor_id);
    const policies::View* transform = view.transform();
    auto json = std::make_shared<const std::string>(context_.encode(
        transform == nullptr ? reading : policies::apply_view(reading, *transform)));
    add(std::make_shared<const core::Reading>(std::move(reading)), std::move(json),
        view.is_granted());
  }
  cursor = std::max(cursor, page->last_scanned);
  cursor_.store(cursor, std::memory_order_relaxed);
  batch.more = cursor < context_.log.last_seq();
  if (context_.metrics != nullptr) context_.metrics->counters(type_).events += batch.events.size();
  return batch;
}

void audit_delivery(access::AuditTrail* audit, const FollowerCaller& caller,
                    std::string_view action, const FollowBatch& batch) {
  if (audit == nullptr) return;
  std::map<std::string_view, std::uint64_t> granted;  // stream → readings delivered
  for (const Event& event : batch.events) {
    if (event.granted) ++granted[event.sensor_id()];
  }
  if (granted.empty()) return;
  access::AuditRecord record;
  record.kind = std::string(access::kAuditRead);
  record.key_id = caller.key_id;
  record.profile = caller.profile;
  record.action = std::string(action);
  for (const auto& [id, count] : granted) {
    record.streams.emplace_back(id);
    record.readings += count;
  }
  (void)audit->record(std::move(record));  // a drop is counted by the trail
}

}  // namespace databroker::hub
