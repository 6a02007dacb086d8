// The NGSI-LD query parameters shared by the /ngsi-ld routes and `format=ngsi-ld` on /v1:
// `options` (and the newer `format`) choosing the representation, and `attrs`.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "adapters/codecs/ngsi_ld.h"
#include "adapters/http/exchange.h"
#include "broker/core/result.h"

namespace databroker::http {

struct NgsiRepresentation {
  codecs::NgsiForm form = codecs::NgsiForm::Normalized;
  bool temporal_values = false;  // options=temporalValues (or keyValues/simplified on temporal)
};

// `options=` is a comma list of normalized, concise, keyValues (synonym simplified),
// temporalValues and sysAttrs (accepted; this broker keeps no system attributes). With
// `ngsi_format` (the /ngsi-ld routes) `format=` is read the same way, as later NGSI-LD versions
// do. Appends FieldErrors for anything else or for two forms at once.
NgsiRepresentation parse_ngsi_representation(const HttpRequest& request, bool ngsi_format,
                                             std::vector<core::FieldError>& errors);

// `attrs=` as a list of attribute names (empty when absent); an empty name is an error.
std::vector<std::string> parse_ngsi_attrs(const HttpRequest& request,
                                          std::vector<core::FieldError>& errors);

// "a,b" → {"a", "b"}; "" → {""} (callers decide whether an empty item is an error).
std::vector<std::string> split_comma_list(std::string_view text);

codecs::NgsiTemporalForm temporal_form(const NgsiRepresentation& representation);

}  // namespace databroker::http
