// Partner webhooks end to end inside one process: the real HTTP server (admin routes), the
// RocksDB log, the ingest pipeline, the webhook registry and delivery, and a receiver on
// 127.0.0.1 started by the test. Signed batches, an outage of the receiver (nothing missing,
// order per sensor, duplicates counted), the pause after pause_after and resume, policy
// filtering (never a stream the policy does not grant; a tightened policy applies at once),
// and the admin routes' checks.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "adapters/webhook/webhook_delivery.h"
#include "tests/integration/http/http_fixture.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"
#include "tests/support/webhook_receiver.h"

namespace databroker::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kPolicy = R"(
rules:
  - name: noise is open data
    match: {kind: noise}
    class: open
  - name: parking is shared with the mobility partner
    match: {kind: parking}
    class: shared
    grants:
      - profile: mobility-partner
        purpose: evaluation of the circulation plan
        legal_basis: agreement 2026/114
        until: 2027-06-30
        view: {drop: [battery]}
  - name: bins stay internal
    match: {kind: waste_bin}
    class: closed
)";

constexpr const char* kPolicyWithoutGrant = R"(
rules:
  - name: noise is open data
    match: {kind: noise}
    class: open
  - name: bins stay internal
    match: {kind: waste_bin}
    class: closed
)";

const std::string kPartnerSecret = "partner-secret-0123456789";

struct Options {
  std::chrono::milliseconds pause_after = 24h;
  std::size_t batch_size = 25;
  std::string ca_file{};  // empty: the system's CAs
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds request_timeout = 2s;
};

HttpFixtureOptions fixture_options(const Options& o) {
  HttpFixtureOptions options;
  options.policy_yaml = kPolicy;
  options.webhooks = hub::WebhookRegistryOptions{.max_webhooks = 5, .pause_after = o.pause_after};
  return options;
}

webhook::DeliveryOptions delivery_options(const Options& o) {
  webhook::DeliveryOptions options;
  options.batch_size = o.batch_size;
  options.request_timeout = o.request_timeout;
  options.max_body_bytes = o.max_body_bytes;
  options.backoff_min = 20ms;
  options.backoff_max = 200ms;
  options.poll_interval = 100ms;
  options.ca_file = o.ca_file;
  return options;
}

class WebhookFixture {
 public:
  explicit WebhookFixture(Options options = {})
      : f(fixture_options(options)),
        // The fixture's followers read its ring of recent readings, as the server's do.
        delivery(delivery_options(options), *f.webhooks, *f.followers, &f.commit_signal, f.profiles,
                 f.audit.get(), f.clock) {
    REQUIRE(receiver.start());
    REQUIRE(delivery.start());
  }
  ~WebhookFixture() { delivery.stop(); }

  // Registers a webhook over the API and returns the 201's body.
  json create(const std::string& profile, const std::string& secret = "",
              const json& filter = nullptr) {
    json body = {{"profile", profile}, {"url", receiver.url()}};
    if (!secret.empty()) body["secret"] = secret;
    if (!filter.is_null()) body["filter"] = filter;
    const auto reply = client.post("/v1/admin/webhooks", body.dump(), bearer(f.admin_key));
    INFO(reply.body);
    REQUIRE(reply.status == 201);
    return parse_json(reply.body);
  }

  json status(const std::string& id) {
    const auto reply = client.get("/v1/admin/webhooks/" + id, bearer(f.admin_key));
    REQUIRE(reply.status == 200);
    return parse_json(reply.body);
  }

  // Ingests `count` readings round-robin over sensors of three kinds; returns their seqs.
  std::vector<std::uint64_t> ingest(int count) {
    json batch = json::array();
    for (int i = 0; i < count; ++i) {
      const int n = next_reading_++;
      const core::TimestampMs ts = f.clock.now_ms() - 1'000'000 + n;
      switch (n % 3) {
        case 0:
          batch.push_back({{"sensor", "noise-" + std::to_string(n % 4)},
                           {"kind", "noise"},
                           {"ts", ts},
                           {"values", {{"laeq", 40 + n % 50}}}});
          break;
        case 1:
          batch.push_back({{"sensor", "park-" + std::to_string(n % 2)},
                           {"kind", "parking"},
                           {"ts", ts},
                           {"values", {{"occupied", n % 2 == 0}, {"battery", 77}}}});
          break;
        default:
          batch.push_back({{"sensor", "bin-1"},
                           {"kind", "waste_bin"},
                           {"ts", ts},
                           {"values", {{"fill_level", n % 100}}}});
      }
    }
    const auto reply = client.post("/v1/readings", batch.dump(), bearer(f.ingest_key));
    INFO(reply.body);
    REQUIRE(reply.status == 202);
    const json accepted = parse_json(reply.body);
    std::vector<std::uint64_t> seqs;
    for (auto s = accepted["first_seq"].get<std::uint64_t>();
         s <= accepted["last_seq"].get<std::uint64_t>(); ++s) {
      seqs.push_back(s);
    }
    return seqs;
  }

  // The events of one webhook's 2xx deliveries, in arrival order.
  std::vector<json> events_of(const std::string& id) const {
    std::vector<json> out;
    for (const auto& d : receiver.deliveries()) {
      if (d.header("x-databroker-webhook") != id || d.answered != 200) continue;
      for (const auto& e : d.json["events"]) out.push_back(e);
    }
    return out;
  }

  std::set<std::uint64_t> seqs_of(const std::string& id) const {
    std::set<std::uint64_t> out;
    for (const auto& e : events_of(id)) out.insert(e["seq"].get<std::uint64_t>());
    return out;
  }

  bool wait_for_seqs(const std::string& id, std::size_t count,
                     std::chrono::milliseconds deadline = 20s) {
    return wait_until([&] { return seqs_of(id).size() >= count; }, deadline);
  }

  // The receiver may hold a batch before the broker has its 2xx: wait for the stored cursor.
  bool wait_caught_up(const std::string& id, std::chrono::milliseconds deadline = 10s) {
    return wait_until([&] { return status(id)["lag"] == 0; }, deadline);
  }

  HttpFixture f;
  WebhookReceiver receiver;
  webhook::WebhookDelivery delivery;
  HttpClient client = f.client();
  int next_reading_ = 0;
};

// True when `value()` keeps returning `expected` for all of `period` (an absence can only be
// observed for a while).
bool stays(const std::function<std::size_t()>& value, std::size_t expected,
           std::chrono::milliseconds period) {
  const auto end = std::chrono::steady_clock::now() + period;
  while (std::chrono::steady_clock::now() < end) {
    if (value() != expected) return false;
    std::this_thread::sleep_for(10ms);
  }
  return value() == expected;
}

// Per sensor, the order in which seqs first arrived is ascending (re-sent batches may repeat
// seqs, never reorder them); returns the number of duplicates.
std::size_t check_order_per_sensor(const std::vector<json>& events) {
  std::map<std::string, std::uint64_t> last_new;
  std::set<std::uint64_t> seen;
  std::size_t duplicates = 0;
  for (const auto& e : events) {
    const auto seq = e["seq"].get<std::uint64_t>();
    if (!seen.insert(seq).second) {
      ++duplicates;
      continue;
    }
    const std::string sensor = e["sensor"].get<std::string>();
    INFO("sensor " << sensor << " seq " << seq);
    CHECK(seq > last_new[sensor]);
    last_new[sensor] = seq;
  }
  return duplicates;
}

TEST_CASE("a receiver gets signed batches of what the webhook's profile may see",
          "[webhook][integration]") {
  WebhookFixture w;
  const json partner = w.create("mobility-partner", kPartnerSecret);
  const json internal = w.create("city-dashboard");  // secret generated, shown once
  const std::string partner_id = partner["id"];
  const std::string internal_id = internal["id"];
  CHECK(partner["secret"] == kPartnerSecret);
  const std::string internal_secret = internal["secret"];
  CHECK(internal_secret.rfind("whsec_", 0) == 0);

  const auto seqs = w.ingest(60);  // 20 noise, 20 parking, 20 bins
  REQUIRE(w.wait_for_seqs(internal_id, 60));
  REQUIRE(w.wait_for_seqs(partner_id, 40));
  REQUIRE(w.wait_caught_up(internal_id));
  REQUIRE(w.wait_caught_up(partner_id));

  // Every delivery is signed with its webhook's secret and names itself.
  const auto deliveries = w.receiver.deliveries();
  REQUIRE(deliveries.size() >= 4);  // batches of at most 25
  for (const auto& d : deliveries) {
    const std::string id = d.header("x-databroker-webhook");
    INFO(d.body);
    CHECK(signature_ok(d, id == partner_id ? kPartnerSecret : internal_secret));
    CHECK_FALSE(signature_ok(d, id == partner_id ? internal_secret : kPartnerSecret));
    CHECK(d.target == "/hook");
    CHECK(d.header("content-type") == "application/json");
    CHECK(d.json["webhook"] == id);
    CHECK(d.json["delivery"] == d.header("x-databroker-delivery"));
    CHECK(d.header("x-databroker-timestamp") == std::to_string(w.f.clock.now_ms() / 1000));
    CHECK(d.json["events"].size() <= 25);
  }

  // The internal profile sees everything raw; the partner never sees the closed bins and gets
  // parking through its grant's view (no battery).
  CHECK(w.seqs_of(internal_id) == std::set<std::uint64_t>(seqs.begin(), seqs.end()));
  for (const auto& e : w.events_of(partner_id)) {
    INFO(e.dump());
    CHECK(e["kind"] != "waste_bin");
    if (e["kind"] == "parking") CHECK_FALSE(e["values"].contains("battery"));
  }
  CHECK(check_order_per_sensor(w.events_of(partner_id)) == 0);
  CHECK(check_order_per_sensor(w.events_of(internal_id)) == 0);

  const json status = w.status(partner_id);
  CHECK(status["state"] == "active");
  CHECK(status["lag"] == 0);
  CHECK(status["cursor"] == seqs.back());
  CHECK(status["delivered"] == 40);
  CHECK_FALSE(status.contains("secret"));
  CHECK(w.delivery.counters().events.load() == 100);

  // Deliveries of shared data to the partner are audited.
  REQUIRE(w.f.audit->flush(5s));
  auto page = w.f.audit->query({.profile = "mobility-partner", .limit = 1000});
  REQUIRE(page);
  std::uint64_t audited = 0;
  for (const auto& r : page->records) {
    if (r.action == "webhook " + partner_id) audited += r.readings;
  }
  CHECK(audited == 20);  // the parking readings; open noise needs no audit
}

TEST_CASE("a receiver down for a while gets every event afterwards, in order per sensor",
          "[webhook][integration]") {
  WebhookFixture w;
  const std::string id = w.create("city-dashboard", kPartnerSecret)["id"];
  std::vector<std::uint64_t> all = w.ingest(30);
  REQUIRE(w.wait_for_seqs(id, 30));
  REQUIRE(w.wait_caught_up(id));

  const std::uint16_t port = w.receiver.port();
  w.receiver.stop();
  for (int round = 0; round < 8; ++round) {
    const auto more = w.ingest(40);  // readings keep coming while the receiver is down
    all.insert(all.end(), more.begin(), more.end());
  }
  // The outage shows in the status: retrying, with the connection error.
  REQUIRE(wait_until([&] { return w.status(id)["failures"].get<int>() >= 2; }, 10s));
  const json down = w.status(id);
  CHECK(down["state"] == "retrying");
  CHECK(down["last_error"].get<std::string>().find("cannot connect") != std::string::npos);
  CHECK(down["lag"].get<std::uint64_t>() == 320);

  // Back, but the answers to its first two batches are lost on the way: those batches count as
  // received here and are sent again (at-least-once).
  w.receiver.lose_answers(2);
  REQUIRE(w.receiver.start(port));
  REQUIRE(w.wait_for_seqs(id, all.size()));
  CHECK(w.seqs_of(id) == std::set<std::uint64_t>(all.begin(), all.end()));  // none missing
  const std::size_t duplicates = check_order_per_sensor(w.events_of(id));
  WARN("events received " << w.events_of(id).size() << " for " << all.size()
                          << " readings; duplicates " << duplicates);
  CHECK(duplicates >= 2 * 25);  // the two batches whose answers were lost
  for (const auto& d : w.receiver.deliveries()) CHECK(signature_ok(d, kPartnerSecret));
  REQUIRE(w.wait_caught_up(id));
  CHECK(w.status(id)["state"] == "active");
  CHECK(w.status(id)["failures"] == 0);
}

TEST_CASE("a webhook that keeps failing is paused after pause_after and can be resumed",
          "[webhook][integration]") {
  WebhookFixture w({.pause_after = 10min, .batch_size = 25, .ca_file = ""});
  w.receiver.set_status(500);
  const std::string id = w.create("city-dashboard", kPartnerSecret)["id"];
  const auto seqs = w.ingest(9);
  REQUIRE(wait_until([&] { return w.status(id)["failures"].get<int>() >= 3; }, 10s));
  CHECK(w.status(id)["state"] == "retrying");
  w.f.clock.advance(10 * 60 * 1000);  // the failures have now lasted pause_after

  REQUIRE(wait_until([&] { return w.status(id)["state"] == "paused"; }, 10s));
  const auto listed = w.client.get("/v1/admin/webhooks", bearer(w.f.admin_key));
  REQUIRE(listed.status == 200);
  const json list = parse_json(listed.body)["webhooks"];
  REQUIRE(list.size() == 1);
  CHECK(list[0]["id"] == id);
  CHECK(list[0]["state"] == "paused");
  CHECK(list[0]["last_error"] == "HTTP 500: receiver says no");
  CHECK(list[0]["lag"] == 9);
  CHECK(list[0]["cursor"] == seqs.front() - 1);
  CHECK(list[0]["last_success_at"].is_null());
  CHECK(w.delivery.counters().pauses.load() == 1);
  // Paused means no more attempts.
  const std::size_t attempts = w.receiver.count();
  w.ingest(3);
  CHECK(stays([&] { return w.receiver.count(); }, attempts, 500ms));

  w.receiver.set_status(200);
  const auto resumed =
      w.client.post("/v1/admin/webhooks/" + id + "/resume", "", bearer(w.f.admin_key));
  REQUIRE(resumed.status == 200);
  CHECK(parse_json(resumed.body)["state"] == "active");
  REQUIRE(w.wait_for_seqs(id, 12));
  REQUIRE(w.wait_caught_up(id));
  CHECK(w.status(id)["last_success_at"].is_string());
}

TEST_CASE("a partner's webhook stops receiving a stream as soon as its grant is withdrawn",
          "[webhook][integration]") {
  WebhookFixture w;
  const std::string id = w.create("mobility-partner", kPartnerSecret)["id"];
  w.ingest(30);
  REQUIRE(w.wait_for_seqs(id, 20));  // 10 noise + 10 parking

  w.f.policy_yaml = kPolicyWithoutGrant;
  REQUIRE(w.f.reload_policy());
  const auto after = w.ingest(30);
  // The noise after the reload arrives; no parking after the reload ever does, though it came
  // first in seq order.
  REQUIRE(w.wait_for_seqs(id, 30));
  for (const auto& e : w.events_of(id)) {
    if (e["seq"].get<std::uint64_t>() >= after.front()) {
      INFO(e.dump());
      CHECK(e["kind"] == "noise");
    }
    CHECK(e["kind"] != "waste_bin");
  }
}

TEST_CASE("a filter narrows a webhook to the streams it names", "[webhook][integration]") {
  WebhookFixture w;
  const std::string id = w.create("city-dashboard", kPartnerSecret,
                                  {{"kinds", {"parking"}}, {"streams", {"park-1"}}})["id"];
  w.ingest(30);
  REQUIRE(w.wait_for_seqs(id, 5));
  REQUIRE(w.wait_caught_up(id));
  for (const auto& e : w.events_of(id)) CHECK(e["sensor"] == "park-1");
  CHECK(w.seqs_of(id).size() == 5);
}

TEST_CASE("webhook admin routes check rights and input, never show secrets, and are audited",
          "[webhook][integration]") {
  WebhookFixture w;
  HttpClient& c = w.client;
  const std::string body = json{{"profile", "mobility-partner"}, {"url", w.receiver.url()}}.dump();
  CHECK(c.post("/v1/admin/webhooks", body).status == 401);
  CHECK(c.post("/v1/admin/webhooks", body, bearer(w.f.partner_key)).status == 403);
  CHECK(c.get("/v1/admin/webhooks", bearer(w.f.internal_key)).status == 403);

  const auto refused = [&](const json& request, const std::string& field,
                           const std::string& reason) {
    const auto reply = c.post("/v1/admin/webhooks", request.dump(), bearer(w.f.admin_key));
    INFO(request.dump() << " → " << reply.body);
    REQUIRE(reply.status == 400);
    CHECK(reply.header("content-type") == "application/problem+json");
    bool found = false;
    const json problem = parse_json(reply.body);
    for (const auto& e : problem["errors"]) {
      found = found || (e["field"] == field && e["reason"] == reason);
    }
    CHECK(found);
  };
  refused({{"profile", "mobility-partner"}, {"url", "ftp://partner.example/hook"}}, "url",
          "unsupported_scheme");
  refused({{"profile", "mobility-partner"}, {"url", "http://u:p@partner.example/hook"}}, "url",
          "credentials_in_url");
  refused({{"profile", "nobody"}, {"url", w.receiver.url()}}, "profile", "unknown_profile");
  refused({{"url", w.receiver.url()}}, "profile", "required");
  refused({{"profile", "mobility-partner"}, {"url", w.receiver.url()}, {"secret", "short"}},
          "secret", "invalid_secret");
  refused({{"profile", "mobility-partner"},
           {"url", w.receiver.url()},
           {"filter", {{"kinds", {"no_such_kind"}}}}},
          "filter.kind", "unknown_kind");
  refused({{"profile", "mobility-partner"}, {"url", w.receiver.url()}, {"after_seq", 999}},
          "after_seq", "out_of_range");
  refused({{"profile", "mobility-partner"}, {"url", w.receiver.url()}, {"colour", "red"}}, "colour",
          "unknown_field");
  CHECK(c.post("/v1/admin/webhooks", body,
               {{"Authorization", "Bearer " + w.f.admin_key}, {"Content-Type", "text/plain"}})
            .status == 415);

  const auto created = c.post("/v1/admin/webhooks", body, bearer(w.f.admin_key));
  REQUIRE(created.status == 201);
  CHECK(created.header("cache-control") == "no-store");
  const json webhook = parse_json(created.body);
  const std::string id = webhook["id"];
  const std::string secret = webhook["secret"];
  CHECK(created.header("location") == "/v1/admin/webhooks/" + id);
  const auto listed = c.get("/v1/admin/webhooks", bearer(w.f.admin_key));
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(secret) == std::string::npos);
  CHECK(c.get("/v1/admin/webhooks/" + id, bearer(w.f.admin_key)).body.find(secret) ==
        std::string::npos);
  CHECK(c.get("/v1/admin/webhooks/wh_unknown", bearer(w.f.admin_key)).status == 404);
  CHECK(c.post("/v1/admin/webhooks/wh_unknown/resume", "", bearer(w.f.admin_key)).status == 404);

  CHECK(c.del("/v1/admin/webhooks/" + id, bearer(w.f.admin_key)).status == 204);
  CHECK(c.get("/v1/admin/webhooks/" + id, bearer(w.f.admin_key)).status == 404);
  CHECK(c.del("/v1/admin/webhooks/" + id, bearer(w.f.admin_key)).status == 404);

  REQUIRE(w.f.audit->flush(5s));
  auto page = w.f.audit->query({.profile = "ops", .limit = 1000});
  REQUIRE(page);
  std::set<std::string> actions;
  for (const auto& r : page->records) {
    actions.insert(r.action);
    CHECK(r.detail.find(secret) == std::string::npos);
  }
  CHECK(actions.contains("webhook.create"));
  CHECK(actions.contains("webhook.delete"));
}

TEST_CASE("a deleted webhook receives nothing more", "[webhook][integration]") {
  WebhookFixture w;
  const std::string id = w.create("city-dashboard", kPartnerSecret)["id"];
  w.ingest(6);
  REQUIRE(w.wait_for_seqs(id, 6));
  REQUIRE(w.wait_caught_up(id));
  REQUIRE(w.client.del("/v1/admin/webhooks/" + id, bearer(w.f.admin_key)).status == 204);
  const std::size_t before = w.receiver.count();
  w.ingest(6);
  const std::string other = w.create("city-dashboard", kPartnerSecret)["id"];
  (void)other;
  // The new webhook starts at the log's end, so it gets nothing either; give both a moment.
  CHECK(stays([&] { return w.receiver.count(); }, before, 500ms));
}

TEST_CASE("readings retention removed before delivery are skipped, and delivery goes on",
          "[webhook][integration]") {
  WebhookFixture w;
  const std::string id = w.create("city-dashboard", kPartnerSecret)["id"];
  w.ingest(3);
  REQUIRE(w.wait_for_seqs(id, 3));
  REQUIRE(w.wait_caught_up(id));
  const std::uint16_t port = w.receiver.port();
  w.receiver.stop();
  const auto lost = w.ingest(20);
  w.f.clock.advance(1000);
  REQUIRE(w.f.storage->log().drop_received_before(w.f.clock.now_ms()).value() == 23);
  const auto kept = w.ingest(5);
  REQUIRE(w.receiver.start(port));
  REQUIRE(wait_until([&] { return w.status(id)["cursor"] == kept.back(); }, 20s));
  std::set<std::uint64_t> expected{1, 2, 3};
  expected.insert(kept.begin(), kept.end());
  CHECK(w.seqs_of(id) == expected);
  for (auto seq : lost) CHECK_FALSE(w.seqs_of(id).contains(seq));
}

TEST_CASE("batches are cut before max_body_bytes and the rest follows, nothing missing",
          "[webhook][integration]") {
  WebhookFixture w({.max_body_bytes = 1024});
  const std::string id = w.create("city-dashboard", kPartnerSecret)["id"];
  const auto seqs = w.ingest(60);
  REQUIRE(w.wait_for_seqs(id, 60));
  REQUIRE(w.wait_caught_up(id));
  for (const auto& d : w.receiver.deliveries()) {
    CHECK(d.body.size() <= 1024);
    CHECK(d.json["events"].size() >= 1);
  }
  CHECK(w.receiver.count() > 60 * 150 / 1024);  // readings are ~150 bytes: many small POSTs
  CHECK(check_order_per_sensor(w.events_of(id)) == 0);
  CHECK(w.seqs_of(id) == std::set<std::uint64_t>(seqs.begin(), seqs.end()));
}

TEST_CASE("a receiver slower than request_timeout gets the batch again", "[webhook][integration]") {
  WebhookFixture w({.request_timeout = 300ms});
  w.receiver.delay_answers(1, 1s);
  const std::string id = w.create("city-dashboard", kPartnerSecret)["id"];
  const auto seqs = w.ingest(10);
  REQUIRE(wait_until([&] { return w.status(id)["failures"].get<int>() >= 1; }, 10s));
  const std::string error = w.status(id)["last_error"];
  CHECK(error == "timed out after 300 ms while waiting for the answer of 127.0.0.1:" +
                     std::to_string(w.receiver.port()));
  REQUIRE(w.wait_caught_up(id));
  CHECK(w.seqs_of(id) == std::set<std::uint64_t>(seqs.begin(), seqs.end()));
  // The slow batch came again (more than once: attempts queued while the receiver slept).
  CHECK(check_order_per_sensor(w.events_of(id)) >= 10);
}

// A self-signed certificate for `san` (e.g. "IP:127.0.0.1"), made with the openssl command;
// it is its own CA.
struct TestCertificate {
  TempDir dir;
  std::string cert = dir.file("cert.pem");
  std::string key = dir.file("key.pem");

  explicit TestCertificate(const std::string& san) {
    REQUIRE(run_command(
                {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days",
                 "2", "-subj", "/CN=databroker test", "-addext", "subjectAltName=" + san},
                30s) == 0);
  }
};

TEST_CASE("an https receiver gets signed batches over a verified TLS connection",
          "[webhook][integration][tls]") {
  TestCertificate certificate("IP:127.0.0.1");
  WebhookFixture w({.pause_after = 24h, .batch_size = 25, .ca_file = certificate.cert});
  REQUIRE(w.receiver.start_tls(certificate.cert, certificate.key));
  REQUIRE(w.receiver.url().rfind("https://127.0.0.1:", 0) == 0);
  const std::string id = w.create("city-dashboard", kPartnerSecret)["id"];
  const auto seqs = w.ingest(30);
  REQUIRE(w.wait_for_seqs(id, 30));
  REQUIRE(w.wait_caught_up(id));
  CHECK(w.seqs_of(id) == std::set<std::uint64_t>(seqs.begin(), seqs.end()));
  for (const auto& d : w.receiver.deliveries()) {
    CHECK(signature_ok(d, kPartnerSecret));
    CHECK(d.header("host") == "127.0.0.1:" + std::to_string(w.receiver.port()));
  }
  CHECK(w.receiver.tls_failures() == 0);
}

TEST_CASE("a receiver whose certificate is not trusted or names another host gets nothing",
          "[webhook][integration][tls]") {
  TestCertificate certificate("IP:127.0.0.1");
  SECTION("a certificate no trusted CA signed") {
    WebhookFixture w;  // the system's CAs: the self-signed certificate is unknown to them
    REQUIRE(w.receiver.start_tls(certificate.cert, certificate.key));
    const std::string id = w.create("city-dashboard", kPartnerSecret)["id"];
    w.ingest(3);
    REQUIRE(wait_until([&] { return w.status(id)["failures"].get<int>() >= 1; }, 10s));
    const std::string error = w.status(id)["last_error"];
    INFO(error);
    CHECK(error.find("TLS handshake") != std::string::npos);
    CHECK(error.find("certificate verify failed") != std::string::npos);
    CHECK(w.receiver.count() == 0);
  }
  SECTION("a trusted certificate for another host name") {
    WebhookFixture w({.pause_after = 24h, .batch_size = 25, .ca_file = certificate.cert});
    REQUIRE(w.receiver.start_tls(certificate.cert, certificate.key));
    const json body = {{"profile", "city-dashboard"},
                       {"url", "https://localhost:" + std::to_string(w.receiver.port()) + "/hook"},
                       {"secret", kPartnerSecret}};
    const auto created = w.client.post("/v1/admin/webhooks", body.dump(), bearer(w.f.admin_key));
    REQUIRE(created.status == 201);
    const std::string id = parse_json(created.body)["id"];
    w.ingest(3);
    REQUIRE(wait_until([&] { return w.status(id)["failures"].get<int>() >= 1; }, 10s));
    const std::string error = w.status(id)["last_error"];
    INFO(error);
    // localhost may resolve to ::1 first, where nothing listens; the last attempt is 127.0.0.1.
    CHECK((error.find("certificate verify failed") != std::string::npos ||
           error.find("cannot connect") != std::string::npos));
    CHECK(w.receiver.count() == 0);
  }
}

}  // namespace
}  // namespace databroker::testing
