// An IngestSink for adapter tests: records every batch it accepts and can play a full queue.
//
// Accepted batches get consecutive seqs starting at 1, and `done` is called before submit
// returns (on the caller's thread, unlike the real committer: adapters must not rely on either).
// `refuse_next(n)` makes the next n calls fail with ResourceExhausted (or another code) without
// waiting, as a real queue that stayed full for the whole `max_wait` would.
//
// Thread-safe: adapters submit from their own threads while the test reads.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"
#include "broker/ingest/ingest_sink.h"

namespace databroker::testing {

class FakeIngestSink final : public ingest::IngestSink {
 public:
  // The next `n` calls of submit or try_submit fail with `code`; they record nothing.
  void refuse_next(std::size_t n, core::ErrorCode code = core::ErrorCode::ResourceExhausted) {
    std::lock_guard lock(mutex_);
    refusals_left_ = n;
    refusal_code_ = code;
  }

  core::Status try_submit(std::vector<core::Reading> batch, ingest::IngestPath /*path*/,
                          ingest::Completion done) override {
    ingest::Accepted accepted;
    {
      std::lock_guard lock(mutex_);
      ++calls_;
      if (refusals_left_ > 0) {
        --refusals_left_;
        ++refused_;
        return core::fail(refusal_code_, "fake sink refuses");
      }
      accepted.count = batch.size();
      accepted.first_seq = next_seq_;
      for (auto& reading : batch) reading.seq = next_seq_++;
      accepted.last_seq = next_seq_ - 1;
      batches_.push_back(std::move(batch));
    }
    if (done) {
      done(accepted);
    }
    return core::ok();
  }

  core::Status submit(std::vector<core::Reading> batch, ingest::IngestPath path,
                      ingest::Completion done, std::chrono::milliseconds /*max_wait*/) override {
    return try_submit(std::move(batch), path, std::move(done));
  }

  std::vector<std::vector<core::Reading>> batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }

  // Every accepted reading, in the order they were accepted.
  std::vector<core::Reading> readings() const {
    std::lock_guard lock(mutex_);
    std::vector<core::Reading> all;
    for (const auto& batch : batches_) all.insert(all.end(), batch.begin(), batch.end());
    return all;
  }

  std::size_t reading_count() const {
    std::lock_guard lock(mutex_);
    std::size_t count = 0;
    for (const auto& batch : batches_) count += batch.size();
    return count;
  }

  // Calls of submit and try_submit, refused ones included.
  std::size_t calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  std::size_t refused() const {
    std::lock_guard lock(mutex_);
    return refused_;
  }

 private:
  mutable std::mutex mutex_;  // guards everything below
  std::vector<std::vector<core::Reading>> batches_;
  core::Seq next_seq_ = 1;
  std::size_t calls_ = 0;
  std::size_t refused_ = 0;
  std::size_t refusals_left_ = 0;
  core::ErrorCode refusal_code_ = core::ErrorCode::ResourceExhausted;
};

}  // namespace databroker::testing
