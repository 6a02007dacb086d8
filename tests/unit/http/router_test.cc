#include "adapters/http/router.h"

#include <catch2/catch.hpp>

namespace databroker::http {
namespace {

Handler named(std::string& called, std::string name) {
  return [&called, name](HttpRequest&, Respond) { called = name; };
}

std::vector<std::string> split(std::initializer_list<const char*> parts) {
  return {parts.begin(), parts.end()};
}

struct Fixture {
  std::string called;
  Router router;
  Fixture() {
    router.add(Verb::get, "/v1/streams", named(called, "list"));
    router.add(Verb::get, "/v1/streams/{id}", named(called, "get"));
    router.add(Verb::get, "/v1/streams/{id}/readings", named(called, "history"));
    router.add(Verb::post, "/v1/sensors/{kind}/{sensor_id}/readings", named(called, "ingest"));
    router.add(Verb::post, "/v1/readings", named(called, "batch"));
    router.add(Verb::get, "/v1/readings", named(called, "feed"));
    router.add(Verb::delete_, "/v1/admin/keys/{key_id}", named(called, "revoke"));
  }
};

TEST_CASE("a literal route matches its method and path", "[http][router]") {
  Fixture f;
  const auto match = f.router.match(Verb::get, split({"v1", "streams"}));
  const auto* found = std::get_if<RouteFound>(&match);
  REQUIRE(found != nullptr);
  CHECK(found->route->pattern == "/v1/streams");
  CHECK(found->params.empty());
}

TEST_CASE("parameters bind to their names", "[http][router]") {
  Fixture f;
  const auto match =
      f.router.match(Verb::post, split({"v1", "sensors", "noise", "n-1", "readings"}));
  const auto* found = std::get_if<RouteFound>(&match);
  REQUIRE(found != nullptr);
  CHECK(found->route->pattern == "/v1/sensors/{kind}/{sensor_id}/readings");
  REQUIRE(found->params.size() == 2);
  CHECK(found->params[0] == NameValue{"kind", "noise"});
  CHECK(found->params[1] == NameValue{"sensor_id", "n-1"});
  HttpRequest request;
  request.path_params = found->params;
  found->route->handler(request, [](HttpResponse) {});
  CHECK(f.called == "ingest");
  CHECK(request.param("sensor_id") == "n-1");
  CHECK(request.param("missing").empty());
}

TEST_CASE("the same path with two methods picks by method", "[http][router]") {
  Fixture f;
  auto match = f.router.match(Verb::get, split({"v1", "readings"}));
  REQUIRE(std::holds_alternative<RouteFound>(match));
  CHECK(std::get<RouteFound>(match).route->pattern == "/v1/readings");
  CHECK(std::get<RouteFound>(match).route->method == Verb::get);
  match = f.router.match(Verb::post, split({"v1", "readings"}));
  REQUIRE(std::holds_alternative<RouteFound>(match));
  CHECK(std::get<RouteFound>(match).route->method == Verb::post);
}

TEST_CASE("a known path with a wrong method is 405 with the allowed methods", "[http][router]") {
  Fixture f;
  auto match = f.router.match(Verb::put, split({"v1", "readings"}));
  const auto* not_allowed = std::get_if<MethodNotAllowed>(&match);
  REQUIRE(not_allowed != nullptr);
  CHECK(allow_header(not_allowed->allowed) == "POST, GET");

  match = f.router.match(Verb::post, split({"v1", "streams", "x"}));
  not_allowed = std::get_if<MethodNotAllowed>(&match);
  REQUIRE(not_allowed != nullptr);
  CHECK(allow_header(not_allowed->allowed) == "GET");
}

TEST_CASE("an unknown path is not found whatever the method", "[http][router]") {
  Fixture f;
  CHECK(std::holds_alternative<RouteNotFound>(f.router.match(Verb::get, split({"v2", "streams"}))));
  CHECK(std::holds_alternative<RouteNotFound>(f.router.match(Verb::get, split({"v1"}))));
  CHECK(std::holds_alternative<RouteNotFound>(
      f.router.match(Verb::get, split({"v1", "streams", "x", "readings", "more"}))));
  CHECK(std::holds_alternative<RouteNotFound>(f.router.match(Verb::get, split({}))));
}

TEST_CASE("a parameter never matches an empty segment", "[http][router]") {
  Fixture f;
  // "/v1/streams/" has segments {"v1","streams",""}.
  CHECK(std::holds_alternative<RouteNotFound>(
      f.router.match(Verb::get, split({"v1", "streams", ""}))));
}

}  // namespace
}  // namespace databroker::http
