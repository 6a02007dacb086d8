// The router: maps a method and a decoded path to a handler, with `{name}` parameters.
//
// Patterns are matched segment by segment; a `{name}` segment matches any one non-empty segment
// and binds it. When the path matches some route but not with this method the result says which
// methods would have matched (for 405 and its Allow header); when no route matches the path it
// is NotFound. Routes are tried in the order they were added; the first full match wins.
//
// Built once at start, then only read: safe to share between threads.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/http/exchange.h"

namespace databroker::http {

using Handler = std::function<void(HttpRequest& request, Respond respond)>;

struct RouteOptions {
  // Authenticate the caller (a presented key must be valid; none = the public profile) before
  // the handler runs. Off for the operations endpoints, which take no key.
  bool authenticate = true;
  // Also accept the key as `access_token=<key>` in the query, for browsers' EventSource, which
  // cannot set headers. A key in a header wins; the parameter is removed before the handler runs.
  bool token_in_query = false;
};

struct Route {
  Verb method = Verb::get;
  std::string pattern;  // e.g. "/v1/streams/{id}"; also the metrics label
  Handler handler;
  RouteOptions options;

  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool is_param = false;
  };
  std::vector<Segment> segments;
};

struct RouteFound {
  const Route* route = nullptr;
  std::vector<NameValue> params;
};
struct MethodNotAllowed {
  std::vector<Verb> allowed;  // in route order, no duplicates
};
struct RouteNotFound {};

using RouteMatch = std::variant<RouteFound, MethodNotAllowed, RouteNotFound>;

class Router {
 public:
  // Adds a route. `pattern` starts with '/', segments are literals or `{name}`; a malformed
  // pattern is a programming error and aborts.
  void add(Verb method, std::string_view pattern, Handler handler, RouteOptions options = {});

  // `segments` are the decoded path segments ("/v1/streams/x" → {"v1","streams","x"}).
  RouteMatch match(Verb method, std::span<const std::string> segments) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// "GET, POST" for an Allow header.
std::string allow_header(std::span<const Verb> methods);

}  // namespace databroker::http
