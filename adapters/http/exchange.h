// The request and response as handlers see them: plain values, no Beast types beyond the verb.
//
// The session turns a parsed Beast request into an HttpRequest and an HttpResponse back into a
// Beast response, so handlers, the router and the dispatcher compile without Beast's heavy
// templates and can be unit-tested as ordinary functions.
//
// `Respond` is how a handler answers: exactly once, from any thread (the ingest completion calls
// it on the committer thread); the session posts the answer back to its own strand. Calls after
// the first are ignored.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <functional>
#include <optional>
#include <ostream>  // boost/core/detail/string_view.hpp uses std::ostream without including it
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/access/identity.h"

namespace databroker::http {

namespace beast_http = boost::beast::http;
using Verb = beast_http::verb;

using NameValue = std::pair<std::string, std::string>;

struct HttpRequest {
  Verb method = Verb::get;
  std::string target;  // as received: path and query, percent-encoded; may hold secrets
  std::string content_type;
  std::string authorization;
  std::string api_key;  // X-API-Key
  std::string body;

  // Filled by the dispatcher before the handler runs.
  std::vector<NameValue> path_params;  // decoded, by the names of the route pattern
  std::vector<NameValue> query;        // decoded ('+' stays '+'), in order, names unique
  access::Identity identity;

  // The value of a path parameter of the matched route ("" when the route has none of that name).
  std::string_view param(std::string_view name) const;
  // A query parameter, if given.
  std::optional<std::string_view> query_param(std::string_view name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type;  // empty only for bodiless responses (204)
  std::string body;
  std::vector<NameValue> headers;  // extra headers (Allow, Retry-After, WWW-Authenticate, ...)
  bool close = false;              // close the connection after this response
};

using Respond = std::function<void(HttpResponse)>;

// A JSON body with status `status`.
HttpResponse json_response(unsigned status, std::string body);

}  // namespace databroker::http
