// Views: the transformations a consumer's copy of a reading and of stream metadata gets.
//
// One implementation, applied identically on every output path: drop measurements, drop the
// location or metadata fields, round the location to N decimals or snap it to a grid of M metres,
// round measurement values to N decimals. A view never adds information: `apply_view` only
// removes measurements, rounds numbers and coarsens or removes the location, and a coarsened
// location loses its altitude (an exact altitude would still point at a floor of a building).
//
// `compile_policy` builds views and guarantees their invariants (decimals 0..6, a cell size in
// (0, 100000] metres, at most one of round_location and snap_location_m, `drop_location` set when
// `drop_metadata` names `location`); a hand-built View outside them is clamped, never trusted to
// add precision.
//
// Pure functions over values; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "broker/core/reading.h"

namespace databroker::policies {

// The metadata fields a view may drop (`drop_metadata`). `location` drops the location
// everywhere, readings included: a position hidden from metadata must not reappear in readings.
inline constexpr std::string_view kMetadataFields[] = {"name",  "zone",    "tags",
                                                       "owner", "steward", "location"};

struct View {
  std::set<std::string, std::less<>> drop;               // measurement names
  std::set<std::string, std::less<>> drop_metadata;      // a subset of kMetadataFields
  bool drop_location = false;                            // readings' and metadata's location
  std::optional<int> round_location;                     // decimals, 0..6
  std::optional<double> snap_location_m;                 // grid cell size in metres, (0, 100000]
  std::map<std::string, int, std::less<>> round_values;  // measurement → decimals; "*" = all

  bool is_identity() const;
  // True when a consumer with this view must not receive the measurement `name` (its values, and
  // its name and unit in stream metadata).
  bool drops_measurement(std::string_view name) const { return drop.contains(name); }
  // True when the metadata field `field` (one of kMetadataFields) is withheld.
  bool drops_metadata(std::string_view field) const {
    return drop_metadata.contains(field) || (field == "location" && drop_location);
  }
  bool operator==(const View&) const = default;
};

// The reading as a consumer with this view receives it: dropped measurements removed, numeric
// values rounded (a per-name entry of round_values wins over "*"; booleans and strings are kept
// as they are), the location as `view_location` returns it. Measurement order is kept.
core::Reading apply_view(const core::Reading& reading, const View& view);

// The location as the view lets it out (nullopt when dropped). Used for readings and for the
// stream's declared location in metadata alike.
//   round_location N: latitude and longitude rounded to N decimals, altitude removed;
//   snap_location_m M: the centre of the grid cell of M metres that holds the point, altitude
//     removed. Rows are M / 111320 degrees of latitude high, counted from the equator; within a
//     row, cells are M / (111320 · cos(latitude of the row's centre)) degrees of longitude wide,
//     counted from longitude -180. The same point always lands in the same cell, and the centre
//     lies within M metres of the point.
std::optional<core::Location> view_location(const std::optional<core::Location>& location,
                                            const View& view);

// A short description for people ("raw", "drop rssi, battery; round location to 3 decimals"),
// used by `explain` and the admin endpoints.
std::string describe(const View& view);

}  // namespace databroker::policies
