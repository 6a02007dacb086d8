#include "tests/integration/http/http_fixture.h"

#include <catch2/catch.hpp>
#include <set>

#include "adapters/codecs/native_json.h"

namespace databroker::testing {

namespace {

access::Profile profile(std::string name, bool ingest, bool internal, bool admin) {
  access::Profile out;
  out.name = std::move(name);
  out.ingest = ingest;
  out.internal = internal;
  out.admin = admin;
  return out;
}

template <class T>
T take(core::Result<T> result, const char* what) {
  if (!result) FAIL(what << ": " << result.error().message);
  return std::move(*result);
}

}  // namespace

HttpFixture::HttpFixture(HttpFixtureOptions options) : sources(std::move(options.sources)) {
  storage = take(log::open_rocksdb_storage({dir.file("db"), log::Durability::Sync}), "open log");
  std::vector<access::Profile> declared = {profile("city-dashboard", false, true, false),
                                           profile("mobility-partner", false, false, false),
                                           profile("energy-partner", false, false, false),
                                           profile("lorawan-gateway", true, false, false),
                                           profile("ops", false, false, true)};
  if (options.rate_limits.contains("public"))
    declared.push_back(profile("public", false, false, false));
  for (auto& p : declared) {
    if (auto it = options.rate_limits.find(p.name); it != options.rate_limits.end()) {
      p.rate_limit = it->second;
    }
  }
  profiles = take(access::ProfileSet::make(std::move(declared)), "profiles");
  registry = take(registry::SensorRegistry::open(storage->meta(), /*strict=*/false), "registry");
  keys = take(access::KeyStore::open(dir.file("keys.json"), clock), "key store");
  validator = std::make_unique<ingest::Validator>(kinds, ingest::ValidationRules{}, registry.get());
  const hub::ReadingEncoder encode = [](const core::Reading& r) { return codecs::reading_json(r); };
  if (options.recent_readings > 0) {
    recent = std::make_unique<hub::RecentReadings>(options.recent_readings, encode);
  }
  followers.emplace(hub::FollowerContext{.log = storage->log(),
                                         .registry = *registry,
                                         .policy = policy,
                                         .clock = clock,
                                         .recent = recent.get(),
                                         .encode = encode,
                                         .metrics = &hub_metrics});
  pipeline = std::make_unique<ingest::IngestPipeline>(
      *validator, storage->log(), *registry, clock,
      ingest::PipelineOptions{.commit_signal = &commit_signal, .recent = recent.get()});
  audit = std::make_unique<access::AuditTrail>(storage->audit(), clock);
  policy_yaml = options.policy_yaml;
  if (!policy_yaml.empty()) {
    auto loaded = reload_policy();
    if (!loaded) FAIL("policy: " << loaded.error().message);
  }
  if (options.webhooks) {
    webhooks = take(hub::WebhookRegistry::open(storage->meta(), clock, *options.webhooks),
                    "webhook registry");
  }
  admin_key = make_key("ops");
  ingest_key = make_key("lorawan-gateway");
  internal_key = make_key("city-dashboard");
  partner_key = make_key("mobility-partner");
  other_partner_key = make_key("energy-partner");

  http::Services services{
      .ingest = options.ingest_sink != nullptr ? *options.ingest_sink
                : options.fake_ingest          ? static_cast<ingest::IngestSink&>(fake_sink)
                                               : *pipeline,
      .registry = *registry,
      .log = storage->log(),
      .keys = *keys,
      .profiles = profiles,
      .kinds = kinds,
      .clock = clock,
      .readiness =
          [this] {
            return http::Readiness{log_open.load(), mqtt_connected.load()};
          },
      .metrics = options.metrics ? options.metrics
                                 : [] { return std::string("databroker_test_metric 1\n"); },
      .policy = policy,
      .reload_policy = [this] { return reload_policy(); },
      .audit = audit.get(),
      .commit_signal = &commit_signal,
      .followers = &*followers,
      .webhooks = webhooks.get(),
      .sources = &sources,
      // The handler's contract only: a checkpoint of the fixture's log and its seq. The real
      // backup (key file, manifest) is broker/server's, tested there and end to end.
      .backup = [this](const std::string& directory) -> core::Result<std::string> {
        auto covered = storage->checkpoint(directory);
        if (!covered) return tl::unexpected(std::move(covered.error()));
        return "{\"last_seq\":" + std::to_string(*covered) + "}";
      },
  };
  server = std::make_unique<http::HttpServer>(options.http, services);
  if (auto started = server->start(); !started) FAIL("start: " << started.error().message);
}

HttpFixture::~HttpFixture() {
  if (server) server->stop();
  pipeline->stop();
  audit->stop();
}

core::Result<std::string> HttpFixture::reload_policy() {
  std::set<std::string, std::less<>> profile_names;
  for (const auto& p : profiles.all()) profile_names.insert(p.name);
  std::set<std::string, std::less<>> kind_names;
  for (const auto& k : kinds.names()) kind_names.insert(k);
  auto compiled = policies::compile_policy(policy_yaml, profile_names, kind_names);
  if (!compiled) {
    std::vector<core::FieldError> details;
    for (const auto& p : compiled.error()) {
      details.push_back({"policy:" + std::to_string(p.line), "policy_error", p.message});
    }
    return core::fail(core::ErrorCode::InvalidArgument, "the policy has problems",
                      std::move(details));
  }
  return policy.install(*compiled, clock.now_ms())->version();
}

std::string HttpFixture::make_key(const std::string& profile) {
  return take(keys->create(profile, "test " + profile), "create key").key;
}

std::string reading_body(core::TimestampMs ts, const std::string& values_json) {
  return "{\"ts\":" + std::to_string(ts) + ",\"values\":" + values_json + "}";
}

nlohmann::json parse_json(const std::string& text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) FAIL("not JSON: " << text);
  return json;
}

}  // namespace databroker::testing
