#include "broker/log/reading_log.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "tests/integration/log/log_fixture.h"

namespace databroker::log::test {
namespace {

using core::ErrorCode;

constexpr TimestampMs kNow = 1'795'000'000'000;

TEST_CASE("append assigns consecutive seqs from 1 and stamps received_at", "[log]") {
  LogFixture f;
  CHECK(f.log().last_seq() == 0);
  CHECK(f.log().first_seq() == 0);

  std::vector<Reading> batch = {reading("a", 10), reading("b", 20), reading("a", 30)};
  batch[1].received_at = 5;  // already stamped: kept
  auto range = value_of(f.log().append(batch, kNow));
  CHECK(range.first == 1);
  CHECK(range.last == 3);
  CHECK(seqs_of(batch) == std::vector<Seq>{1, 2, 3});
  CHECK(batch[0].received_at == kNow);
  CHECK(batch[1].received_at == 5);
  CHECK(batch[2].received_at == kNow);

  auto second = append(f.log(), {reading("c", 40), reading("c", 41)}, kNow + 1);
  CHECK(seqs_of(second) == std::vector<Seq>{4, 5});
  CHECK(f.log().last_seq() == 5);
  CHECK(f.log().first_seq() == 1);
  for (const Reading& stored : batch) {
    CHECK(value_of(f.log().get(stored.seq)) == stored);
  }
}

TEST_CASE("an empty append is InvalidArgument and stores nothing", "[log]") {
  LogFixture f;
  std::vector<Reading> empty;
  auto result = f.log().append(empty, kNow);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::InvalidArgument);
  CHECK(f.log().last_seq() == 0);
}

TEST_CASE("an append with an unusable sensor id is refused whole", "[log]") {
  LogFixture f;
  std::vector<Reading> batch = {reading("a", 1), reading(std::string("a\0b", 3), 2)};
  auto result = f.log().append(batch, kNow);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::InvalidArgument);
  CHECK(f.log().last_seq() == 0);
  CHECK(value_of(f.log().read_since(0, 10, {}, 10)).readings.empty());
}

TEST_CASE("a reopened log continues the seq counter", "[log]") {
  LogFixture f;
  append(f.log(), {reading("a", 1), reading("a", 2), reading("b", 3)});
  f.reopen();
  CHECK(f.log().last_seq() == 3);
  CHECK(f.log().first_seq() == 1);
  auto next = append(f.log(), {reading("a", 4)});
  CHECK(next[0].seq == 4);
}

TEST_CASE("get of an unknown seq is NotFound", "[log]") {
  LogFixture f;
  append(f.log(), {reading("a", 1)});
  for (Seq seq : {Seq{0}, Seq{2}, std::numeric_limits<Seq>::max()}) {
    auto result = f.log().get(seq);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == ErrorCode::NotFound);
  }
}

TEST_CASE("read_stream returns one sensor's readings from `from` until `to` by time then seq",
          "[log]") {
  LogFixture f;
  // Out of time order on arrival, negative times, a tie, and sensors whose ids share "a".
  auto stored = append(
      f.log(), {reading("a", 300), reading("a:b", 150), reading("a", -50), reading("a", 100),
                reading("ab", 120), reading("a", 100), reading("a", 200), reading("a.", 250)});
  auto ids = [](const StreamPage& page) {
    std::vector<Seq> seqs;
    for (const Reading& r : page.readings) {
      seqs.push_back(r.seq);
    }
    return seqs;
  };

  auto all = value_of(f.log().read_stream({.sensor_id = "a"}));
  CHECK(ids(all) == std::vector<Seq>{3, 4, 6, 7, 1});
  CHECK_FALSE(all.more);
  CHECK(all.readings[0] == stored[2]);

  auto window = value_of(f.log().read_stream({.sensor_id = "a", .from = 100, .to = 300}));
  CHECK(ids(window) == std::vector<Seq>{4, 6, 7});
  CHECK_FALSE(window.more);

  auto negative = value_of(f.log().read_stream({.sensor_id = "a", .to = 0}));
  CHECK(ids(negative) == std::vector<Seq>{3});

  CHECK(ids(value_of(f.log().read_stream({.sensor_id = "a:b"}))) == std::vector<Seq>{2});
  CHECK(value_of(f.log().read_stream({.sensor_id = "unknown"})).readings.empty());
  CHECK(value_of(f.log().read_stream({.sensor_id = "a", .from = 5, .to = 5})).readings.empty());
}

TEST_CASE("read_stream pages through a stream with after and more", "[log]") {
  LogFixture f;
  std::vector<Reading> batch;
  for (int i = 0; i < 25; ++i) {
    batch.push_back(reading("pager", 1000 + (i * 7) % 25));  // times 1000..1024, shuffled
    batch.push_back(reading("other", 1000 + i));
  }
  append(f.log(), batch);

  SECTION("pages of 10 cover the whole stream once, in order") {
    std::vector<TimestampMs> seen;
    std::vector<bool> mores;
    StreamQuery query{.sensor_id = "pager", .limit = 10};
    for (int guard = 0; guard < 10; ++guard) {
      auto page = value_of(f.log().read_stream(query));
      for (const Reading& r : page.readings) {
        seen.push_back(r.ts);
      }
      mores.push_back(page.more);
      if (!page.more) {
        break;
      }
      query.after = StreamPosition{page.readings.back().ts, page.readings.back().seq};
    }
    std::vector<TimestampMs> expected;
    expected.reserve(25);
    for (int i = 0; i < 25; ++i) {
      expected.push_back(1000 + i);
    }
    CHECK(seen == expected);
    CHECK(mores == std::vector<bool>{true, true, false});
  }

  SECTION("a page that ends exactly at `to` has no more") {
    auto page =
        value_of(f.log().read_stream({.sensor_id = "pager", .from = 1005, .to = 1010, .limit = 5}));
    CHECK(page.readings.size() == 5);
    CHECK_FALSE(page.more);
    auto bigger =
        value_of(f.log().read_stream({.sensor_id = "pager", .from = 1005, .to = 1011, .limit = 5}));
    CHECK(bigger.more);
  }

  SECTION("after and from combine: the later one wins") {
    auto page = value_of(f.log().read_stream(
        {.sensor_id = "pager", .from = 1020, .after = StreamPosition{1003, 0}, .limit = 100}));
    REQUIRE(page.readings.size() == 5);
    CHECK(page.readings.front().ts == 1020);
    auto later = value_of(f.log().read_stream(
        {.sensor_id = "pager", .from = 1000, .after = StreamPosition{1022, 0}, .limit = 100}));
    REQUIRE(later.readings.size() == 3);
    CHECK(later.readings.front().ts == 1022);
  }

  SECTION("after the last reading the page is empty") {
    auto page = value_of(
        f.log().read_stream({.sensor_id = "pager",
                             .after = StreamPosition{std::numeric_limits<TimestampMs>::max(),
                                                     std::numeric_limits<Seq>::max()}}));
    CHECK(page.readings.empty());
    CHECK_FALSE(page.more);
  }

  SECTION("a limit of 0 only says whether there is more") {
    auto page = value_of(f.log().read_stream({.sensor_id = "pager", .limit = 0}));
    CHECK(page.readings.empty());
    CHECK(page.more);
  }
}

TEST_CASE("readings with equal timestamps page by seq without loss", "[log]") {
  LogFixture f;
  std::vector<Reading> batch(7, reading("same", 42));
  auto stored = append(f.log(), batch);
  std::vector<Seq> seen;
  StreamQuery query{.sensor_id = "same", .limit = 3};
  for (bool more = true; more;) {
    auto page = value_of(f.log().read_stream(query));
    for (const Reading& r : page.readings) {
      seen.push_back(r.seq);
    }
    more = page.more;
    if (!page.readings.empty()) {
      query.after = StreamPosition{page.readings.back().ts, page.readings.back().seq};
    }
  }
  CHECK(seen == seqs_of(stored));
}

TEST_CASE("latest is the newest reading by observation time, highest seq on ties", "[log]") {
  LogFixture f;
  CHECK_FALSE(value_of(f.log().latest("a")).has_value());
  append(f.log(), {reading("a", 500, 1), reading("a", 900, 2), reading("a", 100, 3)});
  append(f.log(), {reading("a:b", 5000, 4), reading("ab", 6000, 5), reading("a", 900, 6)});

  auto latest = value_of(f.log().latest("a"));
  REQUIRE(latest.has_value());
  CHECK(latest->ts == 900);
  CHECK(latest->seq == 6);

  auto prefixed = value_of(f.log().latest("a:b"));
  REQUIRE(prefixed.has_value());
  CHECK(prefixed->seq == 4);
  CHECK_FALSE(value_of(f.log().latest("b")).has_value());
}

TEST_CASE("latest handles negative timestamps", "[log]") {
  LogFixture f;
  append(f.log(), {reading("neg", -10), reading("neg", -1'000'000), reading("neg", -20)});
  auto latest = value_of(f.log().latest("neg"));
  REQUIRE(latest.has_value());
  CHECK(latest->ts == -10);
}

TEST_CASE("read_since keeps what the filter accepts, up to the limit", "[log]") {
  LogFixture f;
  std::vector<Reading> batch;
  batch.reserve(20);
  for (int i = 0; i < 20; ++i) {
    batch.push_back(reading(i % 2 == 0 ? "even" : "odd", i));
  }
  append(f.log(), batch);  // seqs 1..20; "even" has the odd seqs
  auto only_even = [](const Reading& r) { return r.sensor_id == "even"; };

  auto page = value_of(f.log().read_since(4, 3, only_even, 1000));
  CHECK(seqs_of(page.readings) == std::vector<Seq>{5, 7, 9});
  CHECK(page.last_scanned == 9);

  auto next = value_of(f.log().read_since(page.last_scanned, 100, only_even, 1000));
  CHECK(seqs_of(next.readings) == std::vector<Seq>{11, 13, 15, 17, 19});
  CHECK(next.last_scanned == 20);

  auto everything = value_of(f.log().read_since(0, 100, {}, 1000));
  CHECK(everything.readings.size() == 20);
}

TEST_CASE("read_since stops at the scan budget and says how far it got", "[log]") {
  LogFixture f;
  std::vector<Reading> batch;
  batch.reserve(10);
  for (int i = 0; i < 10; ++i) {
    batch.push_back(reading("s", i));
  }
  append(f.log(), batch);
  auto none = [](const Reading&) { return false; };

  auto page = value_of(f.log().read_since(2, 5, none, 4));
  CHECK(page.readings.empty());
  CHECK(page.last_scanned == 6);

  auto rest = value_of(f.log().read_since(6, 5, none, 100));
  CHECK(rest.readings.empty());
  CHECK(rest.last_scanned == 10);

  auto past_end = value_of(f.log().read_since(10, 5, none, 100));
  CHECK(past_end.last_scanned == 10);
  auto zero_budget = value_of(f.log().read_since(3, 5, {}, 0));
  CHECK(zero_budget.readings.empty());
  CHECK(zero_budget.last_scanned == 3);
}

TEST_CASE("reads refuse sensor ids the key layout cannot hold", "[log]") {
  LogFixture f;
  auto page = f.log().read_stream({.sensor_id = ""});
  REQUIRE_FALSE(page.has_value());
  CHECK(page.error().code == ErrorCode::InvalidArgument);
  auto latest = f.log().latest(std::string("a\0", 2));
  REQUIRE_FALSE(latest.has_value());
  CHECK(latest.error().code == ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace databroker::log::test
