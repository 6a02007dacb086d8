#include "broker/server/app.h"

#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/codecs/native_json.h"
#include "adapters/http/server.h"
#include "adapters/mqtt/mqtt_ingest.h"
#include "adapters/mqtt/paho_publisher.h"
#include "adapters/mqtt/republisher.h"
#include "adapters/webhook/webhook_delivery.h"
#include "broker/access/audit.h"
#include "broker/access/key_store.h"
#include "broker/core/logging.h"
#include "broker/hub/commit_signal.h"
#include "broker/hub/follower.h"
#include "broker/hub/recent_readings.h"
#include "broker/hub/webhooks.h"
#include "broker/ingest/pipeline.h"
#include "broker/log/reading_log.h"
#include "broker/registry/sensor_registry.h"
#include "broker/server/backup.h"
#include "broker/server/metrics.h"
#include "broker/server/paths.h"
#include "broker/server/retention.h"
#include "broker/server/version.h"
#include "policies/engine.h"
#include "policies/policy_file.h"

namespace databroker::server {

namespace {

constexpr int kExitStartFailure = 1;
constexpr int kExitConfig = 2;
// Readings kept in memory for live subscribers near the head of the log (about 300 bytes each,
// plus their encodings): a subscriber further behind reads RocksDB.
constexpr std::size_t kRecentReadings = 32'768;

int start_failure(std::string_view what, const core::Error& error) {
  core::log_error("server", std::string(what) + ": " + error.message);
  return kExitStartFailure;
}

// Loads the policy file and installs it. On problems the version in force stays, every problem is
// logged, and the error lists them (for the reload endpoint's answer).
class PolicyLoader {
 public:
  PolicyLoader(std::string path, const access::ProfileSet& profiles, const core::KindCatalog& kinds,
               policies::PolicyEngine& engine, const core::Clock& clock,
               PolicyReloadCounters& counters)
      : path_(std::move(path)), engine_(engine), clock_(clock), counters_(counters) {
    for (const auto& profile : profiles.all()) profiles_.insert(profile.name);
    for (const auto& kind : kinds.names()) kinds_.insert(kind);
  }

  core::Result<std::string> reload() {
    std::lock_guard lock(mutex_);  // two reloads at once would race to install
    if (path_.empty()) {
      counters_.rejected.fetch_add(1, std::memory_order_relaxed);
      return core::fail(core::ErrorCode::InvalidArgument,
                        "no policy_file is configured; every stream stays closed");
    }
    auto compiled = policies::load_policy_file(path_, profiles_, kinds_);
    if (!compiled) {
      counters_.rejected.fetch_add(1, std::memory_order_relaxed);
      std::vector<core::FieldError> details;
      for (const auto& problem : compiled.error()) {
        core::log_error("policy", problem.to_string(path_));
        details.push_back({path_ + ":" + std::to_string(problem.line),
                           problem.is_warning ? "policy_warning" : "policy_error",
                           problem.message});
      }
      return core::fail(core::ErrorCode::InvalidArgument,
                        std::to_string(details.size()) + " problems in " + path_ + "; version " +
                            engine_.snapshot()->version() + " stays in force",
                        std::move(details));
    }
    for (const auto& warning : (*compiled)->warnings()) {
      core::log_warn("policy", warning.to_string(path_));
    }
    auto installed = engine_.install(*compiled, clock_.now_ms());
    counters_.installed.fetch_add(1, std::memory_order_relaxed);
    core::log_info("policy", "version " + installed->version() + " in force (" +
                                 std::to_string((*compiled)->rules().size()) + " rules from " +
                                 path_ + ")");
    return installed->version();
  }

 private:
  const std::string path_;
  policies::PolicyEngine& engine_;
  const core::Clock& clock_;
  PolicyReloadCounters& counters_;
  std::set<std::string, std::less<>> profiles_;
  std::set<std::string, std::less<>> kinds_;
  std::mutex mutex_;  // serialises reloads
};

}  // namespace

int run_server(const config::Config& config) {
  core::LogLevel level = core::LogLevel::Info;
  (void)core::parse_log_level(config.logging.level, level);  // validated by the config loader
  core::set_log_level(level);
  core::set_log_json(config.logging.format == config::LogFormat::Json);

  // Block the stop signals before any thread starts, so every thread inherits the mask and only
  // the main thread's sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  core::SystemClock clock;
  std::error_code ec;
  std::filesystem::create_directories(config.storage.data_dir, ec);
  if (ec) {
    return start_failure("data directory " + config.storage.data_dir,
                         {core::ErrorCode::Unavailable, ec.message(), {}});
  }

  auto storage = log::open_rocksdb_storage(
      {database_path(config), config.storage.durability, config.storage.min_free_mb << 20});
  if (!storage) return start_failure("cannot open the log", storage.error());
  log::ReadingLog& reading_log = (*storage)->log();

  core::KindCatalog kinds = core::KindCatalog::with_builtins();
  for (const auto& kind : config.extra_kinds) {
    if (auto status = kinds.add(kind); !status) return start_failure("kind", status.error());
  }
  auto profiles = access::ProfileSet::make(config.profiles);
  if (!profiles) return start_failure("profiles", profiles.error());

  auto registry = registry::SensorRegistry::open((*storage)->meta(), config.ingest.strict_sensors);
  if (!registry) return start_failure("cannot open the sensor registry", registry.error());
  if (auto status = (*registry)->declare(config.sensors, clock.now_ms()); !status) {
    return start_failure("cannot store declared sensors", status.error());
  }
  if (auto status = (*registry)->rebuild_latest(reading_log); !status) {
    return start_failure("cannot rebuild the latest-reading cache", status.error());
  }

  // The policy is checked before anything listens: a broken document at start is a
  // configuration problem (exit status 2), at reload it leaves the version in force.
  policies::PolicyEngine policy_engine;
  PolicyReloadCounters policy_reloads;
  PolicyLoader policy_loader(config.policy_file, *profiles, kinds, policy_engine, clock,
                             policy_reloads);
  if (!config.policy_file.empty()) {
    if (auto loaded = policy_loader.reload(); !loaded) {
      for (const auto& problem : loaded.error().details) {
        std::fprintf(stderr, "%s: %s\n", problem.field.c_str(), problem.detail.c_str());
      }
      return kExitConfig;
    }
  } else {
    core::log_warn("policy", "no policy_file configured: only internal profiles read anything");
  }

  auto keys = access::KeyStore::open(key_file_path(config), clock);
  if (!keys) return start_failure("cannot open the key store", keys.error());

  access::AuditTrail audit((*storage)->audit(), clock);

  ingest::Validator validator(kinds, config.ingest.rules, registry->get());
  // Live delivery: declared before the pipeline that feeds it and every follower (SSE and
  // WebSocket subscribers, webhooks, MQTT republish), so it outlives them all.
  hub::CommitSignal commit_signal;
  const hub::ReadingEncoder encode = [](const core::Reading& r) { return codecs::reading_json(r); };
  hub::RecentReadings recent(kRecentReadings, encode);
  hub::HubMetrics hub_metrics;
  const hub::FollowerContext followers{.log = reading_log,
                                       .registry = **registry,
                                       .policy = policy_engine,
                                       .clock = clock,
                                       .recent = &recent,
                                       .encode = encode,
                                       .metrics = &hub_metrics};
  ingest::IngestPipeline pipeline(
      validator, reading_log, **registry, clock,
      {.queue_capacity_readings = config.storage.queue_capacity_readings,
       .max_commit_readings = config.storage.max_commit_readings,
       .commit_signal = &commit_signal,
       .recent = &recent});

  std::unique_ptr<mqtt::MqttIngest> mqtt_ingest;
  if (config.mqtt.enabled) {
    mqtt_ingest = std::make_unique<mqtt::MqttIngest>(
        config.mqtt, pipeline, clock, mqtt::MqttSources{&config.ingest.sources, &kinds});
  }
  // MQTT republish: followers of the log with their own MQTT connection; built before the HTTP
  // server, whose /metrics reads their figures, and started after MQTT ingest.
  std::unique_ptr<mqtt::MessagePublisher> republish_client;
  std::unique_ptr<mqtt::Republisher> republisher;
  if (const auto& republish = config.mqtt.republish; republish.enabled) {
    const std::size_t targets = (republish.open ? 1 : 0) + republish.partners.size();
    republish_client = mqtt::make_paho_publisher(
        {.uri = config.mqtt.uri,
         .client_id =
             republish.client_id.empty() ? config.mqtt.client_id + "-out" : republish.client_id,
         .username = config.mqtt.username,
         .password = config.mqtt.password,
         .keepalive = config.mqtt.keepalive,
         .reconnect_min = config.mqtt.reconnect_min,
         .reconnect_max = config.mqtt.reconnect_max,
         .max_inflight = static_cast<int>(std::min<std::size_t>(
             65535, republish.max_in_flight * std::max<std::size_t>(1, targets)))});
    republisher = std::make_unique<mqtt::Republisher>(
        republish, followers, commit_signal, *republish_client, &(*storage)->meta(), &audit);
  }

  // Partner webhooks: the registry serves the admin routes; the delivery (its own thread) starts
  // after the HTTP server and stops before the pipeline.
  auto webhooks = hub::WebhookRegistry::open(
      (*storage)->meta(), clock,
      {.max_webhooks = config.webhooks.max_webhooks, .pause_after = config.webhooks.pause_after});
  if (!webhooks) return start_failure("cannot open the webhook registry", webhooks.error());
  webhook::WebhookDelivery webhook_delivery(webhook::delivery_options(config.webhooks), **webhooks,
                                            followers, &commit_signal, *profiles, &audit, clock);

  // Built before the HTTP server, whose /metrics reads its counters; its worker starts last.
  RetentionPass retention_pass(reading_log, **registry, policy_engine, config.storage.retention);

  http::Services services{
      .ingest = pipeline,
      .registry = **registry,
      .log = reading_log,
      .keys = **keys,
      .profiles = *profiles,
      .kinds = kinds,
      .clock = clock,
      .readiness =
          [&] {
            // Not ready while the log refuses writes: ingest would only get 503s.
            return http::Readiness{(*storage)->writable(),
                                   !mqtt_ingest || mqtt_ingest->is_connected()};
          },
      .metrics =
          [&] {
            return render_metrics({pipeline, reading_log, **registry, mqtt_ingest.get(), &audit,
                                   config.storage.queue_capacity_readings,
                                   &retention_pass.counters(), republisher.get(), webhooks->get(),
                                   &webhook_delivery.counters(), &policy_engine, &policy_reloads}) +
                   hub_metrics.render(reading_log.last_seq()) +
                   "# HELP databroker_log_writable 1 while the log takes writes, 0 once a write "
                   "failed on the disk (free space, then restart).\n"
                   "# TYPE databroker_log_writable gauge\ndatabroker_log_writable " +
                   ((*storage)->writable() ? "1\n" : "0\n");
          },
      .policy = policy_engine,
      .reload_policy = [&] { return policy_loader.reload(); },
      .audit = &audit,
      .commit_signal = &commit_signal,
      .followers = &followers,
      .webhooks = webhooks->get(),
      .sources = &config.ingest.sources,
      .backup = [&](const std::string& directory) -> core::Result<std::string> {
        auto manifest = write_backup(**storage, key_file_path(config), directory, clock.now_ms());
        if (!manifest) return tl::unexpected(std::move(manifest.error()));
        return manifest_json(*manifest);
      },
  };
  http::HttpServer http_server(config.http, services);
  if (auto status = http_server.start(); !status) {
    return start_failure("cannot start the HTTP server", status.error());
  }
  if (mqtt_ingest) {
    if (auto status = mqtt_ingest->start(); !status) {
      http_server.stop();
      return start_failure("cannot start MQTT ingest", status.error());
    }
  }
  if (republisher) {
    if (auto status = republisher->start(); !status) {
      if (mqtt_ingest) mqtt_ingest->stop();
      http_server.stop();
      return start_failure("cannot start MQTT republish", status.error());
    }
  }
  if (config.webhooks.enabled) {
    if (auto status = webhook_delivery.start(); !status) {
      if (republisher) republisher->stop();
      if (mqtt_ingest) mqtt_ingest->stop();
      http_server.stop();
      return start_failure("cannot start webhook delivery", status.error());
    }
  }
  // Always running: policy rules may set a retention even when storage.retention is unset.
  std::optional<RetentionWorker> retention;
  retention.emplace(retention_pass, clock);

  core::log_info("server", std::string("databroker ") + kVersion + " listening on http://" +
                               config.http.host + ":" + std::to_string(http_server.port()) +
                               ", log at seq " + std::to_string(reading_log.last_seq()) +
                               (mqtt_ingest ? ", MQTT " + config.mqtt.uri : ", MQTT off"));

  while (true) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal == SIGHUP) {
      core::log_info("server", "SIGHUP: reloading the policy");
      (void)policy_loader.reload();  // problems are logged; the version in force stays
      continue;
    }
    core::log_info("server",
                   std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"));
    break;
  }

  // In-flight HTTP ingest waits for its commit, so the pipeline keeps running until HTTP and
  // MQTT have stopped handing it readings.
  http_server.stop();
  if (mqtt_ingest) mqtt_ingest->stop();
  // Before the pipeline: its last commits are in the log and republished after the next start.
  if (republisher) republisher->stop();
  webhook_delivery.stop();
  pipeline.stop();
  retention.reset();
  audit.stop();
  if (auto status = (*storage)->flush(); !status) {
    core::log_error("server", "final flush failed: " + status.error().message);
    return kExitStartFailure;
  }
  core::log_info("server", "stopped cleanly at seq " + std::to_string(reading_log.last_seq()));
  return 0;
}

}  // namespace databroker::server
