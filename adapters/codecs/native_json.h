// The native JSON payload, in both directions.
//
// In: `{"ts":"2026-11-28T10:15:00Z","values":{"pm25":12.3,"no2":31},"location":{"lat":51.054,
// "lon":3.717}}`. `ts` is optional (the receive time is used) and may be epoch milliseconds;
// `values` maps measurement names to numbers or booleans (strings are kept for measurements the
// kind does not declare, subject to validation). Unknown top-level fields are rejected: a typo
// like "valeus" must not store a reading without values. Batches for the cross-sensor endpoint
// also carry "sensor" and "kind".
//
// Decoding only checks shape and syntax; the schema (ranges, kinds, skew) is the validator's job.
// Every problem of a batch is reported, each with the index of the reading in `field`.
//
// Parsing uses simdjson (one parser per thread). Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::codecs {

// Where sensor and kind come from: the MQTT topic or URL path, or each object of a batch.
struct NativeTarget {
  std::string_view sensor_id;  // empty: each object carries "sensor"
  std::string_view kind;       // empty: each object carries "kind"
};

// One object, or an array of objects (`allow_array`). InvalidArgument with every problem when the
// payload is malformed, empty, or an array longer than `max_readings`.
core::Result<std::vector<core::Reading>> decode_native(std::string_view payload,
                                                       const NativeTarget& target,
                                                       core::TimestampMs now, bool allow_array,
                                                       std::size_t max_readings);

// The reading as served: `{"seq":…,"sensor":…,"kind":…,"ts":…,"received_at":…,"values":{…},
// "location":{…}}` with RFC 3339 times. Appends to `out` so callers can build arrays without
// copies.
void append_reading_json(std::string& out, const core::Reading& reading);
std::string reading_json(const core::Reading& reading);

// A double as the shortest text that reads back to the same value; integers without ".0".
void append_json_number(std::string& out, double value);

}  // namespace databroker::codecs
