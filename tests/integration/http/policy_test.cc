// Enforcement of the policy on every read path: who sees which stream, through which view, and
// what changes at once when a grant expires or a reload tightens the policy.
#include <catch2/catch.hpp>

#include "broker/core/time.h"
#include "tests/integration/http/http_fixture.h"

namespace databroker::testing {
namespace {

constexpr const char* kPolicy = R"(
rules:
  - name: air quality is open data
    match: {kind: air_quality}
    class: open
    open_view: {round_location: 2, drop: [battery]}
  - name: parking in the centre, shared for the mobility plan
    match: {kind: parking, zone: "centrum*"}
    class: shared
    grants:
      - profile: mobility-partner
        purpose: evaluation of the circulation plan
        legal_basis: agreement 2026/114
        until: 2026-12-31
        view: {drop: [rssi]}
  - name: bins stay internal
    match: {kind: waste_bin}
    class: closed
)";

struct PolicyFixture {
  HttpFixture f{[] {
    HttpFixtureOptions options;
    options.policy_yaml = kPolicy;
    return options;
  }()};
  HttpClient client = f.client();

  PolicyFixture() {
    registry::SensorInfo parking;
    parking.id = "park-1";
    parking.kind = "parking";
    parking.zone = "centrum-noord";
    parking.owner = "mobility department";
    std::vector<registry::SensorInfo> sensors{parking};
    REQUIRE(f.registry->declare(sensors, f.clock.now_ms()));
    const auto ts = f.clock.now_ms() - 1000;
    post(
        "/v1/sensors/air_quality/air-1/readings",
        R"({"ts":)" + std::to_string(ts) +
            R"(,"values":{"pm25":12.345,"battery":80},"location":{"lat":51.05432,"lon":3.71789}})");
    post("/v1/sensors/parking/park-1/readings",
         R"({"ts":)" + std::to_string(ts) + R"(,"values":{"occupied":true,"rssi":-90}})");
    post("/v1/sensors/waste_bin/bin-1/readings",
         R"({"ts":)" + std::to_string(ts) + R"(,"values":{"fill_level":70}})");
  }

  void post(const std::string& target, const std::string& body) {
    REQUIRE(client.post(target, body, bearer(f.ingest_key)).status == 202);
  }

  // The ids of the streams `key` lists ("" = anonymous).
  std::vector<std::string> listed(const std::string& key) {
    auto reply = key.empty() ? client.get("/v1/streams") : client.get("/v1/streams", bearer(key));
    REQUIRE(reply.status == 200);
    const auto body = parse_json(reply.body);
    std::vector<std::string> ids;
    for (const auto& s : body["streams"]) ids.push_back(s["id"]);
    return ids;
  }

  unsigned status(const std::string& target, const std::string& key) {
    return key.empty() ? client.get(target).status : client.get(target, bearer(key)).status;
  }
};

using Ids = std::vector<std::string>;

TEST_CASE("each caller lists exactly the streams the policy gives it", "[http][policy]") {
  PolicyFixture p;
  CHECK(p.listed("") == Ids{"air-1"});
  CHECK(p.listed(p.f.partner_key) == Ids{"air-1", "park-1"});
  CHECK(p.listed(p.f.internal_key) == Ids{"air-1", "bin-1", "park-1"});
  CHECK(p.listed(p.f.ingest_key) == Ids{"air-1"});  // no right to read: open data only
}

TEST_CASE("an invisible stream is 404 on every route, like an unknown one", "[http][policy]") {
  PolicyFixture p;
  const auto unknown = p.client.get("/v1/streams/nope/latest");
  for (const std::string route : {"", "/latest", "/readings"}) {
    INFO(route);
    auto bins = p.client.get("/v1/streams/bin-1" + route, bearer(p.f.partner_key));
    CHECK(bins.status == 404);
    CHECK(bins.body == p.client.get("/v1/streams/nope" + route, bearer(p.f.partner_key)).body);
    CHECK(p.status("/v1/streams/park-1" + route, "") == 404);
    CHECK(p.status("/v1/streams/park-1" + route, p.f.internal_key) == 200);
  }
  CHECK(unknown.status == 404);
}

TEST_CASE("open data goes out through the open view", "[http][policy]") {
  PolicyFixture p;
  auto latest = parse_json(p.client.get("/v1/streams/air-1/latest").body);
  CHECK(latest["values"]["pm25"] == 12.345);
  CHECK_FALSE(latest["values"].contains("battery"));
  CHECK(latest["location"]["lat"] == 51.05);
  CHECK(latest["location"]["lon"] == 3.72);
  auto meta = parse_json(p.client.get("/v1/streams/air-1").body);
  CHECK(meta["class"] == "open");
  CHECK(meta["location"]["lat"] == 51.05);
  for (const auto& m : meta["measurements"]) CHECK(m["name"] != "battery");
  auto history = parse_json(p.client.get("/v1/streams/air-1/readings").body);
  REQUIRE(history["readings"].size() == 1);
  CHECK_FALSE(history["readings"][0]["values"].contains("battery"));
  // Internal callers get the raw reading.
  auto raw = parse_json(p.client.get("/v1/streams/air-1/latest", bearer(p.f.internal_key)).body);
  CHECK(raw["values"]["battery"] == 80);
  CHECK(raw["location"]["lat"] == 51.05432);
}

TEST_CASE("the feed holds only what the caller may see, through its views", "[http][policy]") {
  PolicyFixture p;
  auto anonymous = parse_json(p.client.get("/v1/readings").body)["readings"];
  REQUIRE(anonymous.size() == 1);
  CHECK(anonymous[0]["sensor"] == "air-1");
  CHECK_FALSE(anonymous[0]["values"].contains("battery"));
  auto partner = parse_json(p.client.get("/v1/readings", bearer(p.f.partner_key)).body)["readings"];
  REQUIRE(partner.size() == 2);
  CHECK(partner[1]["sensor"] == "park-1");
  CHECK_FALSE(partner[1]["values"].contains("rssi"));
  CHECK(partner[1]["values"]["occupied"] == true);
  auto internal =
      parse_json(p.client.get("/v1/readings", bearer(p.f.internal_key)).body)["readings"];
  CHECK(internal.size() == 3);
}

TEST_CASE("a grant past its end stops by itself, without a reload", "[http][policy]") {
  PolicyFixture p;
  REQUIRE(p.status("/v1/streams/park-1/latest", p.f.partner_key) == 200);
  p.f.clock.set(*core::parse_rfc3339("2026-12-31T23:59:59.999Z"));
  CHECK(p.status("/v1/streams/park-1/latest", p.f.partner_key) == 200);
  p.f.clock.set(*core::parse_rfc3339("2027-01-01T00:00:00Z"));
  CHECK(p.status("/v1/streams/park-1/latest", p.f.partner_key) == 404);
  CHECK(p.listed(p.f.partner_key) == Ids{"air-1"});
}

TEST_CASE("a tightening reload applies at once, to history too", "[http][policy]") {
  PolicyFixture p;
  REQUIRE(p.status("/v1/streams/air-1/readings", "") == 200);
  const auto before = parse_json(p.client.get("/v1/admin/policy", bearer(p.f.admin_key)).body);
  p.f.policy_yaml =
      "rules:\n  - name: nothing is open\n    match: {kind: noise}\n    class: open\n";
  auto reload = p.client.post("/v1/admin/policy/reload", "", bearer(p.f.admin_key));
  REQUIRE(reload.status == 200);
  CHECK(parse_json(reload.body)["version"] != before["version"]);
  CHECK(p.status("/v1/streams/air-1/readings", "") == 404);
  CHECK(p.status("/v1/streams/park-1/readings", p.f.partner_key) == 404);
  CHECK(parse_json(p.client.get("/v1/readings").body)["readings"].empty());
  CHECK(p.listed("").empty());
}

TEST_CASE("a broken policy is refused with its problems and the old one stays", "[http][policy]") {
  PolicyFixture p;
  const auto before = parse_json(p.client.get("/v1/admin/policy", bearer(p.f.admin_key)).body);
  p.f.policy_yaml = "rules:\n  - name: x\n    match: {kind: volcano}\n    class: sometimes\n";
  auto reload = p.client.post("/v1/admin/policy/reload", "", bearer(p.f.admin_key));
  REQUIRE(reload.status == 400);
  CHECK(parse_json(reload.body)["errors"].size() >= 2);
  const auto after = parse_json(p.client.get("/v1/admin/policy", bearer(p.f.admin_key)).body);
  CHECK(after["version"] == before["version"]);
  CHECK(p.status("/v1/streams/air-1", "") == 200);
  CHECK(p.client.post("/v1/admin/policy/reload", "", bearer(p.f.partner_key)).status == 403);
}

TEST_CASE("a partner sees its grants at /v1/me", "[http][policy]") {
  PolicyFixture p;
  auto me = parse_json(p.client.get("/v1/me", bearer(p.f.partner_key)).body);
  CHECK(me["profile"] == "mobility-partner");
  REQUIRE(me["grants"].size() == 1);
  CHECK(me["grants"][0]["purpose"] == "evaluation of the circulation plan");
  CHECK(me["grants"][0]["legal_basis"] == "agreement 2026/114");
  CHECK(me["grants"][0]["in_force"] == true);
  auto anonymous = parse_json(p.client.get("/v1/me").body);
  CHECK(anonymous["profile"] == "public");
  CHECK(anonymous["grants"].empty());
}

TEST_CASE("explain names the deciding rule and the view", "[http][policy]") {
  PolicyFixture p;
  auto reply = p.client.get("/v1/admin/policy/explain?stream=park-1&profile=mobility-partner",
                            bearer(p.f.admin_key));
  REQUIRE(reply.status == 200);
  auto body = parse_json(reply.body);
  CHECK(body["class"] == "shared");
  CHECK(body["rule"] == "parking in the centre, shared for the mobility plan");
  CHECK(body["visible"] == true);
  CHECK(body["steps"].size() >= 2);
  CHECK(p.client.get("/v1/admin/policy/explain?stream=park-1", bearer(p.f.admin_key)).status ==
        400);
  CHECK(p.client.get("/v1/admin/policy/explain?stream=nope&profile=ops", bearer(p.f.admin_key))
            .status == 404);
}

TEST_CASE("reads of shared data leave audit records, open data does not", "[http][policy]") {
  PolicyFixture p;
  REQUIRE(p.status("/v1/streams/park-1/readings", p.f.partner_key) == 200);
  REQUIRE(p.status("/v1/streams/air-1/readings", p.f.partner_key) == 200);
  REQUIRE(p.status("/v1/readings", p.f.partner_key) == 200);
  REQUIRE(p.f.audit->flush(std::chrono::seconds(5)));
  auto records =
      parse_json(p.client.get("/v1/admin/audit?profile=mobility-partner", bearer(p.f.admin_key))
                     .body)["records"];
  REQUIRE(records.size() == 2);
  CHECK(records[0]["action"] == "GET /v1/streams/{id}/readings");
  CHECK(records[0]["streams"] == nlohmann::json::array({"park-1"}));
  CHECK(records[0]["readings"] == 1);
  CHECK(records[1]["action"] == "GET /v1/readings");
  CHECK(records[1]["key_id"] == p.f.partner_key.substr(4, 12));
}

}  // namespace
}  // namespace databroker::testing
