// The API described as OpenAPI 3.0: adapters/http/openapi.json, embedded at build time and
// served unchanged at GET /v1/openapi.json.
//
// The document is written by hand, next to the handlers it describes. Tests keep it honest: every
// route of the router is described and nothing else is (unit), the document passes a real
// OpenAPI validator (e2e), and every status a route answers is one it documents (integration).
#pragma once

#include <string_view>

namespace databroker::http {

// The JSON text of the document; valid for the life of the program.
std::string_view openapi_document();

}  // namespace databroker::http
