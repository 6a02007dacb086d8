#include "broker/ingest/pipeline.h"

#include <catch2/catch.hpp>
#include <future>

#include "tests/support/fake_clock.h"
#include "tests/support/fake_meta_store.h"
#include "tests/support/fake_reading_log.h"
#include "tests/support/processes.h"

using namespace databroker;
using namespace std::chrono_literals;

namespace {

core::Reading noise(std::string sensor, double laeq, core::TimestampMs ts) {
  core::Reading r;
  r.sensor_id = std::move(sensor);
  r.kind = "noise";
  r.ts = ts;
  r.values = {{"laeq", laeq, true}};
  return r;
}

struct Fixture {
  testing::FakeClock clock;
  core::KindCatalog kinds = core::KindCatalog::with_builtins();
  testing::FakeMetaStore meta;
  testing::FakeReadingLog log;
  std::unique_ptr<registry::SensorRegistry> registry =
      std::move(registry::SensorRegistry::open(meta, false).value());
  ingest::Validator validator{kinds, {}, registry.get()};

  std::unique_ptr<ingest::IngestPipeline> make(ingest::PipelineOptions options = {}) {
    return std::make_unique<ingest::IngestPipeline>(validator, log, *registry, clock, options);
  }
};

// Submits and waits for the completion.
core::Result<ingest::Accepted> submit_and_wait(ingest::IngestSink& sink,
                                               std::vector<core::Reading> batch) {
  std::promise<core::Result<ingest::Accepted>> done;
  auto future = done.get_future();
  auto status =
      sink.try_submit(std::move(batch), ingest::IngestPath::Http,
                      [&](core::Result<ingest::Accepted> r) { done.set_value(std::move(r)); });
  if (!status) return tl::unexpected(status.error());
  return future.get();
}

}  // namespace

TEST_CASE("an accepted batch gets consecutive seqs once it is in the log", "[ingest][pipeline]") {
  Fixture f;
  auto pipeline = f.make();
  auto now = f.clock.now_ms();
  auto first = submit_and_wait(*pipeline, {noise("n1", 50, now), noise("n2", 51, now)});
  REQUIRE(first);
  CHECK(first->count == 2);
  CHECK(first->first_seq == 1);
  CHECK(first->last_seq == 2);
  auto second = submit_and_wait(*pipeline, {noise("n1", 52, now + 1)});
  REQUIRE(second);
  CHECK(second->first_seq == 3);
  CHECK(f.log.all().size() == 3);
  CHECK(f.log.all()[0].received_at == now);
}

TEST_CASE("new sensors are registered and the latest cache follows the log", "[ingest][pipeline]") {
  Fixture f;
  auto pipeline = f.make();
  auto now = f.clock.now_ms();
  REQUIRE(submit_and_wait(*pipeline, {noise("n1", 50, now - 10), noise("n1", 60, now)}));
  auto sensor = f.registry->find("n1");
  REQUIRE(sensor);
  CHECK(sensor->kind == "noise");
  CHECK_FALSE(sensor->declared);
  auto stream = f.registry->stream("n1");
  REQUIRE(stream);
  REQUIRE(stream->latest);
  CHECK(std::get<double>(stream->latest->values[0].value) == 60);
}

TEST_CASE("a batch with one invalid reading stores nothing and lists every problem",
          "[ingest][pipeline]") {
  Fixture f;
  auto pipeline = f.make();
  auto now = f.clock.now_ms();
  bool called = false;
  auto status = pipeline->try_submit(
      {noise("n1", 50, now), noise("n2", 170, now), noise("n 3", 40, now)},
      ingest::IngestPath::Http, [&](core::Result<ingest::Accepted>) { called = true; });
  REQUIRE_FALSE(status);
  CHECK(status.error().code == core::ErrorCode::InvalidArgument);
  REQUIRE(status.error().details.size() == 2);
  CHECK(status.error().details[0].field == "[1].values.laeq");
  CHECK(status.error().details[1].field == "[2].sensor");
  pipeline->stop();
  CHECK_FALSE(called);
  CHECK(f.log.all().empty());
  CHECK(pipeline->counters().rejected_batches == 1);
  auto reasons = pipeline->rejections_by_reason();
  CHECK(reasons.size() == 2);
}

TEST_CASE("a failed log write fails the whole group and stores nothing", "[ingest][pipeline]") {
  Fixture f;
  auto pipeline = f.make();
  f.log.fail_next_appends(1);
  auto result = submit_and_wait(*pipeline, {noise("n1", 50, f.clock.now_ms())});
  REQUIRE_FALSE(result);
  CHECK(result.error().code == core::ErrorCode::Unavailable);
  CHECK(f.log.all().empty());
  CHECK(pipeline->counters().commit_failures == 1);
  // The next write works again: a full disk that was freed needs no restart.
  CHECK(submit_and_wait(*pipeline, {noise("n1", 50, f.clock.now_ms())}));
}

TEST_CASE("while the log refuses writes, submit is Unavailable before anything is queued",
          "[ingest][pipeline]") {
  Fixture f;
  auto pipeline = f.make();
  f.log.set_writable(false);
  bool called = false;
  auto refused = pipeline->submit(
      {noise("n1", 50, f.clock.now_ms())}, ingest::IngestPath::Mqtt,
      [&](core::Result<ingest::Accepted>) { called = true; }, 0ms);
  REQUIRE_FALSE(refused);
  // Unavailable: the MQTT adapter holds the delivery back and retries; HTTP answers 503.
  CHECK(refused.error().code == core::ErrorCode::Unavailable);
  CHECK_FALSE(called);  // nothing queued, so no completion and no loss to count
  CHECK(f.log.appends() == 0);
  f.log.set_writable(true);
  CHECK(submit_and_wait(*pipeline, {noise("n1", 50, f.clock.now_ms())}));
}

// A log whose appends wait until the test opens the gate, to fill the queue deterministically.
class GatedLog final : public log::ReadingLog {
 public:
  explicit GatedLog(log::ReadingLog& inner) : inner_(inner) {}
  void open_gate() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  core::Result<log::SeqRange> append(std::span<core::Reading> batch,
                                     core::TimestampMs at) override {
    {
      std::unique_lock lock(mutex_);
      ++waiting_;
      cv_.wait(lock, [&] { return open_; });
    }
    return inner_.append(batch, at);
  }
  int waiting() {
    std::lock_guard lock(mutex_);
    return waiting_;
  }
  core::Seq last_seq() const override { return inner_.last_seq(); }
  core::Seq first_seq() const override { return inner_.first_seq(); }
  core::Result<core::Reading> get(core::Seq s) const override { return inner_.get(s); }
  core::Result<log::StreamPage> read_stream(const log::StreamQuery& q) const override {
    return inner_.read_stream(q);
  }
  core::Result<std::optional<core::Reading>> latest(std::string_view id) const override {
    return inner_.latest(id);
  }
  core::Result<log::FeedPage> read_since(core::Seq a, std::size_t l,
                                         const std::function<bool(const core::Reading&)>& k,
                                         std::size_t b) const override {
    return inner_.read_since(a, l, k, b);
  }
  core::Result<std::uint64_t> drop_received_before(core::TimestampMs c) override {
    return inner_.drop_received_before(c);
  }
  core::Result<std::uint64_t> drop_stream_before(std::string_view id,
                                                 core::TimestampMs c) override {
    return inner_.drop_stream_before(id, c);
  }

 private:
  log::ReadingLog& inner_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

TEST_CASE("a full queue refuses try_submit, and submit waits for room", "[ingest][pipeline]") {
  Fixture f;
  GatedLog gated(f.log);
  ingest::IngestPipeline pipeline(f.validator, gated, *f.registry, f.clock, {4, 100});
  auto now = f.clock.now_ms();
  std::atomic<int> completed{0};
  auto count = [&](core::Result<ingest::Accepted> r) {
    if (r) ++completed;
  };
  // The first batch is taken by the committer and held at the gate; it still counts against the
  // bound until it is durable.
  REQUIRE(pipeline.try_submit({noise("n1", 1, now), noise("n1", 2, now)}, ingest::IngestPath::Http,
                              count));
  REQUIRE(testing::wait_until([&] { return gated.waiting() == 1; }, 5s));
  REQUIRE(pipeline.try_submit({noise("n1", 3, now), noise("n1", 4, now)}, ingest::IngestPath::Http,
                              count));
  auto refused = pipeline.try_submit({noise("n1", 5, now)}, ingest::IngestPath::Http, count);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == core::ErrorCode::ResourceExhausted);
  CHECK(pipeline.counters().queue_full == 1);

  auto waiter = std::async(std::launch::async, [&] {
    return pipeline.submit({noise("n1", 5, now)}, ingest::IngestPath::Mqtt, count, 10s);
  });
  CHECK(waiter.wait_for(100ms) == std::future_status::timeout);  // still waiting for room
  gated.open_gate();
  CHECK(waiter.get());
  pipeline.stop();
  CHECK(completed == 3);
  CHECK(f.log.all().size() == 5);
  CHECK(pipeline.counters().accepted_mqtt == 1);
}

TEST_CASE("stop commits everything queued, then refuses new batches", "[ingest][pipeline]") {
  Fixture f;
  auto pipeline = f.make();
  std::atomic<int> completed{0};
  for (int i = 0; i < 50; ++i) {
    REQUIRE(
        pipeline->try_submit({noise("n1", i, f.clock.now_ms())}, ingest::IngestPath::Http,
                             [&](core::Result<ingest::Accepted> r) { completed += r ? 1 : 0; }));
  }
  pipeline->stop();
  CHECK(completed == 50);
  CHECK(f.log.all().size() == 50);
  auto late = pipeline->try_submit({noise("n1", 1, f.clock.now_ms())}, ingest::IngestPath::Http,
                                   [](core::Result<ingest::Accepted>) {});
  REQUIRE_FALSE(late);
  CHECK(late.error().code == core::ErrorCode::Unavailable);
}

TEST_CASE("readings waiting together are written in one group commit", "[ingest][pipeline]") {
  Fixture f;
  GatedLog gated(f.log);
  ingest::IngestPipeline pipeline(f.validator, gated, *f.registry, f.clock, {1000, 1000});
  auto now = f.clock.now_ms();
  std::atomic<int> completed{0};
  auto count = [&](core::Result<ingest::Accepted> r) { completed += r ? 1 : 0; };
  REQUIRE(pipeline.try_submit({noise("n1", 0, now)}, ingest::IngestPath::Http, count));
  REQUIRE(testing::wait_until([&] { return gated.waiting() == 1; }, 5s));
  for (int i = 1; i <= 20; ++i) {
    REQUIRE(pipeline.try_submit({noise("n1", i, now)}, ingest::IngestPath::Http, count));
  }
  gated.open_gate();
  pipeline.stop();
  CHECK(completed == 21);
  CHECK(f.log.appends() == 2);  // the held batch, then the 20 that waited behind it
  // Per-sensor order is arrival order.
  auto all = f.log.all();
  for (std::size_t i = 0; i < all.size(); ++i)
    CHECK(std::get<double>(all[i].values[0].value) == double(i));
}

TEST_CASE(
    "a new sensor arriving with two kinds at once keeps the first, the other batch is refused",
    "[ingest][pipeline]") {
  Fixture f;
  GatedLog gated(f.log);
  ingest::IngestPipeline pipeline(f.validator, gated, *f.registry, f.clock, {1000, 1000});
  const auto now = f.clock.now_ms();
  std::vector<core::Result<ingest::Accepted>> results;
  std::mutex mutex;
  auto keep = [&](core::Result<ingest::Accepted> r) {
    std::lock_guard lock(mutex);
    results.push_back(std::move(r));
  };
  // Hold the committer on an unrelated sensor, so the next two batches form one group.
  REQUIRE(pipeline.try_submit({noise("held", 1, now)}, ingest::IngestPath::Http, keep));
  REQUIRE(testing::wait_until([&] { return gated.waiting() == 1; }, 5s));
  REQUIRE(pipeline.try_submit({noise("twin", 50, now)}, ingest::IngestPath::Http, keep));
  core::Reading parking;
  parking.sensor_id = "twin";
  parking.kind = "parking";
  parking.ts = now;
  parking.values = {{"occupied", true, true}};
  REQUIRE(pipeline.try_submit({parking}, ingest::IngestPath::Http, keep));  // validates: unknown
  gated.open_gate();
  pipeline.stop();

  // A refused batch is completed before the group is written, so before the others.
  REQUIRE(results.size() == 3);
  CHECK(results[0]);
  REQUIRE_FALSE(results[1]);
  CHECK(results[1].error().code == core::ErrorCode::InvalidArgument);
  CHECK(results[1].error().details.at(0).reason == "kind_mismatch");
  CHECK(results[2]);
  CHECK(f.registry->find("twin")->kind == "noise");
  CHECK(f.log.all().size() == 2);
  for (const auto& r : f.log.all()) CHECK(r.kind == "noise");
}
