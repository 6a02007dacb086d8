// JSON serialisation for response bodies built with nlohmann_json.
//
// Strings in responses can come from clients (an echoed path segment, a key label), so invalid
// UTF-8 is replaced with U+FFFD instead of throwing: a response must never fail to serialise.
// Objects keep the order their members were added in ("id" first, problem members as in RFC
// 9457), which reads better than nlohmann's default alphabetical order.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace databroker::http {

using Json = nlohmann::ordered_json;

inline std::string to_json_text(const Json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace databroker::http
