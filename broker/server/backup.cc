#include "broker/server/backup.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "broker/server/paths.h"
#include "broker/server/version.h"

namespace databroker::server {

namespace fs = std::filesystem;
using core::ErrorCode;
using core::fail;

namespace {

constexpr std::string_view kManifestFile = "backup.json";
constexpr std::string_view kDatabaseFolder = "db";
constexpr std::string_view kKeyFile = "keys.json";

core::Error file_error(ErrorCode code, const std::string& what, const std::error_code& ec) {
  return core::Error{code, what + ": " + ec.message(), {}};
}

// Writes `text` to `path` through a temporary file and a rename, so a reader never sees half.
core::Status write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return fail(ErrorCode::Unavailable, "cannot write " + temp.string());
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec)
    return tl::unexpected(file_error(ErrorCode::Unavailable, "cannot rename " + temp.string(), ec));
  return core::ok();
}

core::Result<std::string> read_small_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::NotFound, "cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `20261206T210501Z`: sorts by time, safe in a file name.
std::string compact_utc(core::TimestampMs now) {
  std::string text = core::format_rfc3339(now - now % 1000);
  std::string out;
  for (char c : text.substr(0, 19)) {
    if (c != '-' && c != ':') out.push_back(c);
  }
  return out + "Z";
}

// Moves `path` aside as `<path>.before-restore-<time>`; returns the new name, "" when absent.
core::Result<std::string> move_aside(const fs::path& path, core::TimestampMs now) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::string();
  fs::path target = path.string() + ".before-restore-" + compact_utc(now);
  for (int n = 2; fs::exists(target, ec); ++n) {
    target = path.string() + ".before-restore-" + compact_utc(now) + "-" + std::to_string(n);
  }
  fs::rename(path, target, ec);
  if (ec) {
    return tl::unexpected(
        file_error(ErrorCode::Unavailable, "cannot move " + path.string() + " aside", ec));
  }
  return target.string();
}

}  // namespace

std::string manifest_json(const BackupManifest& manifest) {
  nlohmann::json out = {
      {"format", manifest.format},
      {"broker_version", manifest.broker_version},
      {"created_at", core::format_rfc3339(manifest.created_at)},
      {"last_seq", manifest.last_seq},
      {"keys", manifest.has_keys},
  };
  return out.dump(2) + "\n";
}

core::Result<BackupManifest> parse_manifest(std::string_view text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto bad = [](std::string why) {
    return fail(ErrorCode::InvalidArgument, "not a databroker backup manifest: " + why);
  };
  if (json.is_discarded() || !json.is_object()) return bad("not a JSON object");
  if (!json.contains("format") || !json["format"].is_number_integer()) return bad("no format");
  BackupManifest manifest;
  manifest.format = json["format"].get<int>();
  if (manifest.format != kBackupFormat) {
    return bad("format " + std::to_string(manifest.format) + ", this build reads format " +
               std::to_string(kBackupFormat));
  }
  if (!json.contains("last_seq") || !json["last_seq"].is_number_unsigned())
    return bad("no last_seq");
  manifest.last_seq = json["last_seq"].get<core::Seq>();
  if (!json.contains("created_at") || !json["created_at"].is_string()) return bad("no created_at");
  const auto created = core::parse_rfc3339(json["created_at"].get<std::string>());
  if (!created) return bad("created_at is not an RFC 3339 time");
  manifest.created_at = *created;
  if (json.contains("broker_version") && json["broker_version"].is_string()) {
    manifest.broker_version = json["broker_version"].get<std::string>();
  }
  manifest.has_keys = json.value("keys", false);
  return manifest;
}

core::Result<BackupManifest> write_backup(log::Storage& storage, const std::string& key_file,
                                          const std::string& directory, core::TimestampMs now) {
  const fs::path root(directory);
  std::error_code ec;
  if (fs::exists(root, ec)) {
    return fail(ErrorCode::Conflict, directory + " exists; a backup goes into a new folder");
  }
  if (!fs::create_directory(root, ec) || ec) {
    // The caller named a place the broker cannot write: a request to fix, not an outage.
    return tl::unexpected(file_error(
        ErrorCode::InvalidArgument,
        "cannot create " + directory + " (its parent must exist and be writable by the broker)",
        ec));
  }
  // Whatever fails from here leaves no half backup behind.
  struct RemoveUnlessDone {
    const fs::path& root;
    bool done = false;
    ~RemoveUnlessDone() {
      std::error_code ignored;
      if (!done) fs::remove_all(root, ignored);
    }
  } cleanup{root};

  auto covered = storage.checkpoint((root / kDatabaseFolder).string());
  if (!covered) return tl::unexpected(std::move(covered.error()));
  BackupManifest manifest;
  manifest.broker_version = kVersion;
  manifest.created_at = now;
  manifest.last_seq = *covered;
  if (fs::exists(key_file, ec)) {
    // The key store replaces its file by rename, so this copies one whole version of it.
    fs::copy_file(key_file, root / kKeyFile, ec);
    if (ec) {
      return tl::unexpected(file_error(ErrorCode::Unavailable, "cannot copy " + key_file, ec));
    }
    manifest.has_keys = true;
  }
  if (auto written = write_file_atomically(root / kManifestFile, manifest_json(manifest));
      !written) {
    return tl::unexpected(std::move(written.error()));
  }
  cleanup.done = true;
  return manifest;
}

core::Result<RestoreReport> restore_backup(const std::string& directory,
                                           const config::Config& config, core::TimestampMs now) {
  const fs::path root(directory);
  auto manifest_text = read_small_file(root / kManifestFile);
  if (!manifest_text) {
    return fail(
        ErrorCode::InvalidArgument,
        directory + " is not a complete databroker backup (no " + std::string(kManifestFile) + ")");
  }
  auto manifest = parse_manifest(*manifest_text);
  if (!manifest) return tl::unexpected(std::move(manifest.error()));
  std::error_code ec;
  if (!fs::is_directory(root / kDatabaseFolder, ec)) {
    return fail(ErrorCode::InvalidArgument, directory + " has no db/ folder");
  }
  if (manifest->has_keys && !fs::exists(root / kKeyFile, ec)) {
    return fail(ErrorCode::InvalidArgument, directory + " lacks the keys.json its manifest names");
  }

  const fs::path data_dir(config.storage.data_dir);
  const fs::path database(database_path(config));
  fs::create_directories(data_dir, ec);
  if (ec) {
    return tl::unexpected(
        file_error(ErrorCode::Unavailable, "cannot create " + data_dir.string(), ec));
  }
  if (fs::exists(database, ec)) {
    // Only a running broker stops a restore: a damaged database is what a restore is for.
    auto current = log::open_rocksdb_storage({database.string(), log::Durability::Sync});
    if (!current && log::is_in_use(current.error())) {
      return fail(ErrorCode::Conflict,
                  "a broker is running on " + data_dir.string() + "; stop it before restoring");
    }
  }

  const fs::path staging = data_dir / "db.restoring";
  fs::remove_all(staging, ec);  // left by an interrupted restore
  fs::copy(root / kDatabaseFolder, staging, fs::copy_options::recursive, ec);
  if (ec) {
    fs::remove_all(staging, ec);
    return tl::unexpected(
        file_error(ErrorCode::Unavailable, "cannot copy the backup into " + staging.string(), ec));
  }
  RestoreReport report;
  report.manifest = *manifest;
  {
    auto restored = log::open_rocksdb_storage({staging.string(), log::Durability::Sync});
    if (!restored) {
      std::error_code ignored;
      fs::remove_all(staging, ignored);
      return tl::unexpected(
          core::Error{restored.error().code,
                      "the backup's database does not open: " + restored.error().message,
                      {}});
    }
    report.last_seq = (*restored)->log().last_seq();
    if (report.last_seq < manifest->last_seq) {
      std::error_code ignored;
      fs::remove_all(staging, ignored);
      return fail(ErrorCode::Corruption,
                  "the backup's database ends at seq " + std::to_string(report.last_seq) +
                      ", its manifest promises " + std::to_string(manifest->last_seq));
    }
  }
  auto previous = move_aside(database, now);
  if (!previous) return tl::unexpected(std::move(previous.error()));
  report.previous_database = *previous;
  fs::rename(staging, database, ec);
  if (ec) {
    return tl::unexpected(
        file_error(ErrorCode::Unavailable, "cannot move the restored database into place", ec));
  }
  if (manifest->has_keys) {
    const fs::path keys(key_file_path(config));
    auto previous_keys = move_aside(keys, now);
    if (!previous_keys) return tl::unexpected(std::move(previous_keys.error()));
    report.previous_keys = *previous_keys;
    fs::copy_file(root / kKeyFile, keys, ec);
    if (ec)
      return tl::unexpected(
          file_error(ErrorCode::Unavailable, "cannot restore " + keys.string(), ec));
  }
  return report;
}

}  // namespace databroker::server
