#include "broker/server/retention.h"

#include <limits>
#include <string>
#include <utility>

#include "broker/core/logging.h"
#include "broker/hub/visibility.h"

namespace databroker::server {

namespace {

constexpr std::string_view kComponent = "retention";

}  // namespace

core::TimestampMs retention_cutoff(core::TimestampMs now, std::chrono::milliseconds retention) {
  const auto span = retention.count();
  if (span > 0 && now < std::numeric_limits<core::TimestampMs>::min() + span) {
    return std::numeric_limits<core::TimestampMs>::min();
  }
  if (span < 0 && now > std::numeric_limits<core::TimestampMs>::max() + span) {
    return std::numeric_limits<core::TimestampMs>::max();
  }
  return now - span;
}

RetentionOutcome RetentionPass::run_once(core::TimestampMs now, const std::stop_token& stop) {
  RetentionOutcome outcome;
  auto failed = [&](core::Error error) {
    ++outcome.failures;
    counters_.failures.fetch_add(1, std::memory_order_relaxed);
    if (!outcome.first_error) {
      outcome.first_error = std::move(error);
    }
  };

  if (global_) {
    const core::TimestampMs cutoff = retention_cutoff(now, *global_);
    if (auto removed = log_.drop_received_before(cutoff); removed) {
      outcome.removed_global = *removed;
      counters_.removed_global.fetch_add(*removed, std::memory_order_relaxed);
      if (*removed > 0) {
        for (const auto& stream : registry_.streams()) {
          auto forgotten = registry_.forget_removed_latest(
              stream.sensor.id, log_,
              [&](const core::Reading& r) { return r.received_at < cutoff; });
          if (!forgotten) failed(std::move(forgotten.error()));
        }
      }
    } else {
      failed(std::move(removed.error()));
    }
  }

  // One snapshot for the whole pass, so a reload in the middle never mixes two versions.
  const auto snapshot = policy_.snapshot();
  for (const auto& stream : registry_.streams()) {
    if (stop.stop_requested()) {
      outcome.stopped = true;
      break;
    }
    const auto retention = snapshot->decide(hub::facts_of(stream.sensor)).retention();
    if (!retention) {
      continue;
    }
    ++outcome.streams_with_rule;
    const core::TimestampMs cutoff = retention_cutoff(now, *retention);
    auto removed = log_.drop_stream_before(stream.sensor.id, cutoff);
    if (!removed) {
      failed(std::move(removed.error()));
      continue;
    }
    if (*removed > 0) {
      auto forgotten = registry_.forget_removed_latest(
          stream.sensor.id, log_, [&](const core::Reading& r) { return r.ts < cutoff; });
      if (!forgotten) failed(std::move(forgotten.error()));
    }
    outcome.removed_rule += *removed;
    counters_.removed_rule.fetch_add(*removed, std::memory_order_relaxed);
  }
  counters_.passes.fetch_add(1, std::memory_order_relaxed);

  // One line per pass, not one per failing stream: a full disk would otherwise log a warning for
  // every stream every minute.
  if (outcome.first_error) {
    core::log_warn(kComponent,
                   std::to_string(outcome.failures) +
                       " retention steps failed; the first: " + outcome.first_error->message);
  }
  if (outcome.removed_global + outcome.removed_rule > 0) {
    core::log_info(kComponent, "removed " + std::to_string(outcome.removed_global) +
                                   " readings by storage.retention and " +
                                   std::to_string(outcome.removed_rule) + " by policy rules (" +
                                   std::to_string(outcome.streams_with_rule) +
                                   " streams have a rule retention)");
  }
  return outcome;
}

RetentionWorker::RetentionWorker(RetentionPass& pass, const core::Clock& clock,
                                 std::chrono::milliseconds interval)
    : pass_(pass),
      clock_(clock),
      interval_(interval),
      thread_([this](const std::stop_token& stop) { run(stop); }) {}

RetentionWorker::~RetentionWorker() {
  thread_.request_stop();
  thread_.join();
}

void RetentionWorker::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    (void)pass_.run_once(clock_.now_ms(), stop);  // the pass logs and counts its own failures
    std::unique_lock lock(mutex_);
    // Returns early only on a stop request.
    (void)wake_.wait_for(lock, stop, interval_, [] { return false; });
  }
}

}  // namespace databroker::server
