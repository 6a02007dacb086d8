#include "broker/hub/follower.h"

#include <algorithm>
#include <map>
#include <optional>

#include "broker/core/check.h"
#include "broker/hub/visibility.h"
#include "policies/view.h"

namespace databroker::hub {

namespace {

// What one next() call knows of each stream it meets: whether it is delivered, and how.
class BatchViews {
 public:
  BatchViews(const FollowerContext& context, const FollowerCaller& caller,
             const SubscriptionFilter& filter)
      : context_(context),
        filter_(filter),
        snapshot_(context.policy.snapshot()),
        now_(context.clock.now_ms()),
        caller_{caller.profile, caller.internal} {}

  // The view of a stream this follower receives; nothing when filtered out or invisible.
  const std::optional<StreamView>& of(const std::string& sensor_id) {
    auto it = views_.find(sensor_id);
    if (it == views_.end()) {
      std::optional<StreamView> view;
      if (const auto sensor = context_.registry.find(sensor_id);
          sensor && filter_.matches(*sensor)) {
        StreamView decided = stream_view(*snapshot_, caller_, *sensor, now_);
        if (decided.visible()) view = decided;
      }
      it = views_.emplace(sensor_id, view).first;
    }
    return it->second;
  }

  const std::shared_ptr<const policies::Policy>& policy() const {
    return snapshot_->shared_policy();
  }

 private:
  const FollowerContext& context_;
  const SubscriptionFilter& filter_;
  const std::shared_ptr<const policies::PolicySnapshot> snapshot_;
  const core::TimestampMs now_;
  const policies::Caller caller_;
  std::map<std::string, std::optional<StreamView>, std::less<>> views_;
};

}  // namespace

Follower::Follower(const FollowerContext& context, SubscriberType type, FollowerCaller caller,
                   SubscriptionFilter filter, core::Seq cursor)
    : context_(context),
      type_(type),
      caller_(std::move(caller)),
      filter_(std::move(filter)),
      cursor_(cursor),
      tracking_(context.metrics, type, &cursor_) {
  DATABROKER_CHECK(context_.encode != nullptr, "a follower needs an encoder");
}

core::Seq Follower::head() const { return context_.log.last_seq(); }

core::Result<FollowBatch> Follower::next(std::size_t limit, std::size_t scan_budget) {
  limit = std::max<std::size_t>(limit, 1);
  scan_budget = std::max(scan_budget, limit);
  BatchViews views(context_, caller_, filter_);
  FollowBatch batch;
  core::Seq cursor = cursor_.load(std::memory_order_relaxed);
  const auto add = [&](const core::Reading& reading, std::shared_ptr<const std::string> json,
                       bool granted) {
    batch.events.push_back(
        {reading.seq, reading.sensor_id, reading.kind, std::move(json), granted});
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
        if (const auto& view = views.of(reading.sensor_id)) {
          add(reading, entry->encoded(views.policy(), view->transform()), view->is_granted());
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
    if (on_ring_ && context_.metrics != nullptr)
      ++context_.metrics->counters(type_).catch_up_switches;
    on_ring_ = false;
  }

  // Catch-up from the durable log. Readings between the cursor and the oldest stored one were
  // removed by retention: the subscriber must learn that it lost them, not skip them silently.
  const core::Seq last = context_.log.last_seq();
  if (cursor != 0 && cursor < last) {
    const core::Seq first = context_.log.first_seq();
    if (first == 0 || first > cursor + 1) {
      batch.behind_retention = true;
      batch.first_available = first;
      if (context_.metrics != nullptr) ++context_.metrics->counters(type_).behind_retention;
      return batch;
    }
  }
  const auto keep = [&](const core::Reading& reading) {
    return views.of(reading.sensor_id).has_value();
  };
  auto page = context_.log.read_since(cursor, limit, keep, scan_budget);
  if (!page) return tl::unexpected(std::move(page.error()));
  for (const core::Reading& reading : page->readings) {
    const StreamView& view = *views.of(reading.sensor_id);
    const policies::View* transform = view.transform();
    auto json = std::make_shared<const std::string>(context_.encode(
        transform == nullptr ? reading : policies::apply_view(reading, *transform)));
    add(reading, std::move(json), view.is_granted());
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
    if (event.granted) ++granted[event.sensor_id];
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
