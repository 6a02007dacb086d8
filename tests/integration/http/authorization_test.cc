// Authorisation over the router's own route table (OWASP API5, function level) and across
// partners (API1, object level). The admin routes are those under /v1/admin/ and those the
// OpenAPI description tags `admin`, so a route added later is covered without editing this file.
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "adapters/http/openapi.h"
#include "adapters/http/router.h"
#include "tests/integration/http/http_fixture.h"

namespace databroker::testing {
namespace {

using nlohmann::json;

std::string method_name(http::Verb verb) {
  return std::string(boost::beast::http::to_string(verb));
}

bool tagged_admin(const json& doc, const http::Route& route) {
  std::string method = method_name(route.method);
  for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const json& operation = doc["paths"][route.pattern][method];
  for (const auto& tag : operation.value("tags", json::array())) {
    if (tag == "admin") return true;
  }
  return false;
}

TEST_CASE(
    "every admin route refuses every caller without the admin right, from the router's own route "
    "table",
    "[http][authorization]") {
  HttpFixtureOptions options;
  options.webhooks = hub::WebhookRegistryOptions{};
  HttpFixture f(std::move(options));
  auto client = f.client();
  const json doc = json::parse(http::openapi_document());
  const std::string backup_dir = f.dir.file("never-written");
  // Bodies an admin's request would succeed with, so a refusal is the rights check and not a
  // validation error that happens to come first.
  const std::map<std::string, std::string> bodies = {
      {"/v1/admin/keys", R"({"profile":"ops","label":"escalation"})"},
      {"/v1/admin/backup", json{{"directory", backup_dir}}.dump()},
      {"/v1/admin/webhooks",
       R"({"profile":"mobility-partner","url":"http://127.0.0.1:9/hook","description":"x"})"},
  };
  struct Caller {
    std::string name;
    HeaderList headers;
    unsigned expected;
  };
  const std::vector<Caller> callers = {
      {"anonymous", {}, 401},
      {"ingest", bearer(f.ingest_key), 403},
      {"internal", bearer(f.internal_key), 403},
      {"partner", bearer(f.partner_key), 403},
      {"other partner", bearer(f.other_partner_key), 403},
  };
  const auto keys_before = f.keys->list();
  REQUIRE(keys_before);
  const std::string policy_before = f.policy.snapshot()->version();

  std::set<std::string> walked;
  for (const http::Route& route : f.server->router().routes()) {
    const bool admin_path = route.pattern.starts_with("/v1/admin/");
    CHECK(admin_path == tagged_admin(doc, route));  // the two lists agree
    if (!admin_path && !tagged_admin(doc, route)) continue;
    walked.insert(method_name(route.method) + " " + route.pattern);
    const auto body_it = bodies.find(route.pattern);
    const std::string body = route.method == http::Verb::get ? ""
                             : body_it != bodies.end()       ? body_it->second
                                                             : "{}";
    for (const Caller& caller : callers) {
      HeaderList headers = caller.headers;
      if (route.method != http::Verb::get) headers.push_back({"Content-Type", "application/json"});
      const std::string target = concrete_path(route, "k1");
      const auto reply = client.request(method_name(route.method), target, body, headers);
      INFO(caller.name << ": " << method_name(route.method) << " " << target << " → "
                       << reply.status << " " << reply.body);
      CHECK(reply.status == caller.expected);
      CHECK(reply.header("Content-Type") == "application/problem+json");
    }
  }
  // The walk reached every kind of admin route (keys, audit, policy, webhooks, backup).
  for (const char* route :
       {"POST /v1/admin/keys", "DELETE /v1/admin/keys/{key_id}", "GET /v1/admin/audit",
        "POST /v1/admin/policy/reload", "POST /v1/admin/webhooks", "POST /v1/admin/backup"}) {
    CHECK(walked.contains(route));
  }
  // Nothing happened: no key, no webhook, no backup, the same policy.
  const auto keys_after = f.keys->list();
  REQUIRE(keys_after);
  CHECK(keys_after->size() == keys_before->size());
  CHECK(f.webhooks->list().empty());
  CHECK_FALSE(std::filesystem::exists(backup_dir));
  CHECK(f.policy.snapshot()->version() == policy_before);
  // And the admin does get through (the same walk is not refusing everyone).
  CHECK(client.get("/v1/admin/keys", bearer(f.admin_key)).status == 200);
}

constexpr const char* kTwoPartners = R"(
rules:
  - name: parking for the mobility partner
    match: {kind: parking}
    class: shared
    grants:
      - {profile: mobility-partner, purpose: circulation plan, legal_basis: agreement 1, until: 2099-12-31}
  - name: noise for the energy partner
    match: {kind: noise}
    class: shared
    grants:
      - {profile: energy-partner, purpose: night-time study, legal_basis: agreement 2, until: 2099-12-31}
)";

TEST_CASE(
    "a partner's key on another partner's stream is 404 on every read path, like an unknown stream",
    "[http][authorization]") {
  HttpFixtureOptions options;
  options.policy_yaml = kTwoPartners;
  HttpFixture f(std::move(options));
  auto client = f.client();
  const auto ts = std::to_string(f.clock.now_ms() - 1000);
  REQUIRE(client
              .post("/v1/sensors/parking/park-1/readings",
                    R"({"ts":)" + ts + R"(,"values":{"occupied":true}})", bearer(f.ingest_key))
              .status == 202);
  REQUIRE(client
              .post("/v1/sensors/noise/noise-1/readings",
                    R"({"ts":)" + ts + R"(,"values":{"laeq":61}})", bearer(f.ingest_key))
              .status == 202);

  // Each partner sees its own stream on every path (so the 404s below are not a broken setup).
  const auto paths = [](const std::string& id, const std::string& ngsi_type) {
    return std::vector<std::string>{
        "/v1/streams/" + id,
        "/v1/streams/" + id + "/latest",
        "/v1/streams/" + id + "/readings",
        "/v1/streams/" + id + "/readings?format=csv",
        "/ngsi-ld/v1/entities/urn:ngsi-ld:" + ngsi_type + ":" + id,
        "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:" + ngsi_type + ":" + id,
    };
  };
  const auto own = [&](const std::string& key, const std::string& id, const std::string& type) {
    for (const auto& target : paths(id, type)) {
      INFO(target);
      CHECK(client.get(target, bearer(key)).status == 200);
    }
  };
  own(f.partner_key, "park-1", "ParkingSpot");
  own(f.other_partner_key, "noise-1", "NoiseLevelObserved");

  const auto foreign = [&](const std::string& key, const std::string& id, const std::string& type) {
    const auto unknown = paths("ghost-1", type);
    const auto theirs = paths(id, type);
    for (std::size_t i = 0; i < theirs.size(); ++i) {
      INFO(theirs[i]);
      const auto reply = client.get(theirs[i], bearer(key));
      const auto ghost = client.get(unknown[i], bearer(key));
      CHECK(reply.status == 404);
      // The same answer as for a stream that does not exist, the id aside: no existence oracle.
      std::string body = reply.body;
      for (auto pos = body.find(id); pos != std::string::npos; pos = body.find(id))
        body.replace(pos, id.size(), "ghost-1");
      CHECK(body == ghost.body);
    }
    for (const std::string& listing : std::vector<std::string>{
             "/v1/streams", "/v1/readings?after_seq=0", "/ngsi-ld/v1/entities?type=" + type}) {
      INFO(listing);
      const auto reply = client.get(listing, bearer(key));
      CHECK(reply.status == 200);
      CHECK(reply.body.find(id) == std::string::npos);
    }
  };
  foreign(f.partner_key, "noise-1", "NoiseLevelObserved");
  foreign(f.other_partner_key, "park-1", "ParkingSpot");
}

}  // namespace
}  // namespace databroker::testing
