#include "broker/ingest/pipeline.h"

#include <chrono>

#include "broker/core/logging.h"

namespace databroker::ingest {

using core::ErrorCode;

std::string_view to_string(IngestPath path) { return path == IngestPath::Http ? "http" : "mqtt"; }

IngestPipeline::IngestPipeline(const Validator& validator, log::ReadingLog& log,
                               registry::SensorRegistry& registry, const core::Clock& clock,
                               PipelineOptions options)
    : validator_(validator),
      log_(log),
      registry_(registry),
      clock_(clock),
      options_(options),
      committer_([this] { run_committer(); }) {}

IngestPipeline::~IngestPipeline() { stop(); }

core::Status IngestPipeline::validate(std::vector<core::Reading>& batch) {
  if (batch.empty()) {
    return core::fail(ErrorCode::InvalidArgument, "the batch holds no readings",
                      {{"$", "empty_values", "no readings"}});
  }
  std::vector<core::FieldError> errors;
  const core::TimestampMs now = clock_.now_ms();
  const bool indexed = batch.size() > 1;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::string prefix = indexed ? "[" + std::to_string(i) + "]." : std::string();
    (void)validator_.check(batch[i], now, prefix, errors);
  }
  if (errors.empty()) return core::ok();
  // Count before returning: refused readings must show in /metrics, or a misconfigured sensor
  // would look like a silent one.
  counters_.rejected_batches.fetch_add(1, std::memory_order_relaxed);
  counters_.rejected_readings.fetch_add(batch.size(), std::memory_order_relaxed);
  {
    std::lock_guard lock(rejections_mutex_);
    for (const auto& e : errors) ++rejections_[e.reason];
  }
  std::string message = std::to_string(errors.size()) +
                        (errors.size() == 1 ? " problem" : " problems") +
                        "; nothing of the batch was stored";
  return core::fail(ErrorCode::InvalidArgument, std::move(message), std::move(errors));
}

core::Status IngestPipeline::try_submit(std::vector<core::Reading> batch, IngestPath path,
                                        Completion done) {
  return submit(std::move(batch), path, std::move(done), std::chrono::milliseconds(0));
}

core::Status IngestPipeline::submit(std::vector<core::Reading> batch, IngestPath path,
                                    Completion done, std::chrono::milliseconds max_wait) {
  if (auto status = validate(batch); !status) return status;
  // Refused before it is queued, so an MQTT delivery is held back (not acknowledged) instead of
  // failing after its PUBACK; HTTP answers 503.
  if (!log_.writable()) {
    return core::fail(ErrorCode::Unavailable,
                      "the log refuses writes (too little free disk space, or a failed disk); "
                      "retry later");
  }
  return enqueue(std::move(batch), path, std::move(done), max_wait);
}

core::Status IngestPipeline::enqueue(std::vector<core::Reading> batch, IngestPath path,
                                     Completion done, std::chrono::milliseconds max_wait) {
  const std::size_t size = batch.size();
  std::unique_lock lock(mutex_);
  // A batch larger than the whole queue is let in when the queue is empty, or it could never
  // enter; the bound then holds again as soon as it is committed.
  auto has_room = [&] {
    return stopping_ || queued_readings_ == 0 ||
           queued_readings_ + size <= options_.queue_capacity_readings;
  };
  if (!has_room()) {
    if (max_wait.count() <= 0 || !has_room_.wait_for(lock, max_wait, has_room)) {
      counters_.queue_full.fetch_add(1, std::memory_order_relaxed);
      return core::fail(ErrorCode::ResourceExhausted, "the ingest queue is full; retry shortly");
    }
  }
  if (stopping_) return core::fail(ErrorCode::Unavailable, "the broker is shutting down");
  queued_readings_ += size;
  counters_.queued_readings.store(queued_readings_, std::memory_order_relaxed);
  queue_.push_back(Pending{std::move(batch), path, std::move(done)});
  const bool wake = committer_waiting_;
  lock.unlock();
  if (wake) has_work_.notify_one();
  return core::ok();
}

void IngestPipeline::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !committer_.joinable()) return;
    stopping_ = true;
  }
  has_work_.notify_all();
  has_room_.notify_all();
  if (committer_.joinable()) committer_.join();
}

void IngestPipeline::run_committer() {
  std::vector<Pending> group;
  bool linger = false;
  while (true) {
    std::size_t group_readings = 0;
    {
      std::unique_lock lock(mutex_);
      committer_waiting_ = true;
      has_work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      committer_waiting_ = false;
      if (queue_.empty()) return;  // stopping, and everything queued is committed
      // Group commit: everything waiting, up to the cap, goes into one atomic write.
      while (!queue_.empty() && (group.empty() || group_readings + queue_.front().batch.size() <=
                                                      options_.max_commit_readings)) {
        group_readings += queue_.front().batch.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit(group);
    group.clear();
    {
      std::lock_guard lock(mutex_);
      // The queue bound counts readings until they are durable, so backpressure covers the
      // write in progress too.
      queued_readings_ -= group_readings;
      counters_.queued_readings.store(queued_readings_, std::memory_order_relaxed);
      linger = !stopping_ && group_readings < options_.linger_below_readings;
    }
    has_room_.notify_all();
    // A small group under load means submissions trickle in one by one: let a few gather.
    // Sleeping rather than waiting keeps the submitters from notifying meanwhile.
    if (linger && options_.commit_linger.count() > 0) {
      std::this_thread::sleep_for(options_.commit_linger);
    }
  }
}

namespace {

void complete(Completion& done, core::Result<Accepted> result) {
  try {
    done(std::move(result));
  } catch (...) {
    core::log_error("ingest", "a completion threw; ignored");
  }
}

}  // namespace

core::Status IngestPipeline::settle_sensors(std::vector<Pending>& group,
                                            std::vector<bool>& refused) {
  // Validation checked each reading's kind against the registry as it was then; a sensor first
  // seen in two batches at once (or in two groups in a row) could still arrive with two kinds.
  // Its first reading decides: it is registered with that kind, and a batch that disagrees is
  // refused whole, before anything is written, so the log never holds a reading of another kind
  // than its registered sensor's. One registry lookup per distinct sensor and group.
  std::map<std::string, std::string, std::less<>> kinds;
  const core::TimestampMs now = clock_.now_ms();
  for (std::size_t b = 0; b < group.size(); ++b) {
    std::vector<core::FieldError> errors;
    for (std::size_t i = 0; i < group[b].batch.size(); ++i) {
      const core::Reading& r = group[b].batch[i];
      auto it = kinds.find(r.sensor_id);
      if (it == kinds.end()) {
        std::string kind = r.kind;
        if (auto known = registry_.kind_of(r.sensor_id)) {
          kind = std::move(*known);
        } else if (auto status = registry_.register_seen(r.sensor_id, r.kind, now); !status) {
          return status;  // the registry cannot be written: nothing of the group is
        }
        it = kinds.emplace(r.sensor_id, std::move(kind)).first;
      }
      if (it->second != r.kind) {
        const std::string prefix =
            group[b].batch.size() > 1 ? "[" + std::to_string(i) + "]." : std::string();
        errors.push_back(
            {prefix + "kind", "kind_mismatch", "sensor is registered as '" + it->second + "'"});
      }
    }
    if (!errors.empty()) {
      refused[b] = true;
      counters_.rejected_batches.fetch_add(1, std::memory_order_relaxed);
      counters_.rejected_readings.fetch_add(group[b].batch.size(), std::memory_order_relaxed);
      {
        std::lock_guard lock(rejections_mutex_);
        rejections_["kind_mismatch"] += errors.size();
      }
      complete(group[b].done,
               core::fail(ErrorCode::InvalidArgument,
                          std::to_string(errors.size()) +
                              " readings of another kind than their sensor's; nothing of the "
                              "batch was stored",
                          std::move(errors)));
    }
  }
  return core::ok();
}

void IngestPipeline::commit(std::vector<Pending>& group) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<bool> refused(group.size(), false);
  // Register new sensors before their readings are durable, so the log never holds a reading
  // of a sensor the registry does not know.
  core::Status status = settle_sensors(group, refused);

  std::vector<core::Reading> readings;
  std::size_t total = 0;
  for (std::size_t b = 0; b < group.size(); ++b) {
    if (!refused[b]) total += group[b].batch.size();
  }
  if (status && total == 0) return;  // every batch of the group was refused
  readings.reserve(total);
  for (std::size_t b = 0; b < group.size(); ++b) {
    if (refused[b]) continue;
    for (auto& r : group[b].batch) readings.push_back(std::move(r));
  }
  core::Result<log::SeqRange> range =
      status ? log_.append(readings, clock_.now_ms())
             : core::Result<log::SeqRange>(tl::unexpected(status.error()));

  if (!range) {
    counters_.commit_failures.fetch_add(1, std::memory_order_relaxed);
    core::log_error("ingest", "commit of " + std::to_string(total) +
                                  " readings failed: " + range.error().message);
    for (std::size_t b = 0; b < group.size(); ++b) {
      if (!refused[b]) complete(group[b].done, tl::unexpected(range.error()));
    }
    return;
  }

  registry_.observe(readings);
  counters_.commits.fetch_add(1, std::memory_order_relaxed);
  counters_.committed_readings.fetch_add(total, std::memory_order_relaxed);
  const auto took = std::chrono::steady_clock::now() - started;
  counters_.commit_micros_total.fetch_add(
      std::chrono::duration_cast<std::chrono::microseconds>(took).count(),
      std::memory_order_relaxed);
  counters_.commit_seconds.observe(std::chrono::duration<double>(took).count());
  counters_.commit_readings.observe(static_cast<double>(total));

  // The readings are not needed past this point: the completions only report the seq range.
  if (options_.recent != nullptr) options_.recent->append(readings);
  if (options_.commit_signal != nullptr) options_.commit_signal->publish(range->last);

  core::Seq next = range->first;
  for (std::size_t b = 0; b < group.size(); ++b) {
    if (refused[b]) continue;
    Pending& p = group[b];
    const std::size_t n = p.batch.size();
    Accepted accepted{n, next, next + n - 1};
    next += n;
    (p.path == IngestPath::Http ? counters_.accepted_http : counters_.accepted_mqtt)
        .fetch_add(n, std::memory_order_relaxed);
    complete(p.done, accepted);
  }
}

std::vector<std::pair<std::string, std::uint64_t>> IngestPipeline::rejections_by_reason() const {
  std::lock_guard lock(rejections_mutex_);
  return {rejections_.begin(), rejections_.end()};
}

}  // namespace databroker::ingest
