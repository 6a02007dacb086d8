// The dispatcher: from a complete request to exactly one response.
//
// Parses the target, routes (404, or 405 with Allow), parses the query (400 on a malformed
// target or a repeated parameter), authenticates /v1 callers (401; `access_token` in the query on
// routes that allow it), applies the caller's profile's rate limit (429 with Retry-After; per key,
// per client address for anonymous callers), then runs the handler. It wraps `respond` to record
// the request in HttpMetrics under the route pattern and to write a debug access-log line whose
// target has access_token redacted; keys are never logged, only key ids. An exception escaping a
// handler is caught here and answered with a 500 problem.
//
// Built once at start; `dispatch` may run on any server thread (each call on the strand of its
// connection).
#pragma once

#include <optional>

#include "adapters/http/exchange.h"
#include "adapters/http/handlers.h"
#include "adapters/http/metrics.h"
#include "adapters/http/rate_limiter.h"
#include "adapters/http/router.h"
#include "adapters/http/server.h"
#include "broker/config/config.h"

namespace databroker::http {

class Dispatcher {
 public:
  // `metrics` must outlive the dispatcher; `services`' references must too.
  Dispatcher(const config::HttpConfig& config, Services services, HttpMetrics& metrics);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void dispatch(HttpRequest request, Respond respond) noexcept;

  const Router& router() const { return router_; }

 private:
  // The 429 for a caller over its profile's rate limit; nullopt when admitted.
  std::optional<HttpResponse> rate_limit(const access::Identity& identity,
                                         std::string_view remote_address);

  const config::HttpConfig config_;
  const Services services_;
  HttpMetrics& metrics_;
  const std::optional<hub::FollowerContext> own_followers_;  // when Services::followers is null
  const HandlerContext context_;
  Router router_;
  RateLimiter rate_limiter_;
};

}  // namespace databroker::http
