#include "adapters/http/json_body.h"

#include <algorithm>
#include <string>

#include "adapters/http/params.h"
#include "adapters/http/problem.h"

namespace databroker::http {

std::optional<Json> json_object_body(const HttpRequest& request, std::string_view what,
                                     const Respond& respond) {
  if (!is_json_media_type(request.content_type)) {
    respond(problem_response(415, "unsupported_media_type",
                             "send " + std::string(what) + " as Content-Type: application/json"));
    return std::nullopt;
  }
  auto body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    respond(invalid_body({{"", "malformed", "the body must be a JSON object"}}));
    return std::nullopt;
  }
  return body;
}

std::vector<core::FieldError> unknown_fields(const Json& body,
                                             std::span<const std::string_view> known) {
  std::vector<core::FieldError> errors;
  for (const auto& item : body.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      errors.push_back({item.key(), "unknown_field", "unknown field '" + item.key() + "'"});
    }
  }
  return errors;
}

}  // namespace databroker::http
