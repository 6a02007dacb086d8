// One door for every ingest format: a declared source's payload → readings, whatever the
// transport. MQTT ingest calls it with the captures of the source's topic, the HTTP handlers
// with the path's sensor and kind (or none, for POST /v1/readings and /v1/ingest/{source}).
//
// Dispatches on the source's format to decode_native, decode_senml or decode_uplink; a kind set
// on the source wins over one from the topic or path. Thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "adapters/codecs/senml.h"
#include "broker/core/ingest_source.h"
#include "broker/core/kinds.h"
#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::codecs {

struct DecodeTarget {
  std::string_view sensor_id;  // from the topic or path; empty: from the payload
  std::string_view kind;       // from the topic or path; empty: the source's, or the registry's
};

// `kind_of` may be empty (no registry: SenML without a kind then names its problem).
core::Result<std::vector<core::Reading>> decode_for_source(
    const core::IngestSource& source, std::string_view payload, const DecodeTarget& target,
    const core::KindCatalog& kinds, const KindLookup& kind_of, core::TimestampMs now,
    std::size_t max_readings);

}  // namespace databroker::codecs
