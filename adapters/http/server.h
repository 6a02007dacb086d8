// The HTTP server: Boost.Beast, asynchronous, one io_context run by N threads.
//
// Serves the v1 REST contract of the brief: ingest (one reading, an array, the cross-sensor
// batch), reads (streams, latest, history, the cross-stream feed), key administration, and
// operations (/healthz, /readyz, /metrics), and live delivery as Server-Sent Events
// (GET /v1/subscribe, a log follower woken by the commit signal). Every 4xx/5xx body is
// application/problem+json.
//
// Limits are enforced before work is done: header size (431), body size (413, refused from the
// Content-Length before the body is read), header and body read timeouts, idle timeout, and a
// cap on concurrent connections (over it, new connections get 503 and are closed).
//
// Threading: start() and stop() are called from one controlling thread. Handlers run on the
// server's threads; the ingest completion is posted back to the connection's strand. No
// handler blocks on log writes; reads from the log are short and bounded by `limit`. (Key
// administration writes the small key file on a server thread: rare, and admin only.)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "broker/access/audit.h"
#include "broker/access/identity.h"
#include "broker/access/key_store.h"
#include "broker/config/config.h"
#include "broker/core/ingest_source.h"
#include "broker/core/kinds.h"
#include "broker/core/result.h"
#include "broker/core/time.h"
#include "broker/hub/commit_signal.h"
#include "broker/hub/follower.h"
#include "broker/hub/webhooks.h"
#include "broker/ingest/ingest_sink.h"
#include "broker/log/reading_log.h"
#include "broker/registry/sensor_registry.h"
#include "policies/engine.h"

namespace databroker::http {

class Router;

struct Readiness {
  bool log_open = false;
  bool mqtt_connected = false;  // true when MQTT ingest is disabled
};

// What the handlers use. Every reference must outlive the server.
struct Services {
  ingest::IngestSink& ingest;
  registry::SensorRegistry& registry;
  const log::ReadingLog& log;
  access::KeyStore& keys;
  const access::ProfileSet& profiles;
  const core::KindCatalog& kinds;
  const core::Clock& clock;
  std::function<Readiness()> readiness;
  // Prometheus text exposition of everything outside the HTTP module; the server appends its own
  // request metrics.
  std::function<std::string()> metrics;
  // The policy in force; every read path asks it through visibility.h.
  policies::PolicyEngine& policy;
  // Reloads the policy from its file and installs it; returns the new version, or the problems
  // (InvalidArgument with one FieldError per problem) while the old version stays in force.
  std::function<core::Result<std::string>()> reload_policy;
  // Where reads of shared data and admin actions are recorded; null records nothing (tests).
  access::AuditTrail* audit = nullptr;
  // Published by the ingest pipeline after each durable commit; wakes SSE subscribers that are
  // caught up. Null: subscribers poll the log instead (tests without a pipeline).
  hub::CommitSignal* commit_signal = nullptr;
  // What live subscribers (SSE, WebSocket) follow: the log, the in-memory ring of recent
  // readings, the encoder, hub metrics. Null: the server follows `log` without a ring (tests).
  const hub::FollowerContext* followers = nullptr;
  // Partner webhooks, for /v1/admin/webhooks; null answers those routes 503.
  hub::WebhookRegistry* webhooks = nullptr;
  // Declared ingest sources; those with `http: true` answer POST /v1/ingest/{source}. Null: none.
  const std::vector<core::IngestSource>* sources = nullptr;
  // Writes a backup of the data directory into a new `directory` (POST /v1/admin/backup) and
  // returns its manifest as a JSON object's text; runs on the server thread (admin only, rare:
  // a memtable flush and hard links). Empty: that route answers 503.
  std::function<core::Result<std::string>(const std::string& directory)> backup;
};

class HttpServer {
 public:
  HttpServer(const config::HttpConfig& config, Services services);
  ~HttpServer();  // stops if running

  // Binds and listens (port 0 = a free port) and starts the threads. Unavailable when the
  // address cannot be bound. A server starts once: after stop() it cannot start again.
  core::Status start();
  // The bound port, valid after a successful start().
  std::uint16_t port() const;
  // Stops accepting, lets in-flight requests finish (up to `grace`), closes the rest, joins.
  // An ingest request still waiting for its commit after `grace` gets no answer (its connection
  // closes); the batch itself may still be committed by the pipeline. Call before stopping the
  // ingest pipeline. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  // The routes served, for checks that walk them (the OpenAPI description's tests).
  const Router& router() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace databroker::http
