// Content negotiation for the read routes: which representation a response gets.
//
// `format=` in the query wins over the Accept header (a browser link or a spreadsheet import
// cannot set headers); without either the route's first format is served. Accept is parsed as RFC
// 9110 §12.5.1 says: media ranges with q-values, `*/*` and `type/*` matching the route's formats
// in the route's order, q=0 excluding; among equal q the first listed wins. Nothing acceptable is
// a 406 problem+json whose `supported` member lists the formats and media types of the route.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/exchange.h"
#include "broker/core/result.h"

namespace databroker::http {

enum class Format {
  Json,     // application/json            format=json
  Csv,      // text/csv                    format=csv
  GeoJson,  // application/geo+json        format=geojson
  NgsiLd,   // application/ld+json         format=ngsi-ld (@context in the body)
  // NGSI-LD as application/json with the @context in a Link header: only by Accept, and only on
  // the /ngsi-ld routes, where it is the default.
  NgsiLdJson,
  JsonLd,  // application/ld+json         format=jsonld (the catalogue)
  Turtle,  // text/turtle                 format=turtle (the catalogue)
};

std::string_view format_name(Format format);        // "json", "csv", …
std::string_view format_media_type(Format format);  // without parameters

// The representation for `request` among `supported` (in order of preference; not empty), or the
// 406 response to send.
std::optional<Format> negotiate(const HttpRequest& request, std::span<const Format> supported,
                                HttpResponse& not_acceptable);

// A `Link: <…>; rel="next"` value for the page after this one: the request's path and query with
// `name` set to `value` (percent-encoded, other parameters kept in order).
std::string next_page_link(const HttpRequest& request, std::string_view name,
                           std::string_view value);

}  // namespace databroker::http
