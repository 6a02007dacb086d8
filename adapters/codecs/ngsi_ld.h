// NGSI-LD entities with the FIWARE Smart Data Models, from streams and readings the caller's view
// has already been applied to.
//
// One entity per stream, id `urn:ngsi-ld:{Type}:{sensor}`:
//   air_quality → AirQualityObserved (dataModel.Environment)
//   noise       → NoiseLevelObserved (dataModel.Environment)
//   waste_bin   → WasteContainer (dataModel.WasteManagement)
//   parking     → ParkingSpot when the latest reading has `occupied` (or there is none yet),
//                 OffStreetParking when it has `free_spots`/`total_spots` (dataModel.Parking)
// Other kinds have no Smart Data Model here (ngsi_type returns nullopt) and are left out.
// Measurements map to attributes by `ngsi_attribute_mappings` (names, UN/CEFACT unit codes, and
// the 0–1 scale of relativeHumidity and fillingLevel); every property carries `observedAt` (the
// reading's ts). Derived attributes fill what the models require: dateObserved (air quality),
// dateObservedFrom/To (noise: the reading is an instant, so both are its ts), status (bins: from
// `tilted`; spots: from `occupied`; `unknown` when the reading does not say), category and
// refParkingSite (spots: from the `garage` tag and the zone), occupancy (garages). `location` is
// a GeoProperty (a Point, `[lon, lat]`), `refDevice` a Relationship to
// `urn:ngsi-ld:Device:{sensor}`. battery, rssi and measurements the kind does not declare are
// device facts outside these models and are not emitted. A location the view withholds is simply
// absent.
//
// Representations: normalized, concise and keyValues (ETSI GS CIM 009 §4.5); temporal: arrays of
// instances (normalized or concise) or `temporalValues` (`[[value, time], …]`). With
// `context_in_body` (application/ld+json) each entity holds `@context` = its SDM domain context and
// the core context; otherwise the caller sends the domain context in a Link header
// (ngsi_link_context).
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/codecs/stream_summary.h"
#include "broker/core/reading.h"

namespace databroker::codecs {

inline constexpr std::string_view kNgsiLdMediaType = "application/ld+json";
inline constexpr std::string_view kNgsiCoreContext =
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld";

enum class NgsiForm { Normalized, Concise, KeyValues };
enum class NgsiTemporalForm { Normalized, Concise, TemporalValues };

struct NgsiOptions {
  NgsiForm form = NgsiForm::Normalized;
  bool context_in_body = true;
  std::vector<std::string> attrs;  // only these attributes (id and type always); empty: all
};

struct NgsiTemporalOptions {
  NgsiTemporalForm form = NgsiTemporalForm::Normalized;
  bool context_in_body = true;
  std::vector<std::string> attrs;
};

// One measurement's attribute in a model: value × 1 / divisor, with `unit_code` (empty: none).
struct NgsiAttributeMapping {
  std::string_view kind;
  std::string_view measurement;
  std::string_view type;  // the entity type it appears in
  std::string_view attribute;
  std::string_view unit_code;
  double divisor = 1;
};
std::span<const NgsiAttributeMapping> ngsi_attribute_mappings();

// The entity types served, in a stable order, and those a kind may become.
std::span<const std::string_view> ngsi_types();
std::vector<std::string_view> ngsi_types_of_kind(std::string_view kind);

// The entity type of a stream; nullopt for a kind without a model.
std::optional<std::string_view> ngsi_type(const StreamSummary& stream);
std::string ngsi_entity_id(std::string_view type, std::string_view sensor_id);

struct NgsiEntityRef {
  std::string type;
  std::string sensor_id;
};
// The type and sensor of `urn:ngsi-ld:{Type}:{sensor}` for a served type; nullopt otherwise.
std::optional<NgsiEntityRef> parse_ngsi_entity_id(std::string_view id);

// The Smart Data Models domain context of a served type.
std::string_view ngsi_domain_context(std::string_view type);
// The value of a Link header carrying `context` as the JSON-LD context.
std::string ngsi_link_context(std::string_view context);

// The attribute names the entity of `stream` has (what `attrs=` filters on).
std::vector<std::string> ngsi_attribute_names(const StreamSummary& stream);

// One entity (a JSON object); the stream must have a type (ngsi_type).
std::string ngsi_entity(const StreamSummary& stream, const NgsiOptions& options);
// A JSON array of the streams that have a type, in the order given.
std::string ngsi_entities(std::span<const StreamSummary> streams, const NgsiOptions& options);
// The temporal evolution of one entity over `readings` (oldest first, the stream's own).
std::string ngsi_temporal_entity(const StreamSummary& stream,
                                 std::span<const core::Reading> readings,
                                 const NgsiTemporalOptions& options);

}  // namespace databroker::codecs
