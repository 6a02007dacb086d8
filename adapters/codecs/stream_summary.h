// A stream as one consumer may see it: the input of every stream encoder (JSON, CSV, GeoJSON,
// NGSI-LD).
//
// Built by the read path after the caller's policy view has been applied (the HTTP adapter's
// `summarize`), so encoders never see what the view withholds: a dropped measurement is neither in
// `measurements` nor in `latest`, a withheld metadata field is nullopt, the location is already
// coarsened or gone. Encoders only change the shape, never the content.
//
// A plain value; safe to share between threads once built.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "broker/core/kinds.h"
#include "broker/core/reading.h"

namespace databroker::codecs {

struct StreamSummary {
  std::string id;
  std::string kind;
  std::string stream_class;                // "open", "shared" or "closed"
  std::optional<core::Location> location;  // declared, else last reported; after the view
  std::optional<std::string> name;         // nullopt: withheld by the view
  std::optional<std::string> zone;
  std::optional<std::vector<std::string>> tags;
  std::vector<core::MeasurementSpec> measurements;  // the kind's schema minus dropped ones
  std::optional<core::Reading> latest;              // after the view
};

}  // namespace databroker::codecs
