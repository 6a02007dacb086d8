// Validation of decoded readings against their kind's schema and the ingest rules.
//
// Rejects: an invalid sensor id, an unknown kind, a kind that differs from the registered
// sensor's, empty `values`, a value of the wrong type, a value outside its range, a non-integer
// count, `free_spots` above `total_spots`, a non-finite number, a timestamp more than the
// allowed skew in the future or before 2000, an invalid location, an unknown sensor in strict
// mode, and unknown measurement names when configured to. Each problem is one FieldError with a
// stable `reason` code (see docs/configuration.md for the list).
//
// Pure apart from the registry lookup; safe to call from any thread.
#pragma once

#include <string_view>
#include <vector>

#include "broker/core/kinds.h"
#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::registry {
class SensorRegistry;
}

namespace databroker::ingest {

enum class UnknownMeasurements { Keep, Reject };

struct ValidationRules {
  UnknownMeasurements unknown_measurements = UnknownMeasurements::Keep;
  core::TimestampMs max_future_skew_ms = 5 * 60 * 1000;
};

class Validator {
 public:
  // All references must outlive the validator. `registry` may be null (no registry checks).
  Validator(const core::KindCatalog& kinds, ValidationRules rules,
            const registry::SensorRegistry* registry)
      : kinds_(kinds), rules_(rules), registry_(registry) {}

  // Checks one reading and marks unknown measurements (`known = false`). Problems are appended
  // to `errors` with fields prefixed by `field_prefix` (e.g. "readings[3]."). Returns true when
  // the reading is valid.
  bool check(core::Reading& reading, core::TimestampMs now, std::string_view field_prefix,
             std::vector<core::FieldError>& errors) const;

  const core::KindCatalog& kinds() const { return kinds_; }

 private:
  const core::KindCatalog& kinds_;
  const ValidationRules rules_;
  const registry::SensorRegistry* registry_;
};

}  // namespace databroker::ingest
