#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string_view>
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

TEST_CASE("stream retention removes only that stream's readings observed before the cutoff",
          "[log][retention]") {
  LogFixture f;
  // Observation times 10..60; received long after, so received_at plays no part.
  append(
      f.log(),
      {reading("a", 10), reading("b", 10), reading("a", 50), reading("ab", 10), reading("a", 20)},
      kNow);
  append(f.log(), {reading("a", 30), reading("b", 60), reading("a", 60)}, kNow);

  CHECK(value_of(f.log().drop_stream_before("a", 30)) == 2);  // ts 10 and 20, not 30
  CHECK(seqs_of(value_of(f.log().read_stream({.sensor_id = "a"})).readings) ==
        std::vector<Seq>{6, 3, 8});
  CHECK(f.log().get(1).error().code == core::ErrorCode::NotFound);
  CHECK(f.log().get(5).error().code == core::ErrorCode::NotFound);
  // Other streams, including one whose id "a" prefixes, keep everything.
  CHECK(seqs_of(value_of(f.log().read_stream({.sensor_id = "b"})).readings) ==
        std::vector<Seq>{2, 7});
  CHECK(seqs_of(value_of(f.log().read_stream({.sensor_id = "ab"})).readings) ==
        std::vector<Seq>{4});
  CHECK(seqs_of(value_of(f.log().read_since(0, 100, {}, 100)).readings) ==
        std::vector<Seq>{2, 3, 4, 6, 7, 8});
  CHECK(value_of(f.log().latest("a"))->seq == 8);
  // The reading at seq 1 is gone, so the first seq moves to the next one still stored.
  CHECK(f.log().first_seq() == 2);
  CHECK(f.log().last_seq() == 8);

  // Nothing more is old enough: a second run is a no-op.
  CHECK(value_of(f.log().drop_stream_before("a", 30)) == 0);
  CHECK(value_of(f.log().drop_stream_before("unknown", kNow)) == 0);

  f.reopen();
  CHECK(f.log().first_seq() == 2);
  CHECK(f.log().last_seq() == 8);
  CHECK(seqs_of(value_of(f.log().read_stream({.sensor_id = "a"})).readings) ==
        std::vector<Seq>{6, 3, 8});
}

TEST_CASE("stream retention of the newest readings keeps seqs increasing after a reopen",
          "[log][retention]") {
  LogFixture f;
  append(f.log(), {reading("keep", 100), reading("old", 1), reading("old", 2)}, kNow);

  CHECK(value_of(f.log().drop_stream_before("old", 50)) == 2);
  CHECK_FALSE(value_of(f.log().latest("old")).has_value());
  CHECK(value_of(f.log().read_stream({.sensor_id = "old"})).readings.empty());
  CHECK(f.log().first_seq() == 1);

  // The highest seq the log ever handed out was removed: it must not come back.
  f.reopen();
  CHECK(f.log().last_seq() == 3);
  auto next = append(f.log(), {reading("old", 200)});
  CHECK(next[0].seq == 4);
}

TEST_CASE("stream retention that empties the log leaves first_seq at zero", "[log][retention]") {
  LogFixture f;
  append(f.log(), {reading("a", 1), reading("a", 2)}, kNow);

  CHECK(value_of(f.log().drop_stream_before("a", 3)) == 2);
  CHECK(f.log().first_seq() == 0);
  CHECK(f.log().last_seq() == 2);

  // The global retention after it sees an empty log and keeps the watermark.
  CHECK(value_of(f.log().drop_received_before(kNow + 1)) == 0);
  f.reopen();
  CHECK(f.log().first_seq() == 0);
  CHECK(f.log().last_seq() == 2);
  auto next = append(f.log(), {reading("a", 3)});
  CHECK(next[0].seq == 3);
  CHECK(f.log().first_seq() == 3);
}

TEST_CASE("global retention after stream retention never lowers the seq watermark",
          "[log][retention]") {
  LogFixture f;
  append(f.log(), {reading("a", 1)}, kNow - kDay);
  append(f.log(), {reading("b", 1)}, kNow);

  CHECK(value_of(f.log().drop_stream_before("b", 2)) == 1);  // seq 2, the newest
  CHECK(value_of(f.log().drop_received_before(kNow)) == 1);  // seq 1
  f.reopen();
  CHECK(f.log().last_seq() == 2);
  CHECK(f.log().first_seq() == 0);
}

TEST_CASE("stream retention refuses an empty or NUL sensor id", "[log][retention]") {
  LogFixture f;
  CHECK(f.log().drop_stream_before("", kNow).error().code == core::ErrorCode::InvalidArgument);
  CHECK(f.log().drop_stream_before(std::string_view("a\0b", 3), kNow).error().code ==
        core::ErrorCode::InvalidArgument);
}

TEST_CASE("stream retention removes more than one batch's worth, with negative times",
          "[log][retention]") {
  LogFixture f;
  std::vector<Reading> batch;
  batch.reserve(25'000);
  for (int i = 0; i < 25'000; ++i) {
    batch.push_back(reading(i % 2 == 0 ? "x" : "y", i - 12'500));
  }
  append(f.log(), batch, kNow);

  // x has even i: ts -12500, -12498, ...; the cutoff 0 keeps its 6,250 readings with ts >= 0.
  CHECK(value_of(f.log().drop_stream_before("x", 0)) == 6'250);
  auto x = value_of(f.log().read_stream({.sensor_id = "x", .limit = 20'000}));
  REQUIRE(x.readings.size() == 6'250);
  CHECK(x.readings.front().ts == 0);
  CHECK(value_of(f.log().read_stream({.sensor_id = "y", .limit = 20'000})).readings.size() ==
        12'500);
  CHECK(f.log().first_seq() == 2);  // seq 1 was x's oldest
  CHECK(value_of(f.log().read_since(0, 30'000, {}, 30'000)).readings.size() == 18'750);
}

TEST_CASE("stream retention running beside appends removes only old readings of its stream",
          "[log][retention]") {
  LogFixture f;
  std::vector<Reading> old;
  old.reserve(12'000);
  for (int i = 0; i < 12'000; ++i) {
    old.push_back(reading(i % 2 == 0 ? "s" : "t", i));
  }
  append(f.log(), old, kNow);

  constexpr TimestampMs kCutoff = 100'000;
  std::atomic<bool> appending{true};
  std::thread appender([&] {
    for (int i = 0; i < 200; ++i) {
      std::vector<Reading> batch = {reading("s", kCutoff + i), reading("t", kCutoff + i)};
      if (!f.log().append(batch, kNow + i)) {
        break;
      }
    }
    appending = false;
  });
  std::uint64_t dropped = 0;
  do {
    dropped += value_of(f.log().drop_stream_before("s", kCutoff));
  } while (appending);
  appender.join();
  dropped += value_of(f.log().drop_stream_before("s", kCutoff));

  CHECK(dropped == 6'000);
  CHECK(f.log().last_seq() == 12'400);
  auto s = value_of(f.log().read_stream({.sensor_id = "s", .limit = 1000}));
  REQUIRE(s.readings.size() == 200);
  CHECK(s.readings.front().ts == kCutoff);
  CHECK(value_of(f.log().read_stream({.sensor_id = "t", .limit = 10'000})).readings.size() ==
        6'200);
  CHECK(value_of(f.log().latest("s"))->ts == kCutoff + 199);
  // Every index entry left still finds its record, and every record its index entry.
  CHECK(value_of(f.log().read_since(0, 20'000, {}, 20'000)).readings.size() == 6'400);
}

}  // namespace
}  // namespace databroker::log::test
