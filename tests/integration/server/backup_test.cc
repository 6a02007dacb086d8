// Backups, restores and exports over a real RocksDB data directory: what a backup holds, that a
// restore after a wipe answers every read as before, that nothing is replaced while a broker
// holds the database or when the backup is damaged, and the export formats.
#include "broker/server/backup.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "broker/core/kinds.h"
#include "broker/log/reading_log.h"
#include "broker/server/export.h"
#include "broker/server/paths.h"
#include "tests/support/temp_dir.h"

namespace databroker::server {
namespace {

namespace fs = std::filesystem;
using core::Reading;
using core::Seq;

constexpr core::TimestampMs kNow = 1'795'000'000'000;
constexpr std::string_view kKeys = R"({"keys":[{"id":"k1","profile":"ops","hash":"x"}]})";

template <class T>
T value_of(core::Result<T> result) {
  if (!result) FAIL(core::to_string(result.error().code) << ": " << result.error().message);
  return std::move(*result);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream(path, std::ios::binary) << text;
}

Reading reading(std::string sensor, std::string kind, core::TimestampMs ts, double value) {
  Reading r;
  r.sensor_id = std::move(sensor);
  r.kind = std::move(kind);
  r.ts = ts;
  r.values = {{r.kind == "noise" ? "laeq" : "pm25", value, true}};
  if (r.kind == "air_quality") r.values.push_back({"note", std::string("=cmd, \"quoted\""), false});
  return r;
}

struct DataDir {
  testing::TempDir dir;
  config::Config config;
  DataDir() { config.storage.data_dir = dir.file("data"); }

  std::unique_ptr<log::Storage> open() {
    return value_of(log::open_rocksdb_storage({database_path(config), log::Durability::Buffered}));
  }
};

// Everything a read can see, to compare before and after.
struct Snapshot {
  std::vector<Reading> all;
  std::vector<std::optional<Reading>> latest;
  std::vector<std::pair<std::string, std::string>> meta;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(log::Storage& storage) {
  Snapshot out;
  auto feed = value_of(storage.log().read_since(0, 100'000, {}, 100'000));
  out.all = feed.readings;
  for (const char* sensor : {"air-1", "air-2", "noise-1"}) {
    out.latest.push_back(value_of(storage.log().latest(sensor)));
  }
  out.meta = value_of(storage.meta().scan("registry"));
  return out;
}

void fill(log::Storage& storage) {
  std::vector<Reading> batch;
  for (int i = 0; i < 300; ++i) {
    batch.push_back(reading(i % 3 == 0 ? "noise-1" : (i % 3 == 1 ? "air-1" : "air-2"),
                            i % 3 == 0 ? "noise" : "air_quality", kNow - 300'000 + i * 1000, i));
  }
  (void)value_of(storage.log().append(std::span<Reading>(batch), kNow));
  REQUIRE(storage.meta().put("registry", "air-1", "{\"zone\":\"centrum\"}"));
}

TEST_CASE("backup, wipe, restore: every read answers as before", "[server][backup]") {
  DataDir data;
  Snapshot before;
  BackupManifest manifest;
  {
    auto storage = data.open();
    fill(*storage);
    write_text(key_file_path(data.config), kKeys);
    before = snapshot(*storage);
    manifest =
        value_of(write_backup(*storage, key_file_path(data.config), data.dir.file("backup"), kNow));
    CHECK(manifest.last_seq == 300);
    CHECK(manifest.has_keys);
    // Written after the backup: not in it.
    std::vector<Reading> later{reading("air-1", "air_quality", kNow + 1000, 1)};
    (void)value_of(storage->log().append(std::span<Reading>(later), kNow));

    SECTION("nothing is restored while a broker holds the database") {
      auto refused = restore_backup(data.dir.file("backup"), data.config, kNow);
      REQUIRE_FALSE(refused);
      CHECK(refused.error().code == core::ErrorCode::Conflict);
      CHECK(refused.error().message.find("stop it") != std::string::npos);
      return;
    }
  }
  const auto stored = value_of(parse_manifest(read_text(data.dir.file("backup/backup.json"))));
  CHECK(stored.last_seq == manifest.last_seq);
  CHECK(stored.created_at == kNow);

  SECTION("into a wiped data directory") {
    fs::remove_all(data.config.storage.data_dir);
    auto report = value_of(restore_backup(data.dir.file("backup"), data.config, kNow + 5000));
    CHECK(report.last_seq == 300);
    CHECK(report.previous_database.empty());
    CHECK(report.previous_keys.empty());
  }
  SECTION("over the current data, which is kept aside") {
    auto report = value_of(restore_backup(data.dir.file("backup"), data.config, kNow + 5000));
    CHECK(report.last_seq == 300);
    REQUIRE_FALSE(report.previous_database.empty());
    CHECK(report.previous_database.find("db.before-restore-") != std::string::npos);
    auto previous =
        value_of(log::open_rocksdb_storage({report.previous_database, log::Durability::Sync}));
    CHECK(previous->log().last_seq() == 301);
    CHECK(read_text(report.previous_keys) == kKeys);
  }
  auto restored = data.open();
  CHECK(snapshot(*restored) == before);
  CHECK(read_text(key_file_path(data.config)) == kKeys);
  // The log goes on after the restored seqs.
  std::vector<Reading> next{reading("air-2", "air_quality", kNow + 9000, 2)};
  CHECK(value_of(restored->log().append(std::span<Reading>(next), kNow)).first == 301);
}

TEST_CASE("a backup goes only into a new folder and leaves nothing when it fails",
          "[server][backup]") {
  DataDir data;
  auto storage = data.open();
  fill(*storage);
  fs::create_directories(data.dir.file("taken"));
  auto taken = write_backup(*storage, key_file_path(data.config), data.dir.file("taken"), kNow);
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code == core::ErrorCode::Conflict);

  auto orphan =
      write_backup(*storage, key_file_path(data.config), data.dir.file("no/parent"), kNow);
  REQUIRE_FALSE(orphan);
  CHECK(orphan.error().code == core::ErrorCode::InvalidArgument);
  CHECK_FALSE(fs::exists(data.dir.file("no")));

  // No key file yet: the backup says so and a restore leaves the keys alone.
  auto manifest =
      value_of(write_backup(*storage, key_file_path(data.config), data.dir.file("b"), kNow));
  CHECK_FALSE(manifest.has_keys);
  CHECK_FALSE(fs::exists(data.dir.file("b/keys.json")));
}

TEST_CASE("a damaged or foreign backup is refused and the data directory stays as it was",
          "[server][backup]") {
  DataDir data;
  {
    auto storage = data.open();
    fill(*storage);
    (void)value_of(
        write_backup(*storage, key_file_path(data.config), data.dir.file("backup"), kNow));
  }
  const std::string backup = data.dir.file("backup");
  SECTION("no manifest: an interrupted backup") { fs::remove(backup + "/backup.json"); }
  SECTION("a manifest of another format") {
    write_text(backup + "/backup.json",
               R"({"format":2,"last_seq":300,"created_at":"2026-12-06T00:00:00Z"})");
  }
  SECTION("a manifest that is not JSON") { write_text(backup + "/backup.json", "{{"); }
  SECTION("a database shorter than its manifest promises") {
    auto manifest = value_of(parse_manifest(read_text(backup + "/backup.json")));
    manifest.last_seq = 999;
    write_text(backup + "/backup.json", manifest_json(manifest));
  }
  SECTION("a database that is not one") {
    fs::remove_all(backup + "/db");
    fs::create_directories(backup + "/db");
    write_text(backup + "/db/CURRENT", "MANIFEST-000999\n");
  }
  auto refused = restore_backup(backup, data.config, kNow);
  REQUIRE_FALSE(refused);
  INFO(refused.error().message);
  CHECK_FALSE(fs::exists(data.config.storage.data_dir + "/db.restoring"));
  auto storage = data.open();
  CHECK(storage->log().last_seq() == 300);
}

TEST_CASE("export writes a stream's range as CSV or JSON lines, oldest first", "[server][export]") {
  DataDir data;
  auto storage = data.open();
  fill(*storage);
  const auto kinds = core::KindCatalog::with_builtins();
  ExportRequest request;
  request.stream = "air-1";
  request.from = kNow - 300'000 + 10'000;  // from the 11th reading of all (air-1: 1, 4, 7 ...)
  request.to = kNow - 300'000 + 100'000;
  std::vector<Reading> expected;
  for (const auto& r : value_of(storage->log().read_since(0, 1000, {}, 1000)).readings) {
    if (r.sensor_id == "air-1" && r.ts >= request.from && r.ts < request.to) expected.push_back(r);
  }
  REQUIRE(expected.size() == 30);

  std::string out;
  std::vector<ExportProgress> progress;
  const auto write = [&out](std::string_view bytes) {
    out.append(bytes);
    return true;
  };
  const auto track = [&progress](const ExportProgress& p) { progress.push_back(p); };

  SECTION("CSV: the REST API's columns, undeclared measurements as JSON") {
    CHECK(value_of(export_stream(storage->log(), kinds, request, write, track)) == 30);
    std::istringstream lines(out);
    std::string header;
    std::getline(lines, header);
    CHECK(header.starts_with("seq,sensor,kind,ts,received_at,lat,lon,pm25"));
    std::string line;
    std::size_t rows = 0;
    while (std::getline(lines, line)) {
      REQUIRE(rows < expected.size());
      CHECK(line.starts_with(std::to_string(expected[rows].seq) + ",air-1,air_quality,"));
      CHECK(line.find("note") != std::string::npos);
      ++rows;
    }
    CHECK(rows == 30);
  }
  SECTION("JSON lines: one reading object per line, in (ts, seq) order") {
    request.format = ExportFormat::Jsonl;
    CHECK(value_of(export_stream(storage->log(), kinds, request, write, track)) == 30);
    std::istringstream lines(out);
    std::string line;
    std::size_t rows = 0;
    while (std::getline(lines, line)) {
      const auto json = nlohmann::json::parse(line);
      REQUIRE(rows < expected.size());
      CHECK(json["seq"] == expected[rows].seq);
      CHECK(json["sensor"] == "air-1");
      CHECK(json["values"]["pm25"] == std::get<double>(expected[rows].values[0].value));
      ++rows;
    }
    CHECK(rows == 30);
  }
  REQUIRE_FALSE(progress.empty());
  CHECK(progress.back().readings == 30);
  CHECK(progress.back().fraction == 1.0);
}

TEST_CASE("export pages through a long history and stops when the destination fails",
          "[server][export]") {
  DataDir data;
  auto storage = data.open();
  std::vector<Reading> batch;
  for (int i = 0; i < 5000; ++i) batch.push_back(reading("long", "noise", kNow + i, i));
  (void)value_of(storage->log().append(std::span<Reading>(batch), kNow));
  const auto kinds = core::KindCatalog::with_builtins();
  ExportRequest request{.stream = "long", .format = ExportFormat::Jsonl};

  std::size_t lines = 0;
  std::vector<double> fractions;
  auto count = export_stream(
      storage->log(), kinds, request,
      [&lines](std::string_view bytes) {
        lines += static_cast<std::size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
        return true;
      },
      [&fractions](const ExportProgress& p) { fractions.push_back(p.fraction); });
  CHECK(value_of(std::move(count)) == 5000);
  CHECK(lines == 5000);
  REQUIRE(fractions.size() == 3);  // pages of 2,000
  CHECK(fractions[0] < fractions[1]);
  CHECK(fractions.back() == 1.0);

  auto failed =
      export_stream(storage->log(), kinds, request, [](std::string_view) { return false; }, {});
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == core::ErrorCode::Unavailable);

  request.stream = "absent";
  auto absent =
      export_stream(storage->log(), kinds, request, [](std::string_view) { return true; }, {});
  REQUIRE_FALSE(absent);
  CHECK(absent.error().code == core::ErrorCode::NotFound);
}

}  // namespace
}  // namespace databroker::server
