// The sensor registry: what the broker knows about each sensor (and so each stream), and the
// latest reading of each.
//
// Sensors come from a declaration file (loaded at start) and, unless the registry is strict,
// from their first accepted reading (auto-registration). Both are persisted in the MetaStore
// namespace "sensors" and survive restarts. The latest-reading cache is rebuilt from the log at
// start and then updated by the ingest writer after each durable append.
//
// Threading: every method is safe to call from any thread; reads take a shared lock, the
// (rare) registrations and cache updates an exclusive one, never held across storage I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"
#include "broker/log/reading_log.h"

namespace databroker::registry {

using core::Reading;
using core::Result;
using core::Status;
using core::TimestampMs;

struct SensorInfo {
  std::string id;
  std::string kind;
  std::string name;
  std::optional<core::Location> location;
  std::string zone;
  std::vector<std::string> tags;
  std::string owner;
  std::string steward;
  bool declared = false;  // from the declaration file, not auto-registered
  TimestampMs registered_at = 0;

  bool operator==(const SensorInfo&) const = default;
};

// A stream as reads see it: the sensor plus what the log knows of it.
struct StreamState {
  SensorInfo sensor;
  std::optional<Reading> latest;
  std::uint64_t readings_accepted = 0;  // since start
};

class SensorRegistry {
 public:
  // `meta` must outlive the registry. Loads the persisted sensors; Corruption when a stored
  // record does not decode (a sensor the log holds readings of must not silently vanish).
  static Result<std::unique_ptr<SensorRegistry>> open(log::MetaStore& meta, bool strict);

  // Declares sensors from the configuration's sensor file; a declaration replaces what was
  // stored for the same id (the file is the source of truth for declared sensors), except
  // `registered_at`, which keeps the time the broker first knew the sensor (for a new one:
  // the declaration's own `registered_at` when set, else `now`). Stored sensors missing from
  // `sensors` stay known: the log still holds their readings. The whole list is validated first
  // (ids, kinds, locations, duplicates; InvalidArgument with every problem, nothing stored);
  // unchanged sensors are not rewritten. A storage error may leave the sensors before the failing
  // one declared.
  Status declare(std::span<const SensorInfo> sensors, TimestampMs now);

  bool is_strict() const { return strict_; }

  // The sensor, if known.
  std::optional<SensorInfo> find(std::string_view id) const;
  bool contains(std::string_view id) const;
  // The registered kind, if the sensor is known: the per-reading check of ingest, without
  // copying the whole SensorInfo.
  std::optional<std::string> kind_of(std::string_view id) const;
  // How many sensors (streams) are known, without copying them (for /metrics).
  std::size_t size() const;

  // Registers a sensor first seen in an accepted reading (no-op when known, whatever `kind`).
  // Called by the ingest writer before the reading is appended, so the log never holds a
  // reading of a sensor the registry lost. InvalidArgument for an invalid id or kind, and for
  // an unknown sensor when the registry is strict (field "sensor", reason
  // "undeclared_sensor"); the storage error when persisting fails.
  Status register_seen(std::string_view id, std::string_view kind, TimestampMs now);

  // Updates the latest-reading cache (newest by `ts`, ties by `seq`) and the per-stream counts
  // from readings now durable. Readings of unknown sensors are ignored.
  void observe(std::span<const Reading> readings);

  std::optional<StreamState> stream(std::string_view id) const;
  // Every stream, ordered by id.
  std::vector<StreamState> streams() const;

  // Refills the latest cache from the log (at start): `log.latest(id)` for each known sensor.
  // A cached reading newer than the log's (observed meanwhile) is kept. Stops at the first
  // log error and returns it.
  Status rebuild_latest(const log::ReadingLog& log);

  // After retention: when the cached latest reading of stream `id` is one that retention
  // removed (`removed` says so), replaces it with the newest reading the log still holds, or
  // none. Without this, /latest would keep serving a reading the policy said to delete.
  Status forget_removed_latest(std::string_view id, const log::ReadingLog& log,
                               const std::function<bool(const Reading&)>& removed);

 private:
  SensorRegistry(log::MetaStore& meta, bool strict) : meta_(meta), strict_(strict) {}
  Status persist(const SensorInfo& info);

  struct Entry {
    SensorInfo info;
    std::optional<Reading> latest;
    std::uint64_t accepted = 0;
  };

  log::MetaStore& meta_;
  const bool strict_;
  // Serialises registrations (declare, register_seen) across their MetaStore write, so that a
  // slow write never holds mutex_ and readers never wait on storage.
  std::mutex registration_mutex_;
  mutable std::shared_mutex mutex_;  // guards entries_
  std::map<std::string, Entry, std::less<>> entries_;
};

// Serialisation of a SensorInfo (JSON), shared by the store and the sensor file loader.
// `location` is omitted when absent, `alt` likewise; invalid UTF-8 in a text field is replaced
// (U+FFFD) rather than failing.
std::string encode_sensor(const SensorInfo& info);

// Parses and validates one sensor record: `id` (core::is_valid_sensor_id) and `kind`
// (core::is_valid_kind_name) are required; `name`, `zone`, `owner`, `steward` (strings), `tags`
// (array of strings), `location` ({lat in [-90, 90], lon in [-180, 180], optional alt}, or
// null), `declared` (bool) and `registered_at` (integer ms) are optional; unknown fields are
// ignored, for records written by a newer version. InvalidArgument with one FieldError per
// problem; never throws, whatever the input.
Result<SensorInfo> decode_sensor(std::string_view json) noexcept;

// The problems of a sensor as FieldErrors whose fields start with `prefix` (e.g.
// "sensors[3]."): invalid id, kind, or location out of range. Empty when it is valid.
std::vector<core::FieldError> validate_sensor(const SensorInfo& info, std::string_view prefix = "");

}  // namespace databroker::registry
