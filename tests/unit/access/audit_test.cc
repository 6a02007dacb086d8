#include "broker/access/audit.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/fake_audit_store.h"
#include "tests/support/fake_clock.h"

namespace databroker::access {
namespace {

using namespace std::chrono_literals;
using testing::FakeAuditStore;
using testing::FakeClock;

constexpr auto kDeadline = 10s;

AuditRecord read_record(core::TimestampMs ts, std::string profile = "partner",
                        std::vector<std::string> streams = {"parking-1"}) {
  AuditRecord r;
  r.ts = ts;
  r.kind = std::string(kAuditRead);
  r.key_id = "abcdefghijkl";
  r.profile = std::move(profile);
  r.action = "GET /v1/streams/{id}/readings";
  r.streams = std::move(streams);
  r.readings = 12;
  return r;
}

AuditRecord admin_record(core::TimestampMs ts, std::string action = "key.create") {
  AuditRecord r;
  r.ts = ts;
  r.kind = std::string(kAuditAdmin);
  r.key_id = "opsopsopsops";
  r.profile = "ops";
  r.action = std::move(action);
  r.detail = "created key mnopqrstuvwx for profile partner";
  return r;
}

template <class T>
T value_of(core::Result<T> result) {
  if (!result) {
    FAIL(core::to_string(result.error().code) << ": " << result.error().message);
  }
  return std::move(*result);
}

void require_ok(const core::Status& status) {
  if (!status) {
    FAIL(core::to_string(status.error().code) << ": " << status.error().message);
  }
}

std::vector<core::TimestampMs> times_of(const std::vector<AuditRecord>& records) {
  std::vector<core::TimestampMs> out;
  for (const AuditRecord& r : records) {
    out.push_back(r.ts);
  }
  return out;
}

// Every record of a query, page after page.
std::vector<AuditRecord> query_all(const AuditTrail& trail, AuditQuery query,
                                   std::size_t* pages = nullptr) {
  std::vector<AuditRecord> out;
  for (std::size_t n = 1; n < 100'000; ++n) {
    AuditPage page = value_of(trail.query(query));
    out.insert(out.end(), page.records.begin(), page.records.end());
    if (page.next_cursor.empty()) {
      if (pages != nullptr) {
        *pages = n;
      }
      return out;
    }
    REQUIRE(page.next_cursor != query.cursor);
    query.cursor = page.next_cursor;
  }
  FAIL("query_all did not finish");
  return out;
}

TEST_CASE("an audit record round-trips through its JSON line", "[access][audit]") {
  AuditRecord r = read_record(1'795'000'000'123);
  r.streams = {"parking-1", "parking:centrum.2"};
  r.detail = "quote \" comma , newline \n tab \t unicode µg/m³";
  r.streams_omitted = 3;
  CHECK(value_of(parse_audit_record(to_json_line(r))) == r);

  AuditRecord admin = admin_record(1'795'000'000'000, "policy.reload");
  CHECK(value_of(parse_audit_record(to_json_line(admin))) == admin);

  // Outside the years RFC 3339 covers here, the time is kept as epoch milliseconds.
  for (core::TimestampMs ts : {core::TimestampMs{-1}, core::TimestampMs{253'402'300'800'000}}) {
    AuditRecord odd = read_record(ts);
    CHECK(value_of(parse_audit_record(to_json_line(odd))) == odd);
  }
}

TEST_CASE("the JSON line of an audit record is one readable object", "[access][audit]") {
  AuditRecord r = read_record(1'795'000'000'123);
  CHECK(to_json_line(r) ==
        R"({"ts":"2026-11-18T11:06:40.123Z","kind":"read","key_id":"abcdefghijkl",)"
        R"("profile":"partner","action":"GET /v1/streams/{id}/readings",)"
        R"("streams":["parking-1"],"readings":12,"detail":""})");
  CHECK(to_json_line(r).find('\n') == std::string::npos);
}

TEST_CASE("bytes that are not UTF-8 do not stop an audit record from being encoded",
          "[access][audit]") {
  AuditRecord r = read_record(1'795'000'000'000);
  r.detail = std::string("bad \xff\xfe bytes");
  auto parsed = value_of(parse_audit_record(to_json_line(r)));
  CHECK(parsed.detail == "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
}

TEST_CASE("parsing an audit record accepts epoch milliseconds and ignores unknown fields",
          "[access][audit]") {
  auto r = value_of(parse_audit_record(
      R"({"ts":1795000000000,"kind":"admin","action":"key.revoke","future":{"x":1}})"));
  CHECK(r.ts == 1'795'000'000'000);
  CHECK(r.kind == "admin");
  CHECK(r.action == "key.revoke");
  CHECK(r.streams.empty());
  CHECK(r.readings == 0);
}

TEST_CASE("parsing an audit record refuses what is not one", "[access][audit]") {
  for (const char* bad : {
           "",
           "not json",
           "[]",
           R"({"kind":"read"})",
           R"({"ts":"yesterday","kind":"read"})",
           R"({"ts":1.5,"kind":"read"})",
           R"({"ts":9223372036854775808,"kind":"read"})",
           R"({"ts":1,"kind":""})",
           R"({"ts":1,"kind":7})",
           R"({"ts":1,"kind":"read","streams":"a"})",
           R"({"ts":1,"kind":"read","streams":[1]})",
           R"({"ts":1,"kind":"read","readings":-1})",
           R"({"ts":1,"kind":"read","readings":"12"})",
       }) {
    CAPTURE(bad);
    auto parsed = parse_audit_record(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == core::ErrorCode::InvalidArgument);
  }
}

TEST_CASE("CSV fields are quoted only when they hold a comma, a quote or a line break",
          "[access][audit]") {
  auto field = [](std::string_view text) {
    std::string out;
    append_csv_field(out, text);
    return out;
  };
  CHECK(field("plain text; with spaces") == "plain text; with spaces");
  CHECK(field("") == "");
  CHECK(field("a,b") == "\"a,b\"");
  CHECK(field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(field("\"") == "\"\"\"\"");
  CHECK(field("line\nbreak") == "\"line\nbreak\"");
  CHECK(field("carriage\rreturn") == "\"carriage\rreturn\"");
}

TEST_CASE("an audit CSV row follows the header and escapes its fields", "[access][audit]") {
  AuditRecord r = read_record(1'795'000'000'123);
  r.streams = {"parking-1", "parking-2"};
  r.detail = "a \"detail\", with\r\nlines";
  CHECK(kAuditCsvHeader ==
        "ts,kind,key_id,profile,action,streams,readings,detail,streams_omitted\r\n");
  CHECK(to_csv_row(r) ==
        "2026-11-18T11:06:40.123Z,read,abcdefghijkl,partner,GET /v1/streams/{id}/readings,"
        "parking-1 parking-2,12,\"a \"\"detail\"\", with\r\nlines\",0\r\n");
}

TEST_CASE("recorded audit records are stored and come back in time order", "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  AuditTrail trail(store, clock);
  CHECK(trail.record(read_record(3000)));
  CHECK(trail.record(admin_record(1000)));
  CHECK(trail.record(read_record(2000)));
  require_ok(trail.flush(kDeadline));

  auto page = value_of(trail.query({}));
  CHECK(times_of(page.records) == std::vector<core::TimestampMs>{1000, 2000, 3000});
  CHECK(page.records[0] == admin_record(1000));
  CHECK(page.records[1] == read_record(2000));
  CHECK(page.next_cursor.empty());
  CHECK(trail.counters().recorded == 3);
  CHECK(trail.counters().written == 3);
  CHECK(trail.counters().queued == 0);
  CHECK(trail.counters().dropped == 0);
}

TEST_CASE("record stamps the clock's time and caps the streams it lists", "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock(1'795'000'000'000);
  AuditTrail trail(store, clock);
  std::vector<std::string> many;
  for (std::size_t i = 0; i < kMaxAuditStreams + 5; ++i) {
    many.push_back("s" + std::to_string(i));
  }
  CHECK(trail.record(read_record(0, "partner", many)));
  require_ok(trail.flush(kDeadline));
  auto records = value_of(trail.query({})).records;
  REQUIRE(records.size() == 1);
  CHECK(records[0].ts == 1'795'000'000'000);
  CHECK(records[0].streams.size() == kMaxAuditStreams);
  CHECK(records[0].streams.back() == "s" + std::to_string(kMaxAuditStreams - 1));
  CHECK(records[0].streams_omitted == 5);
}

TEST_CASE("an audit query keeps to its time range and profile", "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  AuditTrail trail(store, clock);
  for (core::TimestampMs ts = 1000; ts < 2000; ts += 100) {
    CHECK(trail.record(read_record(ts, ts % 200 == 0 ? "partner-a" : "partner-b")));
  }
  CHECK(trail.record(admin_record(1550)));
  require_ok(trail.flush(kDeadline));

  CHECK(times_of(value_of(trail.query({.from = 1200, .to = 1500})).records) ==
        std::vector<core::TimestampMs>{1200, 1300, 1400});
  CHECK(times_of(value_of(trail.query({.profile = "partner-a"})).records) ==
        std::vector<core::TimestampMs>{1000, 1200, 1400, 1600, 1800});
  CHECK(
      times_of(value_of(trail.query({.from = 1300, .to = 1900, .profile = "partner-b"})).records) ==
      std::vector<core::TimestampMs>{1300, 1500, 1700});
  CHECK(times_of(value_of(trail.query({.profile = "ops"})).records) ==
        std::vector<core::TimestampMs>{1550});
  CHECK(value_of(trail.query({.profile = "nobody"})).records.empty());
  CHECK(value_of(trail.query({.from = 2000, .to = 1000})).records.empty());
}

TEST_CASE("an audit query pages with its cursor, filtered or not", "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  AuditTrail trail(store, clock);
  std::vector<core::TimestampMs> all_times;
  std::vector<core::TimestampMs> a_times;
  for (int i = 0; i < 23; ++i) {
    // Several records share a millisecond: paging resumes by key, not by time alone.
    const core::TimestampMs ts = 1000 + i / 3;
    const bool a = i % 4 == 0;
    CHECK(trail.record(read_record(ts, a ? "partner-a" : "partner-b")));
    all_times.push_back(ts);
    if (a) {
      a_times.push_back(ts);
    }
  }
  require_ok(trail.flush(kDeadline));

  for (std::size_t limit : {1, 2, 5, 23, 100}) {
    CAPTURE(limit);
    std::size_t pages = 0;
    CHECK(times_of(query_all(trail, {.limit = limit}, &pages)) == all_times);
    // No empty last page: the store says when nothing follows.
    CHECK(pages == (all_times.size() + limit - 1) / limit);
    CHECK(times_of(query_all(trail, {.profile = "partner-a", .limit = limit})) == a_times);
  }

  auto first = value_of(trail.query({.limit = 5}));
  CHECK(first.records.size() == 5);
  CHECK_FALSE(first.next_cursor.empty());
  // The same cursor gives the same next page.
  auto again = value_of(trail.query({.limit = 5, .cursor = first.next_cursor}));
  auto twice = value_of(trail.query({.limit = 5, .cursor = first.next_cursor}));
  CHECK(again.records == twice.records);
  CHECK(times_of(again.records) ==
        std::vector<core::TimestampMs>(all_times.begin() + 5, all_times.begin() + 10));
}

TEST_CASE("a filtered audit query stops at its scan budget and resumes from the cursor",
          "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  AuditTrail trail(store, clock, {.query_scan_budget = 10});
  for (core::TimestampMs ts = 1; ts <= 30; ++ts) {
    CHECK(trail.record(read_record(ts, ts == 25 ? "rare" : "common")));
  }
  require_ok(trail.flush(kDeadline));

  // The budget (10) bounds the records examined per call, whatever the limit (5).
  auto first = value_of(trail.query({.profile = "rare", .limit = 5}));
  CHECK(first.records.empty());
  CHECK_FALSE(first.next_cursor.empty());
  std::size_t pages = 0;
  auto all = query_all(trail, {.profile = "rare", .limit = 5}, &pages);
  CHECK(times_of(all) == std::vector<core::TimestampMs>{25});
  CHECK(pages == 3);
}

TEST_CASE("an audit query refuses a zero limit and a malformed cursor, and caps the limit",
          "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  AuditTrail trail(store, clock, {.query_scan_budget = 5000});
  for (std::size_t i = 0; i < kMaxAuditQueryLimit + 10; ++i) {
    CHECK(trail.record(read_record(1000 + static_cast<core::TimestampMs>(i))));
  }
  require_ok(trail.flush(kDeadline));

  auto zero = trail.query({.limit = 0});
  REQUIRE_FALSE(zero);
  CHECK(zero.error().code == core::ErrorCode::InvalidArgument);
  for (const char* cursor :
       {"x", "0123456789abcdef0123456789abcdeg", "0123456789ABCDEF0123456789abcdef",
        "0123456789abcdef0123456789abcdef0"}) {
    CAPTURE(cursor);
    auto bad = trail.query({.cursor = cursor});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == core::ErrorCode::InvalidArgument);
  }
  auto capped = value_of(trail.query({.limit = 1'000'000}));
  CHECK(capped.records.size() == kMaxAuditQueryLimit);
  CHECK_FALSE(capped.next_cursor.empty());
}

TEST_CASE("a stored audit record that does not parse is Corruption", "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  AuditTrail trail(store, clock);
  store.plant({1000, 1}, "{not json");
  auto result = trail.query({});
  REQUIRE_FALSE(result);
  CHECK(result.error().code == core::ErrorCode::Corruption);
}

TEST_CASE("a full audit queue drops read records and counts them without blocking",
          "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  store.hold();
  AuditTrail trail(store, clock, {.queue_capacity = 4, .admin_reserve = 2});
  CHECK(trail.record(read_record(1)));
  // The writer has taken the first record and waits on the slow store; the bound still counts it.
  REQUIRE(store.wait_for_waiting_append(kDeadline));
  CHECK(trail.record(read_record(2)));
  CHECK(trail.record(read_record(3)));
  CHECK(trail.record(read_record(4)));

  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    CHECK_FALSE(trail.record(read_record(100 + i)));
  }
  // Refusing is immediate: nowhere near a wait per record.
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK(trail.counters().dropped == 1000);
  CHECK(trail.counters().dropped_admin == 0);
  CHECK(trail.counters().recorded == 4);
  CHECK(trail.counters().queued == 4);

  store.release();
  require_ok(trail.flush(kDeadline));
  CHECK(store.size() == 4);
  CHECK(trail.counters().written == 4);
  CHECK(trail.counters().queued == 0);
  // Room again once written.
  CHECK(trail.record(read_record(5)));
}

TEST_CASE("admin records use their reserve when read records filled the queue", "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  store.hold();
  AuditTrail trail(store, clock, {.queue_capacity = 2, .admin_reserve = 2, .admin_wait = 20ms});
  CHECK(trail.record(read_record(1)));
  REQUIRE(store.wait_for_waiting_append(kDeadline));
  CHECK(trail.record(read_record(2)));
  CHECK_FALSE(trail.record(read_record(3)));

  CHECK(trail.record(admin_record(10)));
  CHECK(trail.record(admin_record(11)));
  // Reserve full too: the admin record waits admin_wait for room, then is refused and counted.
  CHECK_FALSE(trail.record(admin_record(12)));
  CHECK(trail.counters().dropped == 2);
  CHECK(trail.counters().dropped_admin == 1);

  // An admin record waiting for room gets in as soon as the writer makes some.
  AuditTrail patient(store, clock, {.queue_capacity = 1, .admin_reserve = 0, .admin_wait = 10s});
  CHECK(patient.record(read_record(20)));
  bool accepted = false;
  std::thread admin([&] { accepted = patient.record(admin_record(21)); });
  store.release();
  admin.join();
  CHECK(accepted);

  require_ok(trail.flush(kDeadline));
  require_ok(patient.flush(kDeadline));
  CHECK(store.size() == 6);
}

TEST_CASE("stop writes every queued record before it returns", "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  auto trail = std::make_unique<AuditTrail>(
      store, clock, AuditTrailOptions{.queue_capacity = 1000, .batch_size = 7});
  store.hold();
  for (int i = 0; i < 500; ++i) {
    CHECK(trail->record(i % 50 == 0 ? admin_record(i + 1) : read_record(i + 1)));
  }
  std::thread releaser([&] {
    (void)store.wait_for_waiting_append(kDeadline);
    store.release();
  });
  trail->stop();
  releaser.join();
  CHECK(store.size() == 500);
  CHECK(trail->counters().written == 500);
  CHECK(trail->counters().queued == 0);

  CHECK_FALSE(trail->record(read_record(1000)));
  CHECK(trail->counters().dropped == 1);
  trail->stop();  // idempotent
  trail.reset();  // and the destructor after it
  CHECK(store.size() == 500);
}

TEST_CASE("a failing audit store is retried until it recovers", "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  store.fail_writes(true);
  AuditTrail trail(store, clock, {.retry_initial = 1ms, .retry_max = 5ms});
  CHECK(trail.record(admin_record(1)));
  CHECK(trail.record(read_record(2)));
  auto timed_out = trail.flush(50ms);
  REQUIRE_FALSE(timed_out);
  CHECK(timed_out.error().code == core::ErrorCode::Unavailable);
  CHECK(trail.counters().write_failures > 0);
  CHECK(trail.counters().queued == 2);

  store.fail_writes(false);
  require_ok(trail.flush(kDeadline));
  CHECK(store.size() == 2);
  CHECK(trail.counters().written == 2);
  CHECK(trail.counters().lost == 0);
}

TEST_CASE("stop gives up on a store that keeps failing after its grace, counting the loss",
          "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  store.fail_writes(true);
  AuditTrail trail(store, clock, {.retry_initial = 1ms, .retry_max = 5ms, .stop_grace = 50ms});
  CHECK(trail.record(read_record(1)));
  CHECK(trail.record(admin_record(2)));
  const auto started = std::chrono::steady_clock::now();
  trail.stop();
  CHECK(std::chrono::steady_clock::now() - started < kDeadline);
  CHECK(trail.counters().lost == 2);
  CHECK(trail.counters().written == 0);
  CHECK(trail.counters().queued == 0);
  CHECK(store.size() == 0);
  require_ok(trail.flush(1ms));  // nothing is pending any more
}

TEST_CASE("records from many threads are all written", "[access][audit]") {
  FakeAuditStore store;
  FakeClock clock;
  AuditTrail trail(store, clock, {.queue_capacity = 100'000, .batch_size = 64});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        (void)trail.record(read_record(1 + i, "p" + std::to_string(t)));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  require_ok(trail.flush(kDeadline));
  CHECK(trail.counters().written == kThreads * kPerThread);
  CHECK(store.size() == kThreads * kPerThread);
  auto mine = query_all(trail, {.profile = "p2", .limit = 1000});
  CHECK(mine.size() == kPerThread);
}

}  // namespace
}  // namespace databroker::access
