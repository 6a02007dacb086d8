#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "broker/log/reading_log.h"
#include "tests/integration/log/log_fixture.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace databroker::log::test {
namespace {

using core::ErrorCode;

constexpr const char* kProbeDirVariable = "DATABROKER_LOG_LOCK_PROBE_DIR";

TEST_CASE("both durability modes store readings that survive a reopen", "[log][storage]") {
  const Durability durability = GENERATE(Durability::Sync, Durability::Buffered);
  testing::TempDir dir;
  const LogOptions options{dir.file("db"), durability};
  {
    auto storage = value_of(open_rocksdb_storage(options));
    append(storage->log(), {reading("a", 1), reading("a", 2)});
    require_ok(storage->meta().put("ns", "k", "v"));
  }
  auto storage = value_of(open_rocksdb_storage(options));
  CHECK(storage->log().last_seq() == 2);
  CHECK(value_of(storage->log().read_stream({.sensor_id = "a"})).readings.size() == 2);
  CHECK(value_of(storage->meta().get("ns", "k")) == "v");
}

TEST_CASE("flush leaves the data readable after a reopen", "[log][storage]") {
  LogFixture f;
  append(f.log(), {reading("a", 1)});
  require_ok(f.meta().put("ns", "k", "v"));
  require_ok(f.storage->flush());
  f.reopen();
  CHECK(value_of(f.log().get(1)).sensor_id == "a");
  CHECK(value_of(f.meta().get("ns", "k")) == "v");
}

TEST_CASE("a second open of a data directory in use is Unavailable", "[log][storage]") {
  LogFixture f;
  auto second = open_rocksdb_storage(f.options);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code == ErrorCode::Unavailable);
  CHECK_THAT(second.error().message, Catch::Contains("in use"));

  // The failed attempt must not have released the first holder's lock.
  auto third = open_rocksdb_storage(f.options);
  REQUIRE_FALSE(third.has_value());
  CHECK(third.error().code == ErrorCode::Unavailable);

  f.storage.reset();
  auto after_close = open_rocksdb_storage(f.options);
  CHECK(after_close.has_value());
}

// Run in a child process by the next test (hidden from ctest): opening a directory that the
// parent holds must fail with Unavailable.
TEST_CASE("lock probe", "[.][log][storage]") {
  const char* path = std::getenv(kProbeDirVariable);
  REQUIRE(path != nullptr);
  auto storage = open_rocksdb_storage({path, Durability::Sync});
  REQUIRE_FALSE(storage.has_value());
  CHECK(storage.error().code == ErrorCode::Unavailable);
  CHECK_THAT(storage.error().message, Catch::Contains("in use"));
}

TEST_CASE("an open by another process of a data directory in use is Unavailable",
          "[log][storage]") {
  LogFixture f;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto probe =
      testing::ChildProcess::start({self, "lock probe"}, {{kProbeDirVariable, f.options.path}});
  CHECK(probe.wait(std::chrono::seconds(30)) == 0);
  CHECK(f.log().last_seq() == 0);  // the first holder is unharmed
}

TEST_CASE("open creates missing parent directories", "[log][storage]") {
  testing::TempDir dir;
  const LogOptions options{dir.file("deep/er/db"), Durability::Sync};
  auto storage = value_of(open_rocksdb_storage(options));
  CHECK(std::filesystem::is_directory(options.path));
  CHECK(storage->log().last_seq() == 0);
}

TEST_CASE("open of an unusable path fails without throwing", "[log][storage]") {
  testing::TempDir dir;
  testing::write_file(dir.file("a-file"), "not a directory");
  auto under_file = open_rocksdb_storage({dir.file("a-file/db"), Durability::Sync});
  REQUIRE_FALSE(under_file.has_value());
  CHECK(under_file.error().code == ErrorCode::Unavailable);

  auto empty = open_rocksdb_storage({"", Durability::Sync});
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().code == ErrorCode::InvalidArgument);
}

TEST_CASE("a checkpoint taken while appends go on opens with every reading it promises",
          "[log][storage][backup]") {
  for (Durability durability : {Durability::Sync, Durability::Buffered}) {
    testing::TempDir dir;
    Seq covered = 0;
    std::vector<Reading> before;
    {
      auto storage = value_of(open_rocksdb_storage({dir.file("db"), durability}));
      for (int i = 0; i < 50; ++i) {
        auto batch = append(storage->log(), {reading("s-" + std::to_string(i % 7), 1000 + i, i)});
        before.push_back(batch[0]);
      }
      require_ok(storage->meta().put("registry", "s-1", "facts"));
      std::atomic<bool> stop{false};
      std::thread writer([&] {
        for (int i = 0; i < 2000 && !stop.load(); ++i) {
          append(storage->log(), {reading("busy", 5000 + i)});
        }
      });
      covered = value_of(storage->checkpoint(dir.file("copy")));
      stop = true;
      writer.join();
      CHECK(covered >= 50);

      auto again = storage->checkpoint(dir.file("copy"));
      REQUIRE_FALSE(again);
      CHECK(again.error().code == core::ErrorCode::Conflict);
    }
    auto copy = value_of(open_rocksdb_storage({dir.file("copy"), durability}));
    CHECK(copy->log().last_seq() >= covered);
    for (const Reading& r : before) CHECK(value_of(copy->log().get(r.seq)) == r);
    for (Seq seq = 1; seq <= covered; ++seq) CHECK(copy->log().get(seq).has_value());
    CHECK(value_of(copy->meta().get("registry", "s-1")) == std::optional<std::string>("facts"));
  }
}

TEST_CASE("a checkpoint into an unwritable place fails without leaving a database behind",
          "[log][storage][backup]") {
  LogFixture fixture;
  append(fixture.log(), {reading("s", 1)});
  auto result = fixture.storage->checkpoint(fixture.dir.file("missing/parent/copy"));
  REQUIRE_FALSE(result);
  CHECK(result.error().code == core::ErrorCode::Unavailable);
  CHECK_FALSE(std::filesystem::exists(fixture.dir.file("missing/parent/copy")));
}

}  // namespace
}  // namespace databroker::log::test
