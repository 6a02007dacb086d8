// Micro-benchmark of the audit trail's cost on the caller's thread: what AuditTrail::record()
// adds to a read request, with the real RocksDB audit store writing behind it in a temporary
// directory (removed afterwards).
//
//   databroker-audit-bench [records per thread, default 1000000] [threads, default 1]
//
// Reports, in nanoseconds per call:
//  - accept: record() of a prepared record while the queue has room (bursts of 1000 below the
//    queue bound, the writer catching up between bursts, untimed); mean over whole bursts, and
//    percentiles from a second pass that times each call (those include two clock reads);
//  - build+accept: the same plus building the record (its strings), as a handler pays it;
//  - drop: record() refused because the queue is full (the store held at a gate);
// and the writer's throughput into RocksDB (records per second, JSON-encoded, batched).
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "broker/access/audit.h"
#include "broker/core/logging.h"
#include "broker/core/time.h"
#include "broker/log/reading_log.h"

namespace {

using databroker::access::AuditRecord;
using databroker::access::AuditTrail;
using databroker::access::AuditTrailOptions;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBurst = 1000;
constexpr auto kFlushTimeout = std::chrono::seconds(60);

// Delegates to the real store, except while held: then append waits, so the queue fills.
class GatedStore final : public databroker::log::AuditStore {
 public:
  explicit GatedStore(databroker::log::AuditStore& store) : store_(store) {}

  databroker::core::Status append(std::span<const databroker::log::AuditEntry> batch) override {
    {
      std::unique_lock lock(mutex_);
      released_.wait(lock, [&] { return !held_; });
    }
    return store_.append(batch);
  }
  databroker::core::Result<databroker::log::AuditScanPage> scan(
      const databroker::log::AuditScan& query) const override {
    return store_.scan(query);
  }
  databroker::core::Status drop_before(databroker::core::TimestampMs cutoff) override {
    return store_.drop_before(cutoff);
  }
  void hold(bool held) {
    {
      std::lock_guard lock(mutex_);
      held_ = held;
    }
    released_.notify_all();
  }

 private:
  databroker::log::AuditStore& store_;
  std::mutex mutex_;  // guards held_
  std::condition_variable released_;
  bool held_ = false;
};

AuditRecord make_record(std::size_t i) {
  AuditRecord r;
  r.kind = "read";
  r.key_id = "k7q2m4xv9a3b";
  r.profile = "mobility-partner";
  r.action = "GET /v1/streams/{id}/readings";
  r.streams = {"parking-centrum-" + std::to_string(i % 500)};
  r.readings = 100;
  return r;
}

double ns_per(Clock::duration d, std::size_t n) {
  return n == 0 ? 0.0
                : static_cast<double>(
                      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) /
                      static_cast<double>(n);
}

struct Sample {
  Clock::duration total{};
  std::size_t calls = 0;
  std::vector<std::int64_t> per_call_ns;
};

double percentile(std::vector<std::int64_t>& values, double p) {
  if (values.empty()) {
    return 0;
  }
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                   values.end());
  return static_cast<double>(values[rank]);
}

// Runs `per_thread` calls on each of `threads` threads in bursts of kBurst (a barrier and a
// flush between bursts, untimed). `prepared`: records are built before the timed region.
Sample run_accept(AuditTrail& trail, std::size_t per_thread, int threads, bool prepared,
                  bool time_each) {
  Sample sample;
  std::mutex merge_mutex;
  const std::size_t bursts = (per_thread + kBurst - 1) / kBurst;
  for (std::size_t b = 0; b < bursts; ++b) {
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::vector<AuditRecord> records;
        if (prepared) {
          records.reserve(kBurst);
          for (std::size_t i = 0; i < kBurst; ++i) {
            records.push_back(make_record(i + static_cast<std::size_t>(t)));
          }
        }
        std::vector<std::int64_t> each;
        if (time_each) {
          each.reserve(kBurst);
        }
        const auto started = Clock::now();
        for (std::size_t i = 0; i < kBurst; ++i) {
          if (time_each) {
            const auto before = Clock::now();
            (void)trail.record(prepared ? std::move(records[i]) : make_record(i));
            each.push_back(
                std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - before)
                    .count());
          } else {
            (void)trail.record(prepared ? std::move(records[i]) : make_record(i));
          }
        }
        const auto elapsed = Clock::now() - started;
        std::lock_guard lock(merge_mutex);
        sample.total += elapsed;
        sample.calls += kBurst;
        sample.per_call_ns.insert(sample.per_call_ns.end(), each.begin(), each.end());
      });
    }
    for (auto& worker : workers) {
      worker.join();
    }
    if (auto flushed = trail.flush(kFlushTimeout); !flushed) {
      std::fprintf(stderr, "flush failed: %s\n", flushed.error().message.c_str());
      std::exit(1);
    }
  }
  return sample;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t per_thread = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
  databroker::core::set_log_level(databroker::core::LogLevel::Error);

  std::string pattern =
      (std::filesystem::temp_directory_path() / "databroker-audit-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = pattern;
  int status = 0;
  {
    auto storage =
        databroker::log::open_rocksdb_storage({dir + "/db", databroker::log::Durability::Sync});
    if (!storage) {
      std::fprintf(stderr, "cannot open storage: %s\n", storage.error().message.c_str());
      return 1;
    }
    GatedStore store((*storage)->audit());
    databroker::core::SystemClock clock;
    AuditTrailOptions options;
    AuditTrail trail(store, clock, options);

    // Warm-up: the queue's vectors reach their size, RocksDB its memtable.
    (void)run_accept(trail, 20 * kBurst, threads, true, false);

    const auto write_started = Clock::now();
    Sample accept = run_accept(trail, per_thread, threads, true, false);
    const auto write_elapsed = Clock::now() - write_started;
    Sample timed =
        run_accept(trail, std::min<std::size_t>(per_thread, 200'000), threads, true, true);
    Sample built = run_accept(trail, per_thread, threads, false, false);

    // The drop path: the writer held, the queue full.
    store.hold(true);
    while (trail.record(make_record(0))) {
    }
    std::vector<AuditRecord> refused;
    refused.reserve(100'000);
    for (std::size_t i = 0; i < 100'000; ++i) {
      refused.push_back(make_record(i));
    }
    const auto drop_started = Clock::now();
    for (auto& r : refused) {
      (void)trail.record(std::move(r));
    }
    const auto drop_elapsed = Clock::now() - drop_started;
    store.hold(false);
    (void)trail.flush(kFlushTimeout);
    trail.stop();

    const auto& c = trail.counters();
    std::printf("audit record() cost on the caller's thread, %d thread(s), %zu calls each\n",
                threads, per_thread);
    std::printf("  accept        mean %7.1f ns/call\n", ns_per(accept.total, accept.calls));
    std::printf(
        "  accept        p50 %6.0f  p99 %6.0f  p99.9 %7.0f  max %8.0f ns (timed per call)\n",
        percentile(timed.per_call_ns, 0.50), percentile(timed.per_call_ns, 0.99),
        percentile(timed.per_call_ns, 0.999), percentile(timed.per_call_ns, 1.0));
    std::printf("  build+accept  mean %7.1f ns/call\n", ns_per(built.total, built.calls));
    std::printf("  drop (full)   mean %7.1f ns/call\n", ns_per(drop_elapsed, refused.size()));
    std::printf(
        "writer: %.0f records/s into RocksDB (accept phase, flushes included)\n",
        static_cast<double>(accept.calls) / std::chrono::duration<double>(write_elapsed).count());
    std::printf("counters: recorded %llu written %llu dropped %llu lost %llu write_failures %llu\n",
                static_cast<unsigned long long>(c.recorded.load()),
                static_cast<unsigned long long>(c.written.load()),
                static_cast<unsigned long long>(c.dropped.load()),
                static_cast<unsigned long long>(c.lost.load()),
                static_cast<unsigned long long>(c.write_failures.load()));
    if (c.lost.load() != 0 || c.write_failures.load() != 0) {
      status = 1;
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return status;
}
