// CommitSignal: "the log holds more, up to this seq" — the wake-up call from the ingest
// committer to live subscribers.
//
// Subscribers (SSE streams) follow the durable log themselves: they read it from their own cursor
// and, once caught up, wait for this signal before reading again. The signal carries no readings,
// so it cannot overflow and never skips anything: a subscriber that misses a wake-up because it
// was busy reads the log again anyway when it is done. Memory per subscriber is one read batch.
//
// The ingest pipeline calls publish() after each durable commit, once the readings are visible
// to ReadingLog::read_since. A callback registered through subscribe() runs on the publishing
// thread, under the signal's mutex, and must be quick (post to an executor and return); it must
// not subscribe, publish, or destroy a Subscription of this signal (that would deadlock).
//
// Thread-safe: subscribe, publish and a Subscription's destruction may run on any threads. Once
// a Subscription's destructor returns, its callback is not running and will not run again.
// Every Subscription must be destroyed before its signal.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

#include "broker/core/reading.h"

namespace databroker::hub {

class CommitSignal {
 public:
  using Callback = std::function<void(core::Seq last_seq)>;

  // Registration of one callback; unregisters on destruction. Move-only; an empty (moved-from
  // or default) Subscription holds nothing.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription();

    bool is_active() const { return signal_ != nullptr; }
    // Unregisters now (blocks while the callback is running on another thread). Idempotent.
    void reset();

   private:
    friend class CommitSignal;
    Subscription(CommitSignal* signal, std::uint64_t id) : signal_(signal), id_(id) {}
    CommitSignal* signal_ = nullptr;
    std::uint64_t id_ = 0;
  };

  CommitSignal() = default;
  CommitSignal(const CommitSignal&) = delete;
  CommitSignal& operator=(const CommitSignal&) = delete;

  // Registers `callback` (must not be empty) until the returned Subscription is destroyed.
  [[nodiscard]] Subscription subscribe(Callback callback);

  // Tells every subscriber that the log holds readings up to `last_seq`. Called by the ingest
  // committer after each durable commit; runs the callbacks on the calling thread.
  void publish(core::Seq last_seq);

  // The highest seq published so far (0 before the first publish).
  core::Seq last_published() const;
  std::size_t subscriber_count() const;

 private:
  void unsubscribe(std::uint64_t id);

  mutable std::mutex mutex_;  // guards everything below; held while callbacks run
  std::map<std::uint64_t, Callback> callbacks_;
  std::uint64_t next_id_ = 1;
  core::Seq last_published_ = 0;
};

}  // namespace databroker::hub
