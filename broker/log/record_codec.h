// The binary encoding of one Reading as a value of the `readings` column family.
//
// Layout (version 1), all integers as LEB128 varints, signed ones zigzag-encoded first:
//   u8 version (=1)
//   varint seq, zigzag ts, zigzag received_at
//   string sensor_id, string kind           (string = varint length, then the bytes)
//   varint value count, then per value:
//     string name
//     u8 header: bits 0-1 tag (0 double, 1 bool, 2 string), bit 2 `known`; other bits zero
//     payload: double = 8 bytes little-endian IEEE 754; bool = u8 0/1; string
//   u8 location flags: 0 none, 1 lat+lon, 3 lat+lon+alt; then those doubles
// Nothing may follow. A new layout gets a new version byte; decoders keep reading old ones.
//
// The decoder treats its input as untrusted (a damaged disk, and fuzzing): every read is
// bounds-checked, a length is never trusted for an allocation beyond the bytes that remain, and
// any deviation from the layout is Corruption. Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::log {

inline constexpr unsigned char kRecordVersion = 1;

std::string encode_record(const core::Reading& reading);

// The reading `encode_record` was given; Corruption (with the offset of the problem) for
// anything that is not exactly such an encoding.
core::Result<core::Reading> decode_record(std::string_view bytes);

}  // namespace databroker::log
