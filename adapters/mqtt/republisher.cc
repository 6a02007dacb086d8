#include "adapters/mqtt/republisher.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "broker/core/logging.h"
#include "broker/core/text.h"

namespace databroker::mqtt {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kComponent = "republish";
// Readings examined per log read when few of them are visible to a target.
constexpr std::size_t kScanBudget = 5000;
// The worker also wakes this often without a signal: retries after a failed read or publish, and
// cursor saves, need no event to happen.
constexpr std::chrono::milliseconds kTick{1000};
// Cursors are saved at most this often (and at stop): a saved cursor costs a RocksDB write, with
// fsync under storage.durability sync, and losing one second of it only repeats events.
constexpr std::chrono::milliseconds kSaveInterval{1000};
constexpr std::chrono::seconds kLogInterval{10};

std::optional<core::Seq> parse_cursor(std::string_view text) {
  auto value = core::parse_integer(text);
  if (!value || *value < 0) {
    return std::nullopt;
  }
  return static_cast<core::Seq>(*value);
}

}  // namespace

struct Republisher::Impl : std::enable_shared_from_this<Republisher::Impl> {
  // One position in a target's publish window, in publish order. A marker stands for readings
  // the follower examined without handing them out (invisible, or open events on a partner
  // target): it is done at once, and lets the acknowledged cursor move past them.
  struct Slot {
    core::Seq upto = 0;
    bool done = false;
    bool marker = false;
  };

  struct Target {
    // Fixed at start.
    std::string name;          // cursor key and metrics label
    std::string topic_prefix;  // "open" or "shared/{profile}"
    hub::FollowerCaller caller;
    bool granted_only = false;
    std::string audit_action;

    // Worker thread only.
    std::unique_ptr<hub::Follower> follower;
    core::Seq saved = 0;

    // Guarded by Impl::mutex.
    std::deque<Slot> window;
    std::uint64_t window_base = 0;  // the slot number of window.front()
    std::uint64_t generation = 0;   // bumped by each rewind; older completions only count
    bool rewind = false;
    core::Seq acknowledged = 0;
    std::size_t outstanding = 0;  // publishes not completed, of every generation
    std::uint64_t published = 0;
    std::uint64_t failures = 0;
    std::uint64_t behind_retention = 0;
  };

  Impl(const config::RepublishConfig& config, const hub::FollowerContext& context,
       hub::CommitSignal& signal, MessagePublisher& publisher, log::MetaStore* cursors,
       access::AuditTrail* audit)
      : config(config),
        context(context),
        signal(signal),
        publisher(publisher),
        cursors(cursors),
        audit(audit) {}

  core::Status start();
  void stop();
  void run();
  // Reads and publishes what room allows; true when the log holds more that could be read now.
  bool pump(std::size_t index);
  void on_published(std::size_t index, std::uint64_t generation, std::uint64_t number,
                    const core::Status& outcome);
  void wake();
  void save_cursors(bool force);
  core::Status save_cursor(Target& target, core::Seq cursor);

  // Under `mutex`: pops the completed front of the window into the acknowledged cursor.
  static void advance(Target& target);
  // Under `mutex`: everything the follower examined up to `cursor` is handed out.
  static void examined_through(Target& target, core::Seq cursor);

  const config::RepublishConfig& config;
  const hub::FollowerContext& context;
  hub::CommitSignal& signal;
  MessagePublisher& publisher;
  log::MetaStore* const cursors;
  access::AuditTrail* const audit;
  core::RateLimitedLog rate_limited_log{kLogInterval};

  // Built by start() before the worker exists; the vector is not resized afterwards.
  std::vector<Target> targets;
  SteadyClock::time_point last_save{};

  mutable std::mutex mutex;  // guards the fields below and each Target's guarded fields
  std::condition_variable changed;
  bool woken = true;
  bool stopping = false;
  std::atomic<bool> running{false};

  hub::CommitSignal::Subscription subscription;
  std::thread worker;
};

core::Status Republisher::Impl::start() {
  if (running) {
    return core::ok();
  }
  std::vector<Target> built;
  if (config.open) {
    Target open;
    open.name = "open";
    open.topic_prefix = config.open_prefix;
    open.caller = {std::string(access::kPublicProfile), false, ""};
    built.push_back(std::move(open));
  }
  for (const auto& profile : config.partners) {
    Target partner;
    partner.name = "partner:" + profile;
    partner.topic_prefix = config.shared_prefix + "/" + profile;
    partner.caller = {profile, false, ""};
    partner.granted_only = true;
    partner.audit_action = "mqtt " + partner.topic_prefix;
    built.push_back(std::move(partner));
  }
  {
    // stats() may be reading (a /metrics scrape during start).
    std::lock_guard lock(mutex);
    targets = std::move(built);
  }
  if (targets.empty()) {
    core::log_warn(kComponent,
                   "mqtt.republish is enabled with open: false and no partners; "
                   "nothing to republish");
    return core::ok();
  }

  const core::Seq head = context.log.last_seq();
  for (auto& target : targets) {
    core::Seq cursor = head;
    bool known = false;
    if (cursors) {
      auto stored = cursors->get(kRepublishCursorNamespace, target.name);
      if (!stored) {
        return tl::unexpected(core::Error{
            stored.error().code,
            "reading the republish cursor of " + target.name + ": " + stored.error().message,
            {}});
      }
      if (*stored) {
        if (auto parsed = parse_cursor(**stored)) {
          cursor = *parsed;
          known = true;
        } else {
          core::log_warn(kComponent, "the saved cursor of " + target.name +
                                         " is unreadable; starting at the head of the log");
        }
      }
    }
    if (cursor > head) {
      // A data directory restored from an older backup: the saved position is in a future
      // that will be written again with other readings.
      core::log_warn(kComponent, "the saved cursor of " + target.name + " (" +
                                     std::to_string(cursor) + ") is past the log's head (" +
                                     std::to_string(head) + "); starting at the head");
      cursor = head;
      known = false;
    }
    if (!known) {
      if (auto status = save_cursor(target, cursor); !status) {
        return status;
      }
    }
    target.saved = cursor;
    {
      std::lock_guard lock(mutex);
      target.acknowledged = cursor;
    }
    target.follower =
        std::make_unique<hub::Follower>(context, hub::SubscriberType::MqttRepublish, target.caller,
                                        hub::SubscriptionFilter{}, cursor);
    core::log_info(kComponent, target.name + " republishes to " + target.topic_prefix +
                                   "/{kind}/{sensor_id} after seq " + std::to_string(cursor) +
                                   (known ? " (saved cursor)" : " (head of the log)"));
  }

  {
    std::lock_guard lock(mutex);
    stopping = false;
    woken = true;
  }
  subscription = signal.subscribe([this](core::Seq) { wake(); });
  if (auto status = publisher.start([this] { wake(); }); !status) {
    subscription.reset();
    for (auto& target : targets) target.follower.reset();
    return status;
  }
  running = true;
  worker = std::thread([this] { run(); });
  return core::ok();
}

void Republisher::Impl::wake() {
  std::lock_guard lock(mutex);
  woken = true;
  changed.notify_one();
}

void Republisher::Impl::run() {
  try {
    std::unique_lock lock(mutex);
    while (!stopping) {
      woken = false;
      lock.unlock();
      bool more = false;
      for (std::size_t i = 0; i < targets.size(); ++i) {
        more = pump(i) || more;
      }
      save_cursors(false);
      lock.lock();
      if (!more) {
        changed.wait_for(lock, kTick, [&] { return stopping || woken; });
      }
    }
  } catch (const std::exception& error) {
    // Only allocation can throw here; nothing may leave a thread's entry function.
    core::log_error(kComponent, std::string("the republish worker stopped: ") + error.what());
  }
}

bool Republisher::Impl::pump(std::size_t index) {
  Target& target = targets[index];
  std::size_t room = 0;
  std::uint64_t generation = 0;
  std::optional<core::Seq> rewind_to;
  {
    std::lock_guard lock(mutex);
    if (target.rewind) {
      target.rewind = false;
      ++target.generation;
      target.window.clear();
      target.window_base = 0;
      rewind_to = target.acknowledged;
    }
    room = config.max_in_flight - std::min(config.max_in_flight, target.outstanding);
    generation = target.generation;
  }
  if (rewind_to) {
    target.follower.reset();
    target.follower =
        std::make_unique<hub::Follower>(context, hub::SubscriberType::MqttRepublish, target.caller,
                                        hub::SubscriptionFilter{}, *rewind_to);
  }
  if (room == 0 || !publisher.is_connected()) {
    return false;  // the cursor stays: the log is the queue
  }

  auto batch = target.follower->next(room, kScanBudget);
  if (!batch) {
    rate_limited_log.warn(kComponent, target.name,
                          "reading the log for " + target.name + ": " + batch.error().message);
    return false;
  }
  if (batch->behind_retention) {
    const core::Seq resume = batch->first_available > 0 ? batch->first_available - 1 : 0;
    core::log_error(kComponent, target.name + ": readings after seq " +
                                    std::to_string(target.follower->cursor()) +
                                    " were removed by retention before they were republished; "
                                    "resuming after seq " +
                                    std::to_string(resume));
    std::lock_guard lock(mutex);
    ++target.behind_retention;
    target.acknowledged = std::max(target.acknowledged, resume);
    target.rewind = true;
    return true;
  }

  hub::FollowBatch delivered;  // for the audit trail: what reached a partner topic
  std::size_t published = 0;
  for (auto& event : batch->events) {
    if (target.granted_only && !event.granted) {
      continue;  // open data a partner may see too: it is on the open topics
    }
    std::string topic = target.topic_prefix;
    topic += '/';
    topic += event.kind();
    topic += '/';
    topic += event.sensor_id();
    std::uint64_t number = 0;
    {
      std::lock_guard lock(mutex);
      number = target.window_base + target.window.size();
      target.window.push_back({event.seq, false, false});
      ++target.outstanding;
    }
    auto status = publisher.publish(
        topic, event.json, config.qos, config.retain,
        [self = shared_from_this(), index, generation, number](const core::Status& outcome) {
          self->on_published(index, generation, number, outcome);
        });
    if (!status) {
      {
        std::lock_guard lock(mutex);
        target.window.pop_back();
        --target.outstanding;
        ++target.failures;
        target.rewind = true;
      }
      rate_limited_log.warn(kComponent, target.name,
                            "publishing to " + topic + ": " + status.error().message +
                                "; will publish again from seq " + std::to_string(event.seq));
      if (audit && !delivered.events.empty()) {
        hub::audit_delivery(audit, target.caller, target.audit_action, delivered);
      }
      return false;
    }
    ++published;
    if (event.granted) {
      delivered.events.push_back(std::move(event));
    }
  }
  {
    std::lock_guard lock(mutex);
    examined_through(target, target.follower->cursor());
  }
  if (audit && !delivered.events.empty()) {
    hub::audit_delivery(audit, target.caller, target.audit_action, delivered);
  }
  return batch->more && published < room;
}

void Republisher::Impl::on_published(std::size_t index, std::uint64_t generation,
                                     std::uint64_t number, const core::Status& outcome) {
  std::string failure;
  {
    std::lock_guard lock(mutex);
    Target& target = targets[index];
    --target.outstanding;
    if (outcome) {
      ++target.published;
    } else {
      ++target.failures;
      failure = target.name + ": " + outcome.error().message;
    }
    if (generation == target.generation) {
      if (!outcome) {
        target.rewind = true;
      } else if (number >= target.window_base &&
                 number - target.window_base < target.window.size()) {
        target.window[number - target.window_base].done = true;
        advance(target);
      }
    }
    // Waking the worker for every acknowledgement would cost a context switch per message (the
    // broker's CPU went mostly to those); it is woken once half the window is free, and at once
    // after a failure or when nothing is left in flight.
    if (!outcome || target.outstanding <= config.max_in_flight / 2) {
      woken = true;
      changed.notify_one();
    }
  }
  if (!failure.empty()) {
    rate_limited_log.warn(kComponent, "publish", failure + "; publishing again from the cursor");
  }
}

void Republisher::Impl::advance(Target& target) {
  while (!target.window.empty() && target.window.front().done) {
    target.acknowledged = std::max(target.acknowledged, target.window.front().upto);
    target.window.pop_front();
    ++target.window_base;
  }
}

void Republisher::Impl::examined_through(Target& target, core::Seq cursor) {
  if (target.window.empty()) {
    target.acknowledged = std::max(target.acknowledged, cursor);
    return;
  }
  // One marker behind the last publish is enough: a stalled front cannot grow the window.
  if (target.window.back().marker) {
    target.window.back().upto = std::max(target.window.back().upto, cursor);
  } else if (cursor > target.window.back().upto) {
    target.window.push_back({cursor, true, true});
  }
  advance(target);
}

core::Status Republisher::Impl::save_cursor(Target& target, core::Seq cursor) {
  if (!cursors) {
    return core::ok();
  }
  auto status = cursors->put(kRepublishCursorNamespace, target.name, std::to_string(cursor));
  if (!status) {
    return tl::unexpected(
        core::Error{status.error().code,
                    "saving the republish cursor of " + target.name + ": " + status.error().message,
                    {}});
  }
  target.saved = cursor;
  return core::ok();
}

void Republisher::Impl::save_cursors(bool force) {
  if (!cursors) {
    return;
  }
  const auto now = SteadyClock::now();
  if (!force && now - last_save < kSaveInterval) {
    return;
  }
  last_save = now;
  for (auto& target : targets) {
    core::Seq acknowledged = 0;
    {
      std::lock_guard lock(mutex);
      acknowledged = target.acknowledged;
    }
    if (acknowledged == target.saved) {
      continue;
    }
    if (auto status = save_cursor(target, acknowledged); !status) {
      // Not fatal: the older saved cursor only repeats events after a restart.
      rate_limited_log.warn(kComponent, "save", status.error().message);
    }
  }
}

void Republisher::Impl::stop() {
  if (!running) {
    return;
  }
  // Unsubscribed first and outside `mutex`: the committer may be waiting for it in wake().
  subscription.reset();
  {
    std::lock_guard lock(mutex);
    stopping = true;
    changed.notify_one();
  }
  if (worker.joinable()) {
    worker.join();
  }
  // The publisher's stop gives in-flight publishes a grace and fails the rest, so the cursors
  // saved below include every acknowledgement that arrived in time.
  publisher.stop();
  save_cursors(true);
  for (auto& target : targets) {
    target.follower.reset();
  }
  running = false;
  for (const auto& target : targets) {
    core::log_info(kComponent, target.name + " stopped after seq " + std::to_string(target.saved));
  }
}

Republisher::Republisher(const config::RepublishConfig& config, const hub::FollowerContext& context,
                         hub::CommitSignal& signal, MessagePublisher& publisher,
                         log::MetaStore* cursors, access::AuditTrail* audit)
    : impl_(std::make_shared<Impl>(config, context, signal, publisher, cursors, audit)) {}

Republisher::~Republisher() { stop(); }

core::Status Republisher::start() { return impl_->start(); }

void Republisher::stop() { impl_->stop(); }

RepublishStats Republisher::stats() const {
  RepublishStats out;
  out.connected = impl_->running && impl_->publisher.is_connected();
  std::lock_guard lock(impl_->mutex);
  for (const auto& target : impl_->targets) {
    out.targets.push_back({target.name, target.published, target.failures, target.behind_retention,
                           target.outstanding, target.acknowledged});
  }
  return out;
}

}  // namespace databroker::mqtt
