// The real HttpServer on 127.0.0.1:0 wired to the real broker modules: the RocksDB log in a
// temp dir, the sensor registry, the key store, the ingest pipeline with its validator and the
// built-in kinds. Keys exist for each kind of caller. Optionally the ingest door is a
// FakeIngestSink instead (to play a full queue).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "adapters/http/router.h"
#include "adapters/http/server.h"
#include "broker/access/identity.h"
#include "broker/access/key_store.h"
#include "broker/core/kinds.h"
#include "broker/hub/commit_signal.h"
#include "broker/hub/follower.h"
#include "broker/hub/recent_readings.h"
#include "broker/hub/webhooks.h"
#include "broker/ingest/pipeline.h"
#include "broker/ingest/validation.h"
#include "broker/log/reading_log.h"
#include "broker/registry/sensor_registry.h"
#include "policies/engine.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_ingest_sink.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace databroker::testing {

struct HttpFixtureOptions {
  config::HttpConfig http = [] {
    config::HttpConfig config;
    config.port = 0;
    config.threads = 2;
    config.max_body_bytes = 64 * 1024;
    config.max_header_bytes = 4 * 1024;
    config.max_page_limit = 50;
    return config;
  }();
  bool fake_ingest = false;
  // When set, the ingest door (it must outlive the fixture's server).
  ingest::IngestSink* ingest_sink = nullptr;
  // When set, replaces Services::metrics.
  std::function<std::string()> metrics;
  // The policy in force at start (YAML); empty: no policy, every stream closed.
  std::string policy_yaml;
  // Readings the in-memory ring of live delivery holds; 0: no ring, followers read the log.
  std::size_t recent_readings = 1024;
  // When set, a webhook registry over the fixture's meta store serves /v1/admin/webhooks.
  std::optional<hub::WebhookRegistryOptions> webhooks;
  // Declared ingest sources (POST /v1/ingest/{source} for those with http: true).
  std::vector<core::IngestSource> sources;
  // Rate limits by profile name (`public`: anonymous callers, per address).
  std::map<std::string, access::RateLimit> rate_limits;
};

class HttpFixture {
 public:
  explicit HttpFixture(HttpFixtureOptions options = {});
  ~HttpFixture();

  std::uint16_t port() const { return server->port(); }
  HttpClient client() const { return HttpClient(port()); }
  // A key for `profile`, made through the key store directly.
  std::string make_key(const std::string& profile);
  // Compiles `policy_yaml` and installs it, as the server's reload does.
  core::Result<std::string> reload_policy();

  TempDir dir;
  FakeClock clock;
  std::unique_ptr<log::Storage> storage;
  core::KindCatalog kinds = core::KindCatalog::with_builtins();
  access::ProfileSet profiles;
  std::unique_ptr<registry::SensorRegistry> registry;
  std::unique_ptr<access::KeyStore> keys;
  std::unique_ptr<ingest::Validator> validator;
  hub::CommitSignal commit_signal;              // published by `pipeline`, followed by SSE streams
  std::unique_ptr<hub::RecentReadings> recent;  // filled by `pipeline`; null without a ring
  hub::HubMetrics hub_metrics;
  std::optional<hub::FollowerContext> followers;
  std::unique_ptr<ingest::IngestPipeline> pipeline;
  std::unique_ptr<access::AuditTrail> audit;
  policies::PolicyEngine policy;
  // What POST /v1/admin/policy/reload compiles; a test edits it, then reloads.
  std::string policy_yaml;
  std::unique_ptr<hub::WebhookRegistry> webhooks;  // with HttpFixtureOptions::webhooks
  std::vector<core::IngestSource> sources;         // HttpFixtureOptions::sources
  FakeIngestSink fake_sink;
  std::atomic<bool> log_open{true};
  std::atomic<bool> mqtt_connected{true};
  std::unique_ptr<http::HttpServer> server;

  std::string admin_key;          // profile ops {admin}
  std::string ingest_key;         // profile lorawan-gateway {ingest}
  std::string internal_key;       // profile city-dashboard {internal}
  std::string partner_key;        // profile mobility-partner {}
  std::string other_partner_key;  // profile energy-partner {}
};

// The reading's epoch ms as the native payload's "ts".
std::string reading_body(core::TimestampMs ts, const std::string& values_json);

nlohmann::json parse_json(const std::string& text);

// "/v1/streams/{id}/readings" with every parameter replaced by `value`.
inline std::string concrete_path(const http::Route& route, const std::string& value) {
  std::string path;
  for (const auto& segment : route.segments)
    path += '/' + (segment.is_param ? value : segment.text);
  return path;
}

}  // namespace databroker::testing
