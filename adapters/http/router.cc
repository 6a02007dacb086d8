#include "adapters/http/router.h"

#include <algorithm>

#include "broker/core/check.h"

namespace databroker::http {

std::string_view HttpRequest::param(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return {};
}

std::optional<std::string_view> HttpRequest::query_param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

HttpResponse json_response(unsigned status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

void Router::add(Verb method, std::string_view pattern, Handler handler, RouteOptions options) {
  DATABROKER_CHECK(!pattern.empty() && pattern.front() == '/', "route pattern must start with /");
  Route route;
  route.method = method;
  route.pattern = std::string(pattern);
  route.handler = std::move(handler);
  route.options = options;
  std::string_view rest = pattern.substr(1);
  while (true) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    DATABROKER_CHECK(!part.empty(), "route pattern has an empty segment");
    Route::Segment segment;
    if (part.front() == '{') {
      DATABROKER_CHECK(part.size() > 2 && part.back() == '}', "route parameter must be {name}");
      segment.text = std::string(part.substr(1, part.size() - 2));
      segment.is_param = true;
    } else {
      segment.text = std::string(part);
    }
    route.segments.push_back(std::move(segment));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  routes_.push_back(std::move(route));
}

RouteMatch Router::match(Verb method, std::span<const std::string> segments) const {
  MethodNotAllowed not_allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    bool path_matches = true;
    for (std::size_t i = 0; i < segments.size() && path_matches; ++i) {
      const Route::Segment& segment = route.segments[i];
      path_matches = segment.is_param ? !segments[i].empty() : segment.text == segments[i];
    }
    if (!path_matches) continue;
    if (route.method != method) {
      if (std::find(not_allowed.allowed.begin(), not_allowed.allowed.end(), route.method) ==
          not_allowed.allowed.end()) {
        not_allowed.allowed.push_back(route.method);
      }
      continue;
    }
    RouteFound found;
    found.route = &route;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (route.segments[i].is_param)
        found.params.emplace_back(route.segments[i].text, segments[i]);
    }
    return found;
  }
  if (!not_allowed.allowed.empty()) return not_allowed;
  return RouteNotFound{};
}

std::string allow_header(std::span<const Verb> methods) {
  std::string out;
  for (const Verb method : methods) {
    if (!out.empty()) out += ", ";
    const auto name = beast_http::to_string(method);
    out.append(name.data(), name.size());
  }
  return out;
}

}  // namespace databroker::http
