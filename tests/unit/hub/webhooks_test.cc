// The webhook registry: definitions and secrets, the durable cursor and status in the meta
// store, the pause after `pause_after` of failures, resume, URL and secret checks, bounds.
#include "broker/hub/webhooks.h"

#include <catch2/catch.hpp>

#include "tests/support/fake_clock.h"
#include "tests/support/fake_meta_store.h"

namespace databroker::hub {
namespace {

using testing::FakeClock;
using testing::FakeMetaStore;
using namespace std::chrono_literals;

WebhookSpec spec(std::string url = "http://127.0.0.1:9000/hook") {
  WebhookSpec out;
  out.profile = "mobility-partner";
  out.url = std::move(url);
  out.filter.kinds = {"parking"};
  out.description = "circulation plan";
  return out;
}

std::unique_ptr<WebhookRegistry> open(FakeMetaStore& meta, FakeClock& clock,
                                      WebhookRegistryOptions options = {}) {
  auto registry = WebhookRegistry::open(meta, clock, options);
  REQUIRE(registry);
  return std::move(*registry);
}

std::vector<std::string> fields(const core::Error& error) {
  std::vector<std::string> out;
  for (const auto& d : error.details) out.push_back(d.field + ":" + d.reason);
  return out;
}

TEST_CASE("a created webhook is listed without its secret and survives a reopen",
          "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  std::string id;
  std::string secret;
  {
    auto registry = open(meta, clock);
    auto created = registry->create(spec(), 42);
    REQUIRE(created);
    id = created->webhook.id;
    secret = created->secret;
    CHECK(id.rfind("wh_", 0) == 0);
    CHECK(id.size() == 15);
    CHECK(secret.rfind("whsec_", 0) == 0);
    CHECK(secret.size() == 6 + 64);
    CHECK(created->webhook.status.cursor == 42);
    CHECK(created->webhook.status.state == WebhookState::Active);
  }
  auto registry = open(meta, clock);
  auto list = registry->list();
  REQUIRE(list.size() == 1);
  CHECK(list[0].id == id);
  CHECK(list[0].profile == "mobility-partner");
  CHECK(list[0].url == "http://127.0.0.1:9000/hook");
  CHECK(list[0].filter.kinds == std::vector<std::string>{"parking"});
  CHECK(list[0].description == "circulation plan");
  CHECK(list[0].created_at == clock.now_ms());
  CHECK(list[0].status.cursor == 42);
  CHECK(registry->secret(id).value() == secret);
}

TEST_CASE("generated secrets and ids differ", "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  auto registry = open(meta, clock);
  auto a = registry->create(spec(), 0);
  auto b = registry->create(spec(), 0);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->webhook.id != b->webhook.id);
  CHECK(a->secret != b->secret);
}

TEST_CASE("an admin's secret is kept as given, a short or spaced one is refused",
          "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  auto registry = open(meta, clock);
  auto with_secret = spec();
  with_secret.secret = "partner-chosen-secret-1234";
  auto created = registry->create(with_secret, 0);
  REQUIRE(created);
  CHECK(created->secret == "partner-chosen-secret-1234");
  CHECK(registry->secret(created->webhook.id).value() == "partner-chosen-secret-1234");

  for (const std::string& bad :
       std::vector<std::string>{"short", "has a space in it!!", std::string(300, 'x')}) {
    auto s = spec();
    s.secret = bad;
    auto refused = registry->create(s, 0);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == core::ErrorCode::InvalidArgument);
    CHECK(fields(refused.error()) == std::vector<std::string>{"secret:invalid_secret"});
  }
}

TEST_CASE("webhook urls: http or https with host, port, path and query, no credentials",
          "[hub][webhooks]") {
  auto ok = parse_webhook_url("http://partner.example:8443/hooks/db?tenant=gent");
  REQUIRE(ok);
  CHECK(ok->host == "partner.example");
  CHECK(ok->port == 8443);
  CHECK(ok->target == "/hooks/db?tenant=gent");
  auto bare = parse_webhook_url("http://10.0.0.7");
  REQUIRE(bare);
  CHECK(bare->port == 80);
  CHECK(bare->target == "/");
  CHECK(parse_webhook_url("http://h?x=1").value().target == "/?x=1");
  CHECK_FALSE(ok->tls);
  auto tls = parse_webhook_url("https://partner.example/hook");
  REQUIRE(tls);
  CHECK(tls->tls);
  CHECK(tls->port == 443);
  CHECK(parse_webhook_url("https://partner.example:8443").value().port == 8443);
  CHECK(parse_webhook_url("https://u:p@partner.example/").error().details[0].reason ==
        "credentials_in_url");

  const std::pair<std::string, std::string> refused[] = {
      {"ftp://partner.example/hook", "unsupported_scheme"},
      {"partner.example/hook", "unsupported_scheme"},
      {"http://user:pass@partner.example/hook", "credentials_in_url"},
      {"http://token@partner.example/hook", "credentials_in_url"},
      {"http://partner.example/hook#frag", "fragment_in_url"},
      {"http://partner.example:0/", "invalid_port"},
      {"http://partner.example:70000/", "invalid_port"},
      {"http://partner.example:/", "invalid_port"},
      {"http:///hook", "invalid_host"},
      {"http://[::1]:80/hook", "invalid_host"},
      {"http://partner.example/a b", "invalid_path"},
      {"http://partner.example/\r\nX-Injected: 1", "invalid_path"},
      {"http://p.example/" + std::string(3000, 'a'), "too_long"},
  };
  for (const auto& [url, reason] : refused) {
    INFO(url);
    auto parsed = parse_webhook_url(url);
    REQUIRE_FALSE(parsed);
    CHECK(fields(parsed.error()) == std::vector<std::string>{"url:" + reason});
  }
}

TEST_CASE("at most max_webhooks are registered", "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  auto registry = open(meta, clock, {.max_webhooks = 2});
  REQUIRE(registry->create(spec(), 0));
  REQUIRE(registry->create(spec(), 0));
  auto third = registry->create(spec(), 0);
  REQUIRE_FALSE(third);
  CHECK(third.error().code == core::ErrorCode::ResourceExhausted);
  CHECK(registry->size() == 2);
}

TEST_CASE("success moves the durable cursor forward only and clears the failure run",
          "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  auto registry = open(meta, clock);
  const std::string id = registry->create(spec(), 10)->webhook.id;
  REQUIRE(registry->record_failure(id, "HTTP 503").value() == WebhookState::Retrying);
  clock.advance(5000);
  REQUIRE(registry->record_success(id, 25, 7));
  REQUIRE(registry->record_success(id, 20, 1));  // never backwards
  auto w = registry->find(id).value();
  CHECK(w.status.cursor == 25);
  CHECK(w.status.state == WebhookState::Active);
  CHECK(w.status.failures == 0);
  CHECK(w.status.failing_since == 0);
  CHECK(w.status.delivered == 8);
  CHECK(w.status.last_success_at == clock.now_ms());
  CHECK(w.status.last_error == "HTTP 503");  // still visible after the success
  REQUIRE(registry->record_skipped(id, 30));
  CHECK(registry->find(id)->status.cursor == 30);
  // Durable: a reopened registry starts where the last write left it.
  CHECK(open(meta, clock)->find(id)->status.cursor == 30);
}

TEST_CASE("a webhook failing for pause_after is paused, and resume makes it active again",
          "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  auto registry = open(meta, clock, {.pause_after = 60s});
  int notified = 0;
  registry->set_observer([&] { ++notified; });
  const std::string id = registry->create(spec(), 0)->webhook.id;
  CHECK(notified == 1);
  const auto started = clock.now_ms();
  CHECK(registry->record_failure(id, "connection refused").value() == WebhookState::Retrying);
  clock.advance(59'999);
  CHECK(registry->record_failure(id, "connection refused").value() == WebhookState::Retrying);
  clock.advance(1);
  CHECK(registry->record_failure(id, "HTTP 500: boom").value() == WebhookState::Paused);
  auto w = registry->find(id).value();
  CHECK(w.status.failures == 3);
  CHECK(w.status.failing_since == started);
  CHECK(w.status.last_error == "HTTP 500: boom");
  CHECK(w.status.last_error_at == clock.now_ms());
  CHECK(registry->paused_count() == 1);
  CHECK(open(meta, clock)->find(id)->status.state == WebhookState::Paused);  // durable

  auto resumed = registry->resume(id);
  REQUIRE(resumed);
  CHECK(notified == 2);
  CHECK(resumed->status.state == WebhookState::Active);
  CHECK(resumed->status.failures == 0);
  CHECK(resumed->status.last_error == "HTTP 500: boom");
  CHECK(registry->paused_count() == 0);
  // A fresh failure run starts the clock again.
  CHECK(registry->record_failure(id, "again").value() == WebhookState::Retrying);
}

TEST_CASE("a permanent failure pauses at once", "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  auto registry = open(meta, clock);
  const std::string id = registry->create(spec(), 0)->webhook.id;
  CHECK(registry->record_failure(id, "profile gone", /*permanent=*/true).value() ==
        WebhookState::Paused);
}

TEST_CASE("a long last error is cut", "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  auto registry = open(meta, clock);
  const std::string id = registry->create(spec(), 0)->webhook.id;
  REQUIRE(registry->record_failure(id, std::string(5000, 'e')));
  CHECK(registry->find(id)->status.last_error.size() <= kMaxWebhookErrorLength + 3);
}

TEST_CASE("remove deletes the record, unknown ids are NotFound", "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  auto registry = open(meta, clock);
  const std::string id = registry->create(spec(), 0)->webhook.id;
  REQUIRE(registry->remove(id));
  CHECK_FALSE(registry->find(id));
  CHECK(open(meta, clock)->size() == 0);
  CHECK(registry->remove(id).error().code == core::ErrorCode::NotFound);
  CHECK(registry->resume(id).error().code == core::ErrorCode::NotFound);
  CHECK(registry->record_success(id, 1, 1).error().code == core::ErrorCode::NotFound);
  CHECK(registry->record_failure(id, "x").error().code == core::ErrorCode::NotFound);
  CHECK(registry->secret(id).error().code == core::ErrorCode::NotFound);
}

TEST_CASE("a store that refuses writes fails create, and nothing is registered",
          "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  auto registry = open(meta, clock);
  meta.fail_writes(true);
  auto created = registry->create(spec(), 0);
  REQUIRE_FALSE(created);
  CHECK(created.error().code == core::ErrorCode::Unavailable);
  CHECK(registry->size() == 0);
}

TEST_CASE("a stored record that does not decode fails the open", "[hub][webhooks]") {
  FakeMetaStore meta;
  FakeClock clock;
  REQUIRE(meta.put(kWebhookNamespace, "wh_broken", "{not json"));
  auto registry = WebhookRegistry::open(meta, clock, {});
  REQUIRE_FALSE(registry);
  CHECK(registry.error().code == core::ErrorCode::Corruption);
}

}  // namespace
}  // namespace databroker::hub
