// Backups of the data directory and restores from them (docs/backup.md).
//
// A backup is a folder holding `db/` (a RocksDB checkpoint of the whole database: readings, the
// by-stream index, the sensor registry, webhook cursors, the audit trail), `keys.json` (the key
// file: ids, profiles and hashes, never a key) and `backup.json`, the manifest, written last so
// that a folder without it is an interrupted backup. The running broker writes backups
// (POST /v1/admin/backup, which `databroker backup` calls); with no broker running the command
// writes them itself. A restore replaces a stopped broker's data and keeps what it replaced.
#pragma once

#include <string>
#include <string_view>

#include "broker/config/config.h"
#include "broker/core/result.h"
#include "broker/core/time.h"
#include "broker/log/reading_log.h"

namespace databroker::server {

inline constexpr int kBackupFormat = 1;

struct BackupManifest {
  int format = kBackupFormat;
  std::string broker_version;
  core::TimestampMs created_at = 0;
  core::Seq last_seq = 0;  // every reading up to this seq is in the backup
  bool has_keys = false;   // a key file was copied
};

std::string manifest_json(const BackupManifest& manifest);
// InvalidArgument when the text is not a manifest of a format this build reads.
core::Result<BackupManifest> parse_manifest(std::string_view text);

// Writes a backup into `directory`, which must not exist (Conflict) and whose parent must exist
// and be writable (InvalidArgument otherwise). On failure nothing is left behind.
core::Result<BackupManifest> write_backup(log::Storage& storage, const std::string& key_file,
                                          const std::string& directory, core::TimestampMs now);

struct RestoreReport {
  BackupManifest manifest;
  core::Seq last_seq = 0;  // of the restored log
  // Where the replaced database and key file were moved, empty when there was none.
  std::string previous_database;
  std::string previous_keys;
};

// Restores the backup in `directory` into the configuration's data directory. Refuses with
// Conflict while a broker holds the database. The backup is copied and opened before anything
// is replaced, so a damaged backup (InvalidArgument, Corruption) leaves the data directory as it
// was; the replaced database and key file are renamed `*.before-restore-<time>`, not deleted.
core::Result<RestoreReport> restore_backup(const std::string& directory,
                                           const config::Config& config, core::TimestampMs now);

}  // namespace databroker::server
