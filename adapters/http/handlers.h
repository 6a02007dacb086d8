// The v1 handlers, grouped by area, each group adding its routes to the router.
//
// Handlers run on the connection's strand, after the dispatcher has matched the route and, for
// /v1 routes, authenticated the caller. They answer through `respond` exactly once: at once for
// everything but ingest, which answers from the pipeline's completion (committer thread; the
// session posts the answer back to its strand). Reads from the log and the registry are
// bounded by `limit` and run on the network thread; key administration writes the small key
// file on it too (rare, admin only). Handlers never throw on input; an exception that escapes
// anyway (allocation failure in a library) becomes a 500 in the dispatcher.
#pragma once

#include <cstddef>

#include "adapters/http/metrics.h"
#include "adapters/http/router.h"
#include "adapters/http/server.h"
#include "broker/config/config.h"
#include "broker/hub/follower.h"

namespace databroker::http {

// Readings accepted in one ingest request (one object, an array, or a batch).
inline constexpr std::size_t kMaxReadingsPerRequest = 10'000;

// What every handler may use; owned by the dispatcher, outlives every request.
struct HandlerContext {
  const config::HttpConfig& config;
  const Services& services;
  const HttpMetrics& metrics;
  // What live subscribers follow: the server's (Services::followers) or one the dispatcher
  // built over the log without a ring (tests).
  const hub::FollowerContext& followers;
};

// Leaves the audit record of an admin action (kind "admin", the caller's key id and profile);
// a no-op without an audit trail. A trail that refuses the record logs it.
void audit_admin(const HandlerContext& context, const HttpRequest& request, std::string action,
                 std::string detail);

// POST /v1/sensors/{kind}/{sensor_id}/readings, POST /v1/readings (native JSON or SenML by
// Content-Type), POST /v1/ingest/{source} (declared sources with http: true).
void add_ingest_routes(Router& router, const HandlerContext& context);
// GET /v1/streams, /v1/streams/{id}, /v1/streams/{id}/latest, /v1/streams/{id}/readings,
// GET /v1/readings (the cross-stream feed).
void add_stream_routes(Router& router, const HandlerContext& context);
// POST /v1/admin/keys, GET /v1/admin/keys, DELETE /v1/admin/keys/{key_id}, GET /v1/admin/audit,
// POST /v1/admin/backup.
void add_admin_routes(Router& router, const HandlerContext& context);
// GET /v1/me, GET /v1/admin/policy, POST /v1/admin/policy/reload, GET /v1/admin/policy/explain.
void add_policy_routes(Router& router, const HandlerContext& context);
// GET /v1/subscribe (Server-Sent Events) and GET /v1/ws (WebSocket), following the log
// (live_handlers.cc).
void add_subscribe_routes(Router& router, const HandlerContext& context);
// /v1/admin/webhooks: POST, GET, GET {id}, DELETE {id}, POST {id}/resume (webhook_handlers.cc).
void add_webhook_routes(Router& router, const HandlerContext& context);
// GET /ngsi-ld/v1/entities, /entities/{entityId}, /temporal/entities/{entityId}, /types, and
// /ngsi-ld/v1/context.jsonld (ngsi_ld_handlers.cc).
void add_ngsi_ld_routes(Router& router, const HandlerContext& context);
// GET /v1/catalog: the DCAT-AP catalogue of the open data (catalog_handlers.cc).
void add_catalog_routes(Router& router, const HandlerContext& context);
// GET /healthz, /readyz, /metrics, /v1/openapi.json (no authentication).
void add_ops_routes(Router& router, const HandlerContext& context);

}  // namespace databroker::http
