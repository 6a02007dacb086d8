// API keys: random, shown once, stored only as hashes, compared in constant time, revocable at
// once.
//
// A key reads `dbk_<id>_<secret>`: `id` (12 base32 characters) names the record and is safe to
// show and log; `secret` carries 160 random bits (OpenSSL RAND_bytes) in base32. Only the
// SHA-256 of the whole key is stored. Lookup is by id, then a constant-time comparison of
// hashes, so a wrong key costs the same whatever it shares with a right one.
//
// Records live in a small JSON file in the data directory, written atomically (temp file +
// rename) under an advisory lock. The `databroker keys` commands and a running server share it:
// the server checks the file's identity on each authentication (one stat) and reloads when it
// changed, so a revocation from the command line holds immediately.
//
// Threading: all methods are safe to call from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"
#include "broker/core/time.h"

namespace databroker::access {

struct KeyRecord {
  std::string id;
  std::string profile;
  std::string label;
  core::TimestampMs created_at = 0;
  std::optional<core::TimestampMs> revoked_at;
  std::string hash_hex;  // SHA-256 of the whole key; never shown by list operations

  bool is_revoked() const { return revoked_at.has_value(); }
};

struct CreatedKey {
  KeyRecord record;
  std::string key;  // the only time the secret exists outside the caller's hands
};

class KeyStore {
 public:
  // Opens or creates the key file at `path`. `clock` must outlive the store.
  static core::Result<std::unique_ptr<KeyStore>> open(std::string path, const core::Clock& clock);

  // Creates a key for `profile` (the caller checks that the profile exists). Label: up to 200
  // printable characters.
  core::Result<CreatedKey> create(std::string_view profile, std::string_view label);

  // Every record, revoked ones included, oldest first. Hashes are left empty.
  core::Result<std::vector<KeyRecord>> list();

  // Marks a key revoked; NotFound for an unknown id; revoking twice is fine.
  core::Status revoke(std::string_view id);

  // The record of a presented key when it is well-formed, known, matches, and is not revoked.
  std::optional<KeyRecord> authenticate(std::string_view presented);

 private:
  KeyStore(std::string path, const core::Clock& clock) : path_(std::move(path)), clock_(clock) {}
  core::Status reload_if_changed();
  core::Status load_locked();
  template <class Mutate>
  core::Status modify(Mutate&& mutate);

  const std::string path_;
  const core::Clock& clock_;
  std::shared_mutex mutex_;  // guards records_ and file_identity_
  std::vector<KeyRecord> records_;
  struct FileIdentity {
    unsigned long long inode = 0, size = 0;
    long long mtime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
  } file_identity_;
};

// Key material helpers, exposed for tests.
std::string sha256_hex(std::string_view data);
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace databroker::access
