#include "broker/log/audit_store.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "broker/log/reading_log.h"
#include "tests/integration/log/log_fixture.h"

namespace databroker::log::test {
namespace {

std::vector<AuditEntry> entries(std::initializer_list<std::pair<TimestampMs, std::string>> list) {
  std::vector<AuditEntry> out;
  for (const auto& [ts, bytes] : list) {
    out.push_back({ts, bytes});
  }
  return out;
}

void append_audit(AuditStore& store, const std::vector<AuditEntry>& batch) {
  require_ok(store.append(std::span<const AuditEntry>(batch)));
}

std::vector<std::string> bytes_of(const AuditScanPage& page) {
  std::vector<std::string> out;
  for (const StoredAuditEntry& entry : page.entries) {
    out.push_back(entry.bytes);
  }
  return out;
}

// Every entry in [from, to), paged `page_size` at a time through `after`.
std::vector<StoredAuditEntry> scan_all(const AuditStore& store, std::size_t page_size,
                                       TimestampMs from = INT64_MIN, TimestampMs to = INT64_MAX) {
  std::vector<StoredAuditEntry> out;
  AuditScan query{.from = from, .to = to, .limit = page_size};
  for (int pages = 0; pages < 10'000; ++pages) {
    AuditScanPage page = value_of(store.scan(query));
    out.insert(out.end(), page.entries.begin(), page.entries.end());
    if (!page.more) {
      return out;
    }
    REQUIRE_FALSE(page.entries.empty());
    query.after = page.entries.back().key;
  }
  FAIL("scan_all did not finish");
  return out;
}

TEST_CASE("audit entries come back in time order whatever the append order", "[log][audit]") {
  LogFixture f;
  append_audit(f.storage->audit(), entries({{3000, "c"}, {1000, "a"}, {2000, "b"}}));
  append_audit(f.storage->audit(), entries({{-5, "before 1970"}, {2000, "b2"}}));

  auto page = value_of(f.storage->audit().scan({}));
  CHECK(bytes_of(page) == std::vector<std::string>{"before 1970", "a", "b", "b2", "c"});
  CHECK_FALSE(page.more);
  for (std::size_t i = 1; i < page.entries.size(); ++i) {
    CHECK(page.entries[i - 1].key < page.entries[i].key);
  }
  CHECK(page.entries.front().key.ts == -5);
  CHECK(page.entries.back().key.ts == 3000);
}

TEST_CASE("audit entries of one batch keep their order within a millisecond", "[log][audit]") {
  LogFixture f;
  append_audit(f.storage->audit(), entries({{1000, "first"}, {1000, "second"}, {1000, "third"}}));
  auto page = value_of(f.storage->audit().scan({}));
  CHECK(bytes_of(page) == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("an audit scan keeps to from (inclusive) and to (exclusive)", "[log][audit]") {
  LogFixture f;
  append_audit(f.storage->audit(),
               entries({{999, "early"}, {1000, "from"}, {1500, "inside"}, {2000, "to"}}));
  CHECK(bytes_of(value_of(f.storage->audit().scan({.from = 1000, .to = 2000}))) ==
        std::vector<std::string>{"from", "inside"});
  CHECK(value_of(f.storage->audit().scan({.from = 2000, .to = 1000})).entries.empty());
  CHECK(value_of(f.storage->audit().scan({.from = 3000})).entries.empty());
}

TEST_CASE("an audit scan pages with limit, more and after", "[log][audit]") {
  LogFixture f;
  std::vector<AuditEntry> batch;
  for (int i = 0; i < 25; ++i) {
    // Several entries share a millisecond, so that paging must resume by seq too.
    batch.push_back({1000 + i / 4, "r" + std::to_string(i)});
  }
  append_audit(f.storage->audit(), batch);

  auto first = value_of(f.storage->audit().scan({.limit = 10}));
  CHECK(first.entries.size() == 10);
  CHECK(first.more);

  auto only_more = value_of(f.storage->audit().scan({.limit = 0}));
  CHECK(only_more.entries.empty());
  CHECK(only_more.more);

  for (std::size_t page_size : {1, 3, 4, 7, 25, 100}) {
    auto all = scan_all(f.storage->audit(), page_size);
    REQUIRE(all.size() == 25);
    for (std::size_t i = 0; i < all.size(); ++i) {
      CHECK(all[i].bytes == "r" + std::to_string(i));
    }
  }

  // `after` before `from` does not widen the range; after the last entry leaves nothing.
  auto all = scan_all(f.storage->audit(), 100);
  auto from_bound = value_of(f.storage->audit().scan({.from = 1002, .after = all.front().key}));
  CHECK(from_bound.entries.front().bytes == "r8");
  auto past_end = value_of(f.storage->audit().scan({.after = all.back().key}));
  CHECK(past_end.entries.empty());
  CHECK_FALSE(past_end.more);
}

TEST_CASE("audit bytes are kept exactly, binary and empty ones too", "[log][audit]") {
  LogFixture f;
  const std::string binary("a\0b\xff\n", 5);
  append_audit(f.storage->audit(), entries({{1, binary}, {2, ""}}));
  CHECK(bytes_of(value_of(f.storage->audit().scan({}))) == std::vector<std::string>{binary, ""});
}

TEST_CASE("an empty audit batch stores nothing and succeeds", "[log][audit]") {
  LogFixture f;
  require_ok(f.storage->audit().append({}));
  CHECK(value_of(f.storage->audit().scan({})).entries.empty());
}

TEST_CASE("audit entries of the same millisecond from two opens never overwrite each other",
          "[log][audit]") {
  const Durability durability = GENERATE(Durability::Sync, Durability::Buffered);
  testing::TempDir dir;
  const LogOptions options{dir.file("db"), durability};
  {
    auto storage = value_of(open_rocksdb_storage(options));
    append_audit(storage->audit(), entries({{1000, "open 1 a"}, {1000, "open 1 b"}}));
  }
  {
    // A clock that stepped back, or a restart within the millisecond: same ts again.
    auto storage = value_of(open_rocksdb_storage(options));
    append_audit(storage->audit(), entries({{1000, "open 2 a"}, {1000, "open 2 b"}}));
  }
  auto storage = value_of(open_rocksdb_storage(options));
  auto page = value_of(storage->audit().scan({}));
  CHECK(bytes_of(page) == std::vector<std::string>{"open 1 a", "open 1 b", "open 2 a", "open 2 b"});
  std::set<std::uint64_t> seqs;
  for (const auto& entry : page.entries) {
    seqs.insert(entry.key.seq);
  }
  CHECK(seqs.size() == 4);
}

TEST_CASE("drop_before removes older audit entries only, also from flushed files", "[log][audit]") {
  LogFixture f;
  const bool flushed = GENERATE(false, true);
  std::vector<AuditEntry> old_batch;
  for (int i = 0; i < 1000; ++i) {
    old_batch.push_back({1000 + i, "old"});
  }
  append_audit(f.storage->audit(), old_batch);
  if (flushed) {
    require_ok(f.storage->flush());
  }
  append_audit(f.storage->audit(),
               entries({{1999, "last old"}, {2000, "at cutoff"}, {3000, "new"}}));
  if (flushed) {
    require_ok(f.storage->flush());
  }

  require_ok(f.storage->audit().drop_before(2000));
  CHECK(bytes_of(value_of(f.storage->audit().scan({}))) ==
        std::vector<std::string>{"at cutoff", "new"});
  // Dropping again, or before everything, changes nothing.
  require_ok(f.storage->audit().drop_before(2000));
  require_ok(f.storage->audit().drop_before(std::numeric_limits<TimestampMs>::min()));
  f.reopen();
  CHECK(bytes_of(value_of(f.storage->audit().scan({}))) ==
        std::vector<std::string>{"at cutoff", "new"});
}

TEST_CASE("audit entries leave the reading log and the meta store alone", "[log][audit]") {
  LogFixture f;
  append(f.log(), {reading("a", 1)});
  require_ok(f.meta().put("ns", "k", "v"));
  append_audit(f.storage->audit(), entries({{1, "audit"}}));
  require_ok(f.storage->audit().drop_before(std::numeric_limits<TimestampMs>::max()));
  CHECK(f.log().last_seq() == 1);
  CHECK(value_of(f.log().get(1)).sensor_id == "a");
  CHECK(value_of(f.meta().get("ns", "k")) == "v");
  CHECK(value_of(f.storage->audit().scan({})).entries.empty());
}

}  // namespace
}  // namespace databroker::log::test
