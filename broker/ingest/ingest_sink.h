// The one door through which adapters hand readings to the broker.
//
// A batch is validated whole: if any reading is invalid nothing is queued and the error lists
// every problem. A valid batch enters a bounded queue; the group committer appends it to the
// durable log together with whatever else is waiting, and only then calls `done`. A batch is
// atomic: all of it is stored or none.
//
// Threading: `try_submit` and `submit` may be called from any thread. `done` runs on the
// committer thread: it must be quick and must not throw (post to your own executor).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::ingest {

enum class IngestPath { Http, Mqtt };
std::string_view to_string(IngestPath path);

struct Accepted {
  std::size_t count = 0;
  core::Seq first_seq = 0;
  core::Seq last_seq = 0;
};

using Completion = std::function<void(core::Result<Accepted>)>;

class IngestSink {
 public:
  virtual ~IngestSink() = default;

  // Validates and queues without waiting. InvalidArgument (with details) for an invalid batch;
  // ResourceExhausted when the queue has no room (the caller answers 503 with Retry-After);
  // Unavailable when shutting down. `done` is called only when this returns success.
  virtual core::Status try_submit(std::vector<core::Reading> batch, IngestPath path,
                                  Completion done) = 0;

  // As try_submit, but waits up to `max_wait` for room in the queue: backpressure for callers
  // that cannot refuse (the MQTT callback). ResourceExhausted after the wait.
  virtual core::Status submit(std::vector<core::Reading> batch, IngestPath path, Completion done,
                              std::chrono::milliseconds max_wait) = 0;
};

}  // namespace databroker::ingest
