// /v1/openapi.json against the server it describes: the router's own route table is the list of
// what must be described, so a new route without a description fails here, and every answer a
// route gives to plain and hostile calls must be a status its description lists.
#include "adapters/http/openapi.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "adapters/http/router.h"
#include "tests/integration/http/http_fixture.h"

namespace databroker::testing {
namespace {

using nlohmann::json;

const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options"};

std::string lower_method(http::Verb verb) {
  std::string name(boost::beast::http::to_string(verb));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

json document() { return json::parse(http::openapi_document()); }

// The names of an operation's path parameters, following `#/components/parameters/…` refs.
std::set<std::string> path_parameters(const json& doc, const json& operation) {
  std::set<std::string> names;
  for (json parameter : operation.value("parameters", json::array())) {
    if (parameter.contains("$ref")) {
      const std::string ref = parameter["$ref"];
      parameter = doc["components"]["parameters"][ref.substr(ref.rfind('/') + 1)];
    }
    if (parameter.value("in", "") == "path") {
      CHECK(parameter.value("required", false));  // OpenAPI: path parameters are required
      names.insert(parameter.value("name", ""));
    }
  }
  return names;
}

// Live routes keep the connection open on success (an event stream, a WebSocket upgrade), so the
// walk below does not call them with a key that would succeed.
bool is_live(const json& operation) {
  const json& responses = operation.at("responses");
  if (responses.contains("101")) return true;
  const json& ok = responses.value("200", json::object());
  return ok.contains("content") && ok["content"].contains("text/event-stream");
}

TEST_CASE("/v1/openapi.json serves the embedded OpenAPI 3.0 document", "[http][openapi]") {
  HttpFixture f;
  auto client = f.client();
  // No key needed, and a key does not change it.
  const auto reply = client.get("/v1/openapi.json");
  REQUIRE(reply.status == 200);
  CHECK(reply.header("Content-Type").starts_with("application/json"));
  CHECK(reply.body == http::openapi_document());
  CHECK(client.get("/v1/openapi.json", bearer(f.partner_key)).body == reply.body);
  const json doc = json::parse(reply.body);
  CHECK(doc["openapi"].get<std::string>().starts_with("3.0"));
  CHECK(doc["info"]["title"] == "databroker API");
}

TEST_CASE("every route the router serves is described, and nothing else is", "[http][openapi]") {
  HttpFixture f;
  const json doc = document();
  const json& paths = doc.at("paths");
  std::set<std::pair<std::string, std::string>> served;
  for (const http::Route& route : f.server->router().routes()) {
    const std::string method = lower_method(route.method);
    served.emplace(route.pattern, method);
    INFO(method << " " << route.pattern);
    REQUIRE(paths.contains(route.pattern));
    REQUIRE(paths[route.pattern].contains(method));
    const json& operation = paths[route.pattern][method];
    CHECK(operation.contains("summary"));
    std::set<std::string> params;
    for (const auto& segment : route.segments) {
      if (segment.is_param) params.insert(segment.text);
    }
    CHECK(path_parameters(doc, operation) == params);
    CHECK(operation.contains("operationId"));
    // A route that takes no key says so; one that does lists the schemes.
    if (!route.options.authenticate) {
      REQUIRE(operation.contains("security"));
      CHECK(operation["security"] == json::array({json::object()}));
    }
  }
  for (const auto& [path, item] : paths.items()) {
    for (const auto& [method, operation] : item.items()) {
      if (!kMethods.contains(method)) continue;
      INFO("described but not served: " << method << " " << path);
      CHECK(served.contains({path, method}));
    }
  }
}

TEST_CASE("every status a route answers to plain and hostile calls is one it describes",
          "[http][openapi]") {
  HttpFixture f;
  auto client = f.client();
  const json doc = document();
  const json& responses_defs = doc["components"]["responses"];
  struct Caller {
    std::string name;
    HeaderList headers;
  };
  const std::vector<Caller> callers = {
      {"anonymous", {}},
      {"bad key", bearer("dbk_notakey")},
      {"partner", bearer(f.partner_key)},
      {"ingest", bearer(f.ingest_key)},
      {"internal", bearer(f.internal_key)},
      {"admin", bearer(f.admin_key)},
  };
  const std::vector<std::string> bodies = {"", "{}", "[]", "{not json", R"({"values":{}})"};
  int calls = 0;
  for (const http::Route& route : f.server->router().routes()) {
    const std::string method = lower_method(route.method);
    const json& operation = doc["paths"][route.pattern][method];
    const json& described = operation.at("responses");
    const bool live = is_live(operation);
    for (const Caller& caller : callers) {
      // A live route with a key it accepts would stream; only refusals are walked there.
      if (live && caller.name != "bad key") continue;
      for (const std::string& value : {std::string("x"), std::string("%00"), std::string("..")}) {
        const std::string target = concrete_path(route, value) + "?limit=-1&from=yesterday";
        const auto& sent_bodies =
            route.method == http::Verb::get ? std::vector<std::string>{""} : bodies;
        for (const std::string& body : sent_bodies) {
          HeaderList headers = caller.headers;
          if (route.method != http::Verb::get)
            headers.push_back({"Content-Type", "application/json"});
          const auto reply = client.request(
              std::string(boost::beast::http::to_string(route.method)), target, body, headers);
          ++calls;
          INFO(caller.name << ": " << method << " " << target << " body '" << body << "' → "
                           << reply.status << " " << reply.body);
          const std::string status = std::to_string(reply.status);
          CHECK(described.contains(status));
          if (reply.status >= 400) {
            CHECK(reply.header("Content-Type") == "application/problem+json");
          }
        }
      }
    }
  }
  CHECK(calls > 100);
  // Shared responses are referenced, not copied: each one used exists.
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, operation] : item.items()) {
      for (const auto& [status, response] : operation["responses"].items()) {
        if (!response.contains("$ref")) continue;
        const std::string name = response["$ref"].get<std::string>().substr(
            std::string("#/components/responses/").size());
        INFO(method << " " << path << " " << status << " → " << name);
        CHECK(responses_defs.contains(name));
      }
    }
  }
}

}  // namespace
}  // namespace databroker::testing
