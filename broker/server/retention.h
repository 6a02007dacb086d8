// Retention: readings older than the storage's retention, or than their policy rule's, leave the
// log.
//
// One pass applies, in order:
//  1. the global retention (`storage.retention`, optional): `drop_received_before(now - r)`, by
//     the time the broker received each reading;
//  2. for each stream of the registry, the retention of the rule that decides it in the policy
//     in force (`Decision::retention()`, optional): `drop_stream_before(id, now - r)`, by the
//     reading's observation time.
// Both apply: a rule can shorten how long a stream's readings are kept, never lengthen it past
// the global retention. A stream no rule matches, or whose rule sets none, keeps what the global
// retention keeps. A policy reload takes effect at the next pass.
//
// The audit trail is not pruned here, on purpose: who read which data is evidence with its own
// lifetime (often longer than the data's), so tying it to readings retention would erase the
// record of reads exactly when the data it proves is gone. AuditStore::drop_before waits for a
// retention setting of its own.
//
// `RetentionPass::run_once` is the whole pass, callable directly (tests drive it with a fake
// clock); `RetentionWorker` calls it every interval on its own thread, so the deletes never run
// on the ingest writer or a network thread.
//
// Threading: run_once may be called from any thread (the worker is its only caller in the
// broker); concurrent calls are safe but gain nothing, as the log serialises retention runs.
// RetentionCounters are atomics, readable from any thread (/metrics) while a pass runs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

#include "broker/core/result.h"
#include "broker/core/time.h"
#include "broker/log/reading_log.h"
#include "broker/registry/sensor_registry.h"
#include "policies/engine.h"

namespace databroker::server {

inline constexpr std::chrono::milliseconds kDefaultRetentionInterval = std::chrono::seconds(60);

// Totals since start, for /metrics.
struct RetentionCounters {
  std::atomic<std::uint64_t> passes{0};
  std::atomic<std::uint64_t> removed_global{0};  // by storage.retention
  std::atomic<std::uint64_t> removed_rule{0};    // by policy rules' retention
  std::atomic<std::uint64_t> failures{0};        // failed steps (one per stream or global step)
};

// What one pass did.
struct RetentionOutcome {
  std::uint64_t removed_global = 0;
  std::uint64_t removed_rule = 0;
  std::size_t streams_with_rule = 0;  // streams whose deciding rule sets a retention
  std::size_t failures = 0;
  std::optional<core::Error> first_error;  // the first failure's error, when any
  bool stopped = false;                    // cut short by a stop request
};

class RetentionPass {
 public:
  // `log`, `registry` and `policy` must outlive the pass. `global` is storage.retention (none:
  // keep forever unless a rule says otherwise); when set it must be positive.
  RetentionPass(log::ReadingLog& log, registry::SensorRegistry& registry,
                const policies::PolicyEngine& policy,
                std::optional<std::chrono::milliseconds> global)
      : log_(log), registry_(registry), policy_(policy), global_(global) {}
  RetentionPass(const RetentionPass&) = delete;
  RetentionPass& operator=(const RetentionPass&) = delete;

  // One pass as of `now` (epoch ms). A failing step (global, or one stream) is counted and
  // logged, and the pass goes on with the next stream: one stream's trouble must not keep the
  // others' expired readings. Checks `stop` between streams. Blocks on disk I/O.
  RetentionOutcome run_once(core::TimestampMs now, const std::stop_token& stop = {});

  const RetentionCounters& counters() const { return counters_; }

 private:
  log::ReadingLog& log_;
  registry::SensorRegistry& registry_;
  const policies::PolicyEngine& policy_;
  const std::optional<std::chrono::milliseconds> global_;
  RetentionCounters counters_;
};

// Runs `pass` at once and then every `interval` on its own thread, as of `clock`, until
// destroyed. The destructor interrupts a pass between streams and joins the thread. `pass` and
// `clock` must outlive the worker.
class RetentionWorker {
 public:
  RetentionWorker(RetentionPass& pass, const core::Clock& clock,
                  std::chrono::milliseconds interval = kDefaultRetentionInterval);
  ~RetentionWorker();
  RetentionWorker(const RetentionWorker&) = delete;
  RetentionWorker& operator=(const RetentionWorker&) = delete;

 private:
  void run(const std::stop_token& stop);

  RetentionPass& pass_;
  const core::Clock& clock_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;  // only for wake_, which waits on the stop token
  std::condition_variable_any wake_;
  std::jthread thread_;  // last: starts once everything above exists
};

// `now - retention`, clamped to the smallest timestamp instead of overflowing.
core::TimestampMs retention_cutoff(core::TimestampMs now, std::chrono::milliseconds retention);

}  // namespace databroker::server
