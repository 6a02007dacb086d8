#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <thread>
#include <vector>

#include "broker/log/reading_log.h"
#include "tests/integration/log/log_fixture.h"

namespace databroker::log::test {
namespace {

constexpr TimestampMs kDay = 86'400'000;
constexpr TimestampMs kNow = 1'795'000'000'000;

TEST_CASE("retention removes old readings with their index entries and moves first_seq",
          "[log][retention]") {
  LogFixture f;
  append(f.log(), {reading("a", 1), reading("b", 2), reading("a", 3)}, kNow - 3 * kDay);
  append(f.log(), {reading("a", 4), reading("b", 5)}, kNow - 2 * kDay);
  append(f.log(), {reading("a", 6)}, kNow);

  CHECK(value_of(f.log().drop_received_before(kNow - 2 * kDay)) == 3);
  CHECK(f.log().first_seq() == 4);
  CHECK(f.log().last_seq() == 6);
  CHECK(f.log().get(1).error().code == core::ErrorCode::NotFound);
  CHECK(seqs_of(value_of(f.log().read_stream({.sensor_id = "a"})).readings) ==
        std::vector<Seq>{4, 6});
  CHECK(seqs_of(value_of(f.log().read_stream({.sensor_id = "b"})).readings) == std::vector<Seq>{5});
  CHECK(seqs_of(value_of(f.log().read_since(0, 100, {}, 100)).readings) ==
        std::vector<Seq>{4, 5, 6});

  // Nothing more is old enough: a second run is a no-op.
  CHECK(value_of(f.log().drop_received_before(kNow - 2 * kDay)) == 0);
  CHECK(f.log().first_seq() == 4);

  f.reopen();
  CHECK(f.log().first_seq() == 4);
  CHECK(f.log().last_seq() == 6);
}

TEST_CASE("retention stops at the first reading received at or after the cutoff",
          "[log][retention]") {
  LogFixture f;
  std::vector<Reading> batch = {reading("a", 1), reading("a", 2), reading("a", 3)};
  batch[1].received_at = kNow;  // pre-stamped newer than its neighbours
  (void)value_of(f.log().append(batch, kNow - kDay));

  CHECK(value_of(f.log().drop_received_before(kNow - 1)) == 1);
  CHECK(f.log().first_seq() == 2);
  CHECK(value_of(f.log().get(3)).seq == 3);
}

TEST_CASE("a log emptied by retention keeps its seqs increasing after a reopen",
          "[log][retention]") {
  LogFixture f;
  append(f.log(), {reading("a", 1), reading("a", 2)}, kNow - kDay);
  CHECK(value_of(f.log().drop_received_before(kNow)) == 2);
  CHECK(f.log().first_seq() == 0);
  CHECK(f.log().last_seq() == 2);
  CHECK_FALSE(value_of(f.log().latest("a")).has_value());

  f.reopen();
  CHECK(f.log().last_seq() == 2);
  CHECK(f.log().first_seq() == 0);
  auto next = append(f.log(), {reading("a", 3)});
  CHECK(next[0].seq == 3);
  CHECK(f.log().first_seq() == 3);
}

TEST_CASE("retention removes more than one batch's worth", "[log][retention]") {
  LogFixture f;
  std::vector<Reading> old;
  old.reserve(25'000);
  for (int i = 0; i < 25'000; ++i) {
    old.push_back(reading(i % 3 == 0 ? "x" : "y", i));
  }
  append(f.log(), old, kNow - kDay);
  append(f.log(), {reading("x", 99'999)}, kNow);

  CHECK(value_of(f.log().drop_received_before(kNow)) == 25'000);
  CHECK(f.log().first_seq() == 25'001);
  auto x = value_of(f.log().read_stream({.sensor_id = "x"}));
  CHECK(seqs_of(x.readings) == std::vector<Seq>{25'001});
  CHECK(value_of(f.log().read_stream({.sensor_id = "y"})).readings.empty());
}

TEST_CASE("retention running beside appends removes only old readings", "[log][retention]") {
  LogFixture f;
  std::vector<Reading> old;
  old.reserve(12'000);
  for (int i = 0; i < 12'000; ++i) {
    old.push_back(reading("s" + std::to_string(i % 5), i));
  }
  append(f.log(), old, kNow - kDay);

  std::atomic<bool> appending{true};
  std::thread appender([&] {
    for (int i = 0; i < 200; ++i) {
      std::vector<Reading> batch = {reading("s1", 100'000 + i), reading("new", i)};
      if (!f.log().append(batch, kNow + i)) {
        break;
      }
    }
    appending = false;
  });
  std::uint64_t dropped = 0;
  do {
    dropped += value_of(f.log().drop_received_before(kNow));
  } while (appending);
  appender.join();
  dropped += value_of(f.log().drop_received_before(kNow));

  CHECK(dropped == 12'000);
  CHECK(f.log().first_seq() == 12'001);
  CHECK(f.log().last_seq() == 12'400);
  auto feed = value_of(f.log().read_since(0, 1000, {}, 1000));
  REQUIRE(feed.readings.size() == 400);
  for (std::size_t i = 0; i < feed.readings.size(); ++i) {
    CHECK(feed.readings[i].seq == 12'001 + i);
  }
  CHECK(value_of(f.log().read_stream({.sensor_id = "new", .limit = 1000})).readings.size() == 200);
}

}  // namespace
}  // namespace databroker::log::test
