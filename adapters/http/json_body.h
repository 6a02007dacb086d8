// The JSON object body of an admin request (keys, webhooks, backups): sent as application/json,
// an object, and only the members the request knows. One place, so every admin route answers a
// wrong body alike: 415 for another media type, 400 `malformed` for anything but an object, 400
// `unknown_field` for each member it does not take.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "adapters/http/exchange.h"
#include "adapters/http/json_text.h"
#include "broker/core/result.h"

namespace databroker::http {

// The parsed object, or nothing after answering through `respond` (415 or 400). `what` names
// the request in the 415's detail ("the key request").
std::optional<Json> json_object_body(const HttpRequest& request, std::string_view what,
                                     const Respond& respond);

// One `unknown_field` error for each member of `body` not in `known`.
std::vector<core::FieldError> unknown_fields(const Json& body,
                                             std::span<const std::string_view> known);

}  // namespace databroker::http
