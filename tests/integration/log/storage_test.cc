#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

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

}  // namespace
}  // namespace databroker::log::test
