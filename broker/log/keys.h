// Key layouts of the log's RocksDB column families. Internal to broker/log (tests use it too).
//
//   readings   seq (8 bytes, big-endian)                          -> encoded record
//   by_stream  sensor_id '\0' ts (8 bytes, big-endian, sign bit flipped) seq (8 bytes, BE) -> ""
//   meta       namespace '\0' key                                 -> value
//
// Invariant: RocksDB's bytewise order of these keys is the logical order. Big-endian seqs sort
// numerically; flipping the sign bit makes negative timestamps sort before positive ones; the
// '\0' after the sensor id (which never contains '\0') keeps one sensor's entries apart from
// another whose id it prefixes ("a" and "a:b").
//
// Pure functions on values; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/core/reading.h"

namespace databroker::log {

inline constexpr std::size_t kSeqKeySize = 8;
// The fixed tail of a by_stream key after the sensor prefix: ts then seq.
inline constexpr std::size_t kStreamKeyTailSize = 16;

std::string encode_seq_key(core::Seq seq);
// Nothing when `key` is not exactly kSeqKeySize bytes.
std::optional<core::Seq> decode_seq_key(std::string_view key);

// True when `id` can be used as a by_stream key prefix or a meta namespace: not empty and
// without '\0'. (Sensor ids are checked in full by core::is_valid_sensor_id upstream; the log
// only insists on what its key layout needs.)
bool is_key_safe_name(std::string_view id);

// `sensor_id '\0'`: every by_stream key of that sensor starts with it.
std::string stream_prefix(std::string_view sensor_id);
// The smallest key above every key of the sensor's prefix (`sensor_id '\1'`), for
// iterate_upper_bound.
std::string stream_prefix_end(std::string_view sensor_id);
std::string encode_stream_key(std::string_view sensor_id, core::TimestampMs ts, core::Seq seq);
// Appends the ts and seq tail to a prefix made by stream_prefix().
void append_stream_key_tail(std::string& prefix, core::TimestampMs ts, core::Seq seq);

struct StreamKey {
  core::TimestampMs ts = 0;
  core::Seq seq = 0;
  bool operator==(const StreamKey&) const = default;
};
// Decodes the tail of a by_stream key whose prefix is `prefix_size` bytes long; nothing when
// the key does not have exactly that shape.
std::optional<StreamKey> decode_stream_key(std::string_view key, std::size_t prefix_size);

// `ns '\0'` and `ns '\1'`: the bounds of one meta namespace. `ns` must be key-safe.
std::string meta_prefix(std::string_view ns);
std::string meta_prefix_end(std::string_view ns);
std::string encode_meta_key(std::string_view ns, std::string_view key);

}  // namespace databroker::log
