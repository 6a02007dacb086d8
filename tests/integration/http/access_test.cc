// Authentication, rights and key administration over HTTP.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <span>
#include <thread>
#include <vector>

#include "tests/integration/http/http_fixture.h"

namespace databroker::testing {
namespace {

const std::string kReading = R"({"values":{"laeq":50}})";

TEST_CASE("ingest without a key is 401 with a Bearer challenge", "[http][auth]") {
  HttpFixture f;
  auto client = f.client();
  const auto reply = client.post("/v1/sensors/noise/n-1/readings", kReading);
  CHECK(reply.status == 401);
  CHECK(reply.header("WWW-Authenticate").starts_with("Bearer"));
  CHECK(reply.header("Content-Type") == "application/problem+json");
  CHECK(parse_json(reply.body)["status"] == 401);
  CHECK(f.storage->log().last_seq() == 0);
}

TEST_CASE("an invalid key is 401 even on a public route", "[http][auth]") {
  HttpFixture f;
  auto client = f.client();
  CHECK(client.get("/v1/streams").status == 200);
  CHECK(client.get("/v1/streams", bearer("dbk_notakey")).status == 401);
  CHECK(client.get("/v1/streams", {{"X-API-Key", "dbk_aaaaaaaaaaaa_bbbb"}}).status == 401);
  CHECK(client.get("/v1/streams", {{"Authorization", "Basic dXNlcjpwYXNz"}}).status == 401);
  // A valid key in X-API-Key works like Bearer.
  CHECK(client.get("/v1/streams", {{"X-API-Key", f.internal_key}}).status == 200);
  // Operations endpoints take no key.
  CHECK(client.get("/healthz", bearer("dbk_notakey")).status == 200);
}

TEST_CASE("a key without the right is 403", "[http][auth]") {
  HttpFixture f;
  auto client = f.client();
  auto reply = client.get("/v1/admin/keys", bearer(f.ingest_key));
  CHECK(reply.status == 403);
  CHECK(parse_json(reply.body)["status"] == 403);
  reply = client.post("/v1/sensors/noise/n-1/readings", kReading, bearer(f.partner_key));
  CHECK(reply.status == 403);
  reply = client.post("/v1/readings", "[]", bearer(f.admin_key));
  CHECK(reply.status == 403);
  // Anonymous on admin routes: a key is needed.
  CHECK(client.get("/v1/admin/keys").status == 401);
}

TEST_CASE("an admin creates, lists and revokes keys, a revoked key fails at once",
          "[http][admin]") {
  HttpFixture f;
  auto client = f.client();
  auto reply = client.post("/v1/admin/keys", R"({"profile":"lorawan-gateway","label":"gw 7"})",
                           bearer(f.admin_key));
  REQUIRE(reply.status == 201);
  CHECK(reply.header("Cache-Control") == "no-store");
  const auto created = parse_json(reply.body);
  const std::string key = created["key"];
  const std::string id = created["id"];
  CHECK(created["profile"] == "lorawan-gateway");
  CHECK(created["label"] == "gw 7");
  CHECK(key.find(id) != std::string::npos);

  // The new key ingests.
  reply = client.post("/v1/sensors/noise/n-1/readings", kReading, bearer(key));
  CHECK(reply.status == 202);

  // The list shows the record, never a secret or a hash.
  reply = client.get("/v1/admin/keys", bearer(f.admin_key));
  REQUIRE(reply.status == 200);
  const auto list = parse_json(reply.body);
  bool listed = false;
  for (const auto& record : list["keys"]) {
    CHECK_FALSE(record.contains("key"));
    CHECK_FALSE(record.contains("hash_hex"));
    CHECK_FALSE(record.contains("hash"));
    if (record["id"] == id) {
      listed = true;
      CHECK(record["revoked_at"].is_null());
    }
  }
  CHECK(listed);
  CHECK(reply.body.find(key) == std::string::npos);

  reply = client.del("/v1/admin/keys/" + id, bearer(f.admin_key));
  CHECK(reply.status == 204);
  CHECK(reply.body.empty());

  // Revoked: rejected on the very next request.
  reply = client.post("/v1/sensors/noise/n-1/readings", kReading, bearer(key));
  CHECK(reply.status == 401);
  CHECK(client.get("/v1/streams", bearer(key)).status == 401);

  CHECK(client.del("/v1/admin/keys/nosuchkey000", bearer(f.admin_key)).status == 404);
}

TEST_CASE("key creation validates its body", "[http][admin]") {
  HttpFixture f;
  auto client = f.client();
  auto reply = client.post("/v1/admin/keys", R"({"profile":"nobody"})", bearer(f.admin_key));
  REQUIRE(reply.status == 400);
  CHECK(parse_json(reply.body)["errors"][0]["field"] == "profile");
  CHECK(client.post("/v1/admin/keys", R"({"profile":"public"})", bearer(f.admin_key)).status ==
        400);
  CHECK(client.post("/v1/admin/keys", "{", bearer(f.admin_key)).status == 400);
  CHECK(
      client.post("/v1/admin/keys", R"({"profile":"ops","extra":1})", bearer(f.admin_key)).status ==
      400);
  reply = client.post("/v1/admin/keys", R"({"profile":"ops"})",
                      {{"Authorization", "Bearer " + f.admin_key}, {"Content-Type", "text/plain"}});
  CHECK(reply.status == 415);
}

}  // namespace
}  // namespace databroker::testing

namespace databroker::testing {

TEST_CASE("POST /v1/admin/backup writes a checkpoint into a new absolute folder, admins only",
          "[http][backup]") {
  HttpFixture f;
  std::vector<core::Reading> batch(3);
  for (auto& r : batch) {
    r.sensor_id = "n-1";
    r.kind = "noise";
    r.ts = 1000;
    r.values = {{"laeq", 50.0, true}};
  }
  REQUIRE(f.storage->log().append(std::span<core::Reading>(batch), 2000));
  auto client = f.client();
  const std::string target = f.dir.file("backup");
  const std::string body = nlohmann::json{{"directory", target}}.dump();

  CHECK(client.post("/v1/admin/backup", body).status == 401);
  CHECK(client.post("/v1/admin/backup", body, bearer(f.internal_key)).status == 403);
  CHECK(client.post("/v1/admin/backup", body, bearer(f.ingest_key)).status == 403);
  CHECK_FALSE(std::filesystem::exists(target));

  for (const std::string bad :
       {R"({"directory":"relative/dir"})", R"({"directory":"/tmp/../etc/x"})",
        R"({"directory":"/tmp/./x"})", R"({"directory":"/tmp/x/"})", R"({"directory":7})", R"({})",
        R"({"directory":"/tmp/x","y":1})", R"([])", R"({"directory":"/tmp/a\u0000b"})"}) {
    INFO(bad);
    auto reply = client.post("/v1/admin/backup", bad, bearer(f.admin_key));
    CHECK(reply.status == 400);
    CHECK(reply.header("Content-Type") == "application/problem+json");
  }
  auto plain = bearer(f.admin_key);
  plain.emplace_back("Content-Type", "text/plain");
  CHECK(client.post("/v1/admin/backup", body, plain).status == 415);

  auto reply = client.post("/v1/admin/backup", body, bearer(f.admin_key));
  REQUIRE(reply.status == 201);
  CHECK(parse_json(reply.body)["last_seq"] == 3);
  {
    auto copy = log::open_rocksdb_storage({target, log::Durability::Sync});
    REQUIRE(copy);
    CHECK((*copy)->log().last_seq() == 3);
  }
  // Never over an existing folder.
  reply = client.post("/v1/admin/backup", body, bearer(f.admin_key));
  CHECK(reply.status == 409);
  CHECK(parse_json(reply.body)["detail"].get<std::string>().find("exists") != std::string::npos);

  REQUIRE(f.audit->flush(std::chrono::seconds(5)));
  auto audit = parse_json(client.get("/v1/admin/audit", bearer(f.admin_key)).body)["records"];
  REQUIRE(audit.size() == 1);
  CHECK(audit[0]["action"] == "backup.create");
  CHECK(audit[0]["detail"].get<std::string>().find(target) != std::string::npos);
}

TEST_CASE("admin actions land in the audit trail, readable as JSON or JSON lines or CSV",
          "[http][audit]") {
  HttpFixture f;
  auto client = f.client();
  auto created = client.post("/v1/admin/keys", R"({"profile":"mobility-partner","label":"a"})",
                             bearer(f.admin_key));
  REQUIRE(created.status == 201);
  const std::string id = parse_json(created.body)["id"];
  REQUIRE(client.del("/v1/admin/keys/" + id, bearer(f.admin_key)).status == 204);
  REQUIRE(f.audit->flush(std::chrono::seconds(5)));

  auto reply = client.get("/v1/admin/audit", bearer(f.admin_key));
  REQUIRE(reply.status == 200);
  auto records = parse_json(reply.body)["records"];
  REQUIRE(records.size() == 2);
  CHECK(records[0]["action"] == "key.create");
  CHECK(records[0]["profile"] == "ops");
  CHECK(records[1]["action"] == "key.revoke");
  CHECK(records[1]["detail"].get<std::string>().find(id) != std::string::npos);

  reply = client.get("/v1/admin/audit?format=csv&profile=ops", bearer(f.admin_key));
  REQUIRE(reply.status == 200);
  CHECK(reply.header("Content-Type").starts_with("text/csv"));
  CHECK(reply.body.starts_with("ts,kind,key_id,profile,action"));
  reply = client.get("/v1/admin/audit?format=jsonl&profile=nobody", bearer(f.admin_key));
  REQUIRE(reply.status == 200);
  CHECK(reply.body.empty());

  CHECK(client.get("/v1/admin/audit?format=xml", bearer(f.admin_key)).status == 400);
  CHECK(client.get("/v1/admin/audit", bearer(f.internal_key)).status == 403);
  CHECK(client.get("/v1/admin/audit").status == 401);
}

TEST_CASE("a key over its profile's rate limit gets 429 with Retry-After, other callers do not",
          "[http][rate_limit]") {
  HttpFixtureOptions options;
  options.rate_limits["mobility-partner"] = access::RateLimit{0.5, 3};  // a request per 2 s
  HttpFixture f(std::move(options));
  auto client = f.client();
  const std::string second_partner = f.make_key("mobility-partner");
  for (int i = 0; i < 3; ++i) {
    INFO(i);
    CHECK(client.get("/v1/streams", bearer(f.partner_key)).status == 200);
  }
  auto refused = client.get("/v1/streams", bearer(f.partner_key));
  REQUIRE(refused.status == 429);
  CHECK(refused.header("Content-Type") == "application/problem+json");
  const int retry_after = std::stoi(refused.header("Retry-After"));
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 2);
  CHECK(parse_json(refused.body)["type"] == "urn:databroker:problem:rate_limited");
  // The limit is per key: another key of the same profile, and keys of other profiles, pass.
  CHECK(client.get("/v1/streams", bearer(second_partner)).status == 200);
  for (int i = 0; i < 10; ++i) {
    CHECK(client.get("/v1/streams", bearer(f.internal_key)).status == 200);
  }
  CHECK(client.get("/v1/streams").status == 200);  // anonymous: public has no limit here
  // A key that does not authenticate is 401 before any limit applies.
  CHECK(client.get("/v1/streams", bearer("dbk_nonsense")).status == 401);
  // Operations endpoints take no key and are never limited.
  CHECK(client.get("/healthz").status == 200);
  const std::string metrics = client.get("/metrics").body;
  CHECK(metrics.find("databroker_http_rate_limited_total{profile=\"mobility-partner\"} 1") !=
        std::string::npos);
}

TEST_CASE("anonymous callers are limited per client address by the public profile's limit",
          "[http][rate_limit]") {
  HttpFixtureOptions options;
  options.rate_limits["public"] = access::RateLimit{1, 2};
  HttpFixture f(std::move(options));
  auto client = f.client();
  CHECK(client.get("/v1/streams").status == 200);
  CHECK(client.get("/v1/me").status == 200);
  auto refused = client.get("/v1/streams");
  REQUIRE(refused.status == 429);
  CHECK(refused.header("Retry-After") == "1");
  // A key is not anonymous: it is not counted against the address.
  CHECK(client.get("/v1/streams", bearer(f.partner_key)).status == 200);
  // Tokens come back with time.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(client.get("/v1/streams").status == 200);
}

}  // namespace databroker::testing
