// SenML JSON (RFC 8428) packs → readings.
//
// A pack is resolved as the RFC says: base name + name, base time + time (a result below 2^28 s
// is relative to `now`, the receive time), base value + value, unit or base unit. `bver` 10 and
// 26 (secondary units, RFC 9100 feature 4) are understood; anything else, a must-understand
// label (ending in `_`), two value fields in one record, a record without a value, a sum or a
// data value, and a resolved name outside `A-Za-z0-9-:./_` are rejected, each problem with the
// record's index.
//
// The last segment of the resolved name (after the last ':' or '/') is the measurement, looked
// up in the kind's own names and then its SenML names (`LAeq` → laeq, `fillingLevel` →
// fill_level, `availableSpots` → free_spots, ...; see senml_measurement()); a name the kind does
// not know is passed on as it is, for the validator's unknown_measurements rule. The unit must
// fit the measurement and is converted to it: `%` and `/` are ratios (×100 for a percentage),
// `%RH` is for humidity and `%EL` for battery only, `ug/m3` needs bver 26, `kg/m3` becomes
// µg/m³, `Bspl` becomes dB (×10), `count` values must be whole. `lat` and `lon` records give the
// location. Records of one sensor at one resolved time become one reading; readings come out in
// time order.
//
// Who the sensor is: with a sensor id (from the MQTT topic or the URL path), every record must
// carry the same name prefix (one device per pack) and the prefix itself is not checked against
// the id, so a device may name itself `urn:dev:mac:…` while the city files it under its own id.
// Without one (POST /v1/readings), the last segment of each prefix is the sensor id
// (`urn:dev:ops:aq-0001:` → aq-0001) and a pack may hold several sensors.
//
// Thread-safe (one simdjson parser per thread).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/kinds.h"
#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::codecs {

// The kind of a sensor the payload does not name (the registry's), or nothing when unknown.
using KindLookup = std::function<std::optional<std::string>(std::string_view sensor_id)>;

struct SenmlTarget {
  std::string_view sensor_id;  // empty: from each record's base name
  std::string_view kind;       // empty: `kind_of(sensor_id)`
};

// InvalidArgument with every problem, fields as `[index].label`; `max_records` bounds the pack.
core::Result<std::vector<core::Reading>> decode_senml(
    std::string_view payload, const SenmlTarget& target, const core::KindCatalog& kinds,
    const KindLookup& kind_of, core::TimestampMs now, std::size_t max_records);

// The measurement of `kind` a SenML record name stands for: one of the kind's own names, or the
// SenML/Smart Data Models spelling of a built-in one. Nothing when the kind has no such name.
std::optional<std::string> senml_measurement(const core::SensorKind& kind, std::string_view name);

}  // namespace databroker::codecs
