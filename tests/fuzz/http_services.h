// The HTTP dispatcher over in-memory services, for the fuzz targets: the router, authentication
// with real keys of every kind of profile, every handler, a policy with open, shared and closed
// streams and a few readings in an in-memory log. Ingest is validated and accepted without
// being stored, so a long run does not grow.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "adapters/http/dispatcher.h"
#include "adapters/http/metrics.h"
#include "broker/access/key_store.h"
#include "broker/ingest/validation.h"
#include "broker/registry/sensor_registry.h"
#include "policies/engine.h"
#include "policies/policy.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_meta_store.h"
#include "tests/support/fake_reading_log.h"

namespace databroker::fuzzing {

inline constexpr const char* kPolicy = R"(
rules:
  - name: air is open
    match: {kind: air_quality}
    class: open
    open_view: {round_location: 3, drop: [battery]}
  - name: parking for the partner
    match: {kind: parking}
    class: shared
    grants:
      - {profile: mobility-partner, purpose: plan, legal_basis: agreement, until: 2099-12-31, view: {drop: [rssi]}}
  - name: bins stay closed
    match: {kind: waste_bin}
    class: closed
)";

[[noreturn]] inline void setup_failed(const std::string& what) {
  std::fprintf(stderr, "fuzz setup: %s\n", what.c_str());
  std::abort();
}

template <class T>
T take(core::Result<T> result, const char* what) {
  if (!result) setup_failed(std::string(what) + ": " + result.error().message);
  return std::move(*result);
}

// Validates like the pipeline and answers at once; stores nothing.
class ValidatingSink final : public ingest::IngestSink {
 public:
  ValidatingSink(const core::KindCatalog& kinds, const core::Clock& clock)
      : validator_(kinds, ingest::ValidationRules{}, nullptr), clock_(clock) {}

  core::Status try_submit(std::vector<core::Reading> batch, ingest::IngestPath,
                          ingest::Completion done) override {
    std::vector<core::FieldError> errors;
    for (auto& reading : batch) (void)validator_.check(reading, clock_.now_ms(), "", errors);
    if (!errors.empty()) {
      return core::fail(core::ErrorCode::InvalidArgument, "invalid", std::move(errors));
    }
    const core::Seq first = next_seq_;
    next_seq_ += batch.size();
    if (done) done(ingest::Accepted{batch.size(), first, next_seq_ - 1});
    return core::ok();
  }
  core::Status submit(std::vector<core::Reading> batch, ingest::IngestPath path,
                      ingest::Completion done, std::chrono::milliseconds) override {
    return try_submit(std::move(batch), path, std::move(done));
  }

 private:
  const ingest::Validator validator_;
  const core::Clock& clock_;
  core::Seq next_seq_ = 1000;
};

struct HttpWorld {
  testing::FakeClock clock;
  core::KindCatalog kinds = core::KindCatalog::with_builtins();
  testing::FakeMetaStore meta;
  testing::FakeReadingLog log;
  std::unique_ptr<registry::SensorRegistry> registry;
  access::ProfileSet profiles;
  std::unique_ptr<access::KeyStore> keys;
  policies::PolicyEngine policy;
  ValidatingSink sink{kinds, clock};
  http::HttpMetrics metrics;
  std::vector<core::IngestSource> sources;
  config::HttpConfig http_config;
  std::unique_ptr<http::Dispatcher> dispatcher;
  // Authorization headers by caller: anonymous, ingest, internal, partner, admin.
  std::vector<std::string> authorizations{""};

  // The key file's folder: in memory where there is a tmpfs (admin requests write the key file,
  // with fsync), else in /tmp; removed when the world ends, at the fuzzer's exit.
  static std::string make_key_dir() {
    for (std::string pattern : {"/dev/shm/databroker-fuzz-XXXXXX", "/tmp/databroker-fuzz-XXXXXX"}) {
      if (::mkdtemp(pattern.data()) != nullptr) return pattern;
    }
    setup_failed("cannot create a folder for the key file in /dev/shm or /tmp");
  }
  std::string key_dir;

  ~HttpWorld() {
    dispatcher.reset();
    keys.reset();
    std::error_code ignored;
    std::filesystem::remove_all(key_dir, ignored);
  }

  HttpWorld() {
    std::vector<access::Profile> declared;
    for (auto [name, ingest, internal, admin] :
         {std::tuple{"sensor-gateway", true, false, false},
          std::tuple{"city-dashboard", false, true, false},
          std::tuple{"mobility-partner", false, false, false},
          std::tuple{"ops", false, false, true}}) {
      access::Profile p;
      p.name = name;
      p.ingest = ingest;
      p.internal = internal;
      p.admin = admin;
      declared.push_back(p);
    }
    profiles = take(access::ProfileSet::make(declared), "profiles");
    registry = take(registry::SensorRegistry::open(meta, false), "registry");
    key_dir = make_key_dir();
    keys = take(access::KeyStore::open(key_dir + "/keys.json", clock), "keys");
    for (const char* profile : {"sensor-gateway", "city-dashboard", "mobility-partner", "ops"}) {
      authorizations.push_back("Bearer " + take(keys->create(profile, "fuzz"), "key").key);
    }
    std::set<std::string, std::less<>> profile_names{"public"};
    for (const auto& p : declared) profile_names.insert(p.name);
    std::set<std::string, std::less<>> kind_names;
    for (const auto& k : kinds.names()) kind_names.insert(k);
    auto compiled = policies::compile_policy(kPolicy, profile_names, kind_names);
    if (!compiled) setup_failed("the fuzz policy does not compile");
    policy.install(*compiled, clock.now_ms());

    std::vector<core::Reading> readings;
    for (auto [id, kind, name] :
         {std::tuple{"air-1", "air_quality", "pm25"}, std::tuple{"park-1", "parking", "occupied"},
          std::tuple{"bin-1", "waste_bin", "fill_level"}}) {
      for (int i = 0; i < 3; ++i) {
        core::Reading r;
        r.sensor_id = id;
        r.kind = kind;
        r.ts = clock.now_ms() - 60'000 + i;
        r.values = {{name,
                     std::string(name) == "occupied" ? core::MeasurementValue(true)
                                                     : core::MeasurementValue(10.0 + i),
                     true}};
        r.location = core::Location{51.05, 3.72, std::nullopt};
        readings.push_back(r);
        if (!registry->register_seen(id, kind, clock.now_ms())) setup_failed("register");
      }
    }
    (void)take(log.append(readings, clock.now_ms()), "append");
    registry->observe(readings);

    http_config.max_page_limit = 50;
    sources.push_back(core::IngestSource{.name = "native", .http = true});
    dispatcher = std::make_unique<http::Dispatcher>(
        http_config,
        http::Services{
            .ingest = sink,
            .registry = *registry,
            .log = log,
            .keys = *keys,
            .profiles = profiles,
            .kinds = kinds,
            .clock = clock,
            .readiness =
                [] {
                  return http::Readiness{true, true};
                },
            .metrics = [] { return std::string("databroker_fuzz 1\n"); },
            .policy = policy,
            .reload_policy = []() -> core::Result<std::string> {
              return core::fail(core::ErrorCode::InvalidArgument, "no reload while fuzzing");
            },
            .sources = &sources,
        },
        metrics);
  }

  // Keys an admin request created: past a bound, further key creation is skipped, or a long run
  // would rewrite an ever larger key file.
  std::size_t keys_created = 0;
  static constexpr std::size_t kMaxCreatedKeys = 200;

  bool may_create_keys() const { return keys_created < kMaxCreatedKeys; }

  // Dispatches and returns the answer (handlers here answer before dispatch returns).
  http::HttpResponse dispatch(http::HttpRequest request) {
    const bool creates_key =
        request.method == http::Verb::post && request.target.starts_with("/v1/admin/keys");
    http::HttpResponse answer;
    bool answered = false;
    dispatcher->dispatch(std::move(request), [&](http::HttpResponse response) {
      answer = std::move(response);
      answered = true;
    });
    if (!answered) {
      std::fprintf(stderr, "a request was never answered\n");
      std::abort();
    }
    if (creates_key && answer.status == 201) ++keys_created;
    return answer;
  }
};

}  // namespace databroker::fuzzing
