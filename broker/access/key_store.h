// API keys: random, shown once, stored only as hashes, compared in constant time, revocable at
// once.
//
// A key reads `dbk_<id>_<secret>`: `id` (12 base32 characters) names the record and is safe to
// show and log; `secret` carries 160 random bits (OpenSSL RAND_bytes) in base32. Only the
// SHA-256 of the whole key is stored. Lookup is by id, then a constant-time comparison of
// hashes, so a wrong key costs the same whatever it shares with a right one.
//
// Records live in a small JSON file in the data directory (`{"version":1,"keys":[…]}`, mode
// 0600), written atomically (temp file in the same directory, fsync, rename, fsync of the
// directory) under an advisory lock (flock on the sibling `<path>.lock`). The `databroker keys`
// commands and a running server share it: the server checks the file's identity (inode, size,
// mtime in ns) on each authentication (one stat) and reloads when it changed, so a revocation
// from the command line holds immediately. Every write moves the mtime forward by at least 1 ns,
// so a rewrite is seen even when the inode is reused and the clock is coarse.
//
// A missing file is an empty store; the file is created by the first write. A file that cannot
// be read as a key file is an error (Corruption, naming the file), never an empty store: while
// it is broken, authenticate() rejects every key and the other operations return the error.
//
// Threading: all methods are safe to call from any thread. Writers in this and other processes
// serialise on the lock file; authentication never takes it.
#pragma once

#include <cstddef>
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

inline constexpr std::string_view kKeyPrefix = "dbk_";
inline constexpr std::size_t kKeyIdLength = 12;
inline constexpr std::size_t kKeySecretLength = 32;  // 160 bits in base32
// `dbk_` + id + `_` + secret.
inline constexpr std::size_t kKeyLength = kKeyPrefix.size() + kKeyIdLength + 1 + kKeySecretLength;

struct KeyRecord {
  std::string id;
  std::string profile;
  std::string label;
  core::TimestampMs created_at = 0;
  std::optional<core::TimestampMs> revoked_at;
  std::string hash_hex;  // SHA-256 of the whole key; never shown by list operations

  bool is_revoked() const { return revoked_at.has_value(); }
  bool operator==(const KeyRecord&) const = default;
};

struct CreatedKey {
  KeyRecord record;
  std::string key;  // the only time the secret exists outside the caller's hands
};

// What one stat of the key file says. All zero when the file does not exist; any change means
// the file was rewritten.
struct KeyFileIdentity {
  unsigned long long inode = 0, size = 0;
  long long mtime_ns = 0;
  bool operator==(const KeyFileIdentity&) const = default;
};

class KeyStore {
 public:
  // Opens the key file at `path`; a missing file is an empty store (nothing is created yet).
  // Corruption when the file exists but is not a valid key file; Unavailable when it cannot be
  // read. `clock` must outlive the store.
  static core::Result<std::unique_ptr<KeyStore>> open(std::string path, const core::Clock& clock);

  // Creates a key for `profile` (the caller checks that the profile exists; the name must be a
  // valid profile name). Label: up to 200 printable characters (UTF-8, no control characters).
  // InvalidArgument for a bad profile name or label.
  core::Result<CreatedKey> create(std::string_view profile, std::string_view label);

  // Every record, revoked ones included, oldest first. Hashes are left empty.
  core::Result<std::vector<KeyRecord>> list();

  // Marks a key revoked; NotFound for an unknown id; revoking twice is fine (the first
  // revocation time stays).
  core::Status revoke(std::string_view id);

  // The record of a presented key when it is well-formed, known, matches, and is not revoked;
  // the record's hash is left empty. Takes any bytes (garbage, empty, huge) and never throws.
  // Fails closed: when the key file cannot be read, every key is rejected (and logged).
  std::optional<KeyRecord> authenticate(std::string_view presented) noexcept;

  // Whether the key with this id exists and is not revoked, as the key file says now (a
  // revocation from the command line counts at once). Live subscriptions ask it to close when
  // their key is revoked. Fails closed: false when the key file cannot be read. Never throws.
  bool is_active(std::string_view id) noexcept;

  const std::string& path() const { return path_; }

 private:
  KeyStore(std::string path, const core::Clock& clock) : path_(std::move(path)), clock_(clock) {}
  // Brings records_ up to date with the file when its identity changed; the load error of the
  // file in force otherwise.
  core::Status reload_if_changed();
  // Reads the file into records_; mutex_ must be held exclusively.
  core::Status load_locked();
  // Runs `mutate` on the records read fresh under the file lock and writes them back when it
  // says they changed. `mutate`: core::Result<bool>(std::vector<KeyRecord>&).
  template <class Mutate>
  core::Status modify(Mutate&& mutate);

  const std::string path_;
  const core::Clock& clock_;
  std::shared_mutex mutex_;  // guards records_, file_identity_ and load_error_
  std::vector<KeyRecord> records_;
  std::optional<KeyFileIdentity> file_identity_;  // of the file records_ came from; none: reload
  std::optional<core::Error> load_error_;         // set while the file in force is unreadable
};

// Key material helpers, exposed for tests and for callers that only need the id of a key.

// A fresh key and its id, from RAND_bytes. Unavailable when the random generator fails.
struct KeyMaterial {
  std::string id;
  std::string key;
};
core::Result<KeyMaterial> generate_key();

// The id part of a well-formed key (prefix, lengths, base32 alphabet), without looking it up.
// Safe to log; the secret never is.
std::optional<std::string_view> key_id_of(std::string_view presented);

// Lowercase hex of the SHA-256 of `data` (OpenSSL EVP).
std::string sha256_hex(std::string_view data);
// Equal contents, in time that depends only on the lengths (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace databroker::access
