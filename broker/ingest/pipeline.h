// IngestPipeline: the IngestSink implementation. Validation, a bounded queue and a group
// committer thread that appends to the durable log.
//
// The queue is bounded in readings. The committer takes every waiting batch up to
// `max_commit_readings`, registers new sensors, appends them in one atomic log write (one fsync
// with Durability::Sync), updates the latest cache, publishes the commit signal (if any), then
// completes each batch. A failed write fails every batch of that group; none of it is stored.
//
// Counters are atomics, readable from any thread for /metrics.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "broker/core/prometheus.h"
#include "broker/core/time.h"
#include "broker/hub/commit_signal.h"
#include "broker/hub/recent_readings.h"
#include "broker/ingest/ingest_sink.h"
#include "broker/ingest/validation.h"
#include "broker/log/reading_log.h"
#include "broker/registry/sensor_registry.h"

namespace databroker::ingest {

struct PipelineOptions {
  std::size_t queue_capacity_readings = 100000;
  std::size_t max_commit_readings = 10000;
  // After committing a group of fewer than `linger_below_readings`, the committer waits this
  // long before taking the next one, so that a stream of small submissions (one MQTT message,
  // one HTTP reading) is written in groups instead of one log write and one thread wake-up per
  // reading. Bounds the latency it adds; zero turns it off.
  std::chrono::microseconds commit_linger{200};
  std::size_t linger_below_readings = 256;
  // When set, published with the last seq after each durable commit, before the completions run
  // (live subscribers follow the log). Must outlive the pipeline.
  hub::CommitSignal* commit_signal = nullptr;
  // When set, each durable commit's readings are handed to it (moved) just before the commit
  // signal, so live subscribers near the head read memory instead of RocksDB. Must outlive the
  // pipeline.
  hub::RecentReadings* recent = nullptr;
};

struct IngestCounters {
  std::atomic<std::uint64_t> accepted_http{0};
  std::atomic<std::uint64_t> accepted_mqtt{0};
  std::atomic<std::uint64_t> rejected_batches{0};
  std::atomic<std::uint64_t> rejected_readings{0};
  std::atomic<std::uint64_t> queue_full{0};
  std::atomic<std::uint64_t> commit_failures{0};
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> committed_readings{0};
  std::atomic<std::uint64_t> commit_micros_total{0};
  std::atomic<std::uint64_t> queued_readings{0};
  // Per group commit: how long the log write took (fsync included) and how many readings it held.
  core::Histogram<12> commit_seconds{
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
  core::Histogram<8> commit_readings{{1, 4, 16, 64, 256, 1024, 4096, 16384}};
};

class IngestPipeline final : public IngestSink {
 public:
  // All references must outlive the pipeline. Starts the committer thread.
  IngestPipeline(const Validator& validator, log::ReadingLog& log,
                 registry::SensorRegistry& registry, const core::Clock& clock,
                 PipelineOptions options);
  ~IngestPipeline() override;  // stops (drains) if still running

  core::Status try_submit(std::vector<core::Reading> batch, IngestPath path,
                          Completion done) override;
  core::Status submit(std::vector<core::Reading> batch, IngestPath path, Completion done,
                      std::chrono::milliseconds max_wait) override;

  // Refuses new batches, commits everything queued, joins the committer. Idempotent.
  void stop();

  const IngestCounters& counters() const { return counters_; }

  // Per-reason rejection counts, for /metrics: (reason, count) pairs.
  std::vector<std::pair<std::string, std::uint64_t>> rejections_by_reason() const;

 private:
  struct Pending {
    std::vector<core::Reading> batch;
    IngestPath path;
    Completion done;
  };

  core::Status validate(std::vector<core::Reading>& batch);
  core::Status enqueue(std::vector<core::Reading> batch, IngestPath path, Completion done,
                       std::chrono::milliseconds max_wait);
  void run_committer();
  void commit(std::vector<Pending>& group);
  // Registers the group's new sensors and refuses (completing them) the batches whose readings
  // disagree with their sensor's kind. Fails only when the registry cannot be written.
  core::Status settle_sensors(std::vector<Pending>& group, std::vector<bool>& refused);

  const Validator& validator_;
  log::ReadingLog& log_;
  registry::SensorRegistry& registry_;
  const core::Clock& clock_;
  const PipelineOptions options_;
  IngestCounters counters_;

  mutable std::mutex rejections_mutex_;  // guards rejections_
  std::map<std::string, std::uint64_t, std::less<>> rejections_;

  std::mutex mutex_;  // guards queue_, queued_readings_, stopping_, committer_waiting_
  std::condition_variable has_work_;
  // Submitters notify has_work_ only while the committer waits on it: a busy or lingering
  // committer looks at the queue again by itself, and a notify per reading would cost a futex
  // call on the submitting thread for nothing.
  bool committer_waiting_ = false;
  std::condition_variable has_room_;
  std::deque<Pending> queue_;
  std::size_t queued_readings_ = 0;
  bool stopping_ = false;
  std::thread committer_;
};

}  // namespace databroker::ingest
