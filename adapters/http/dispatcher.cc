#include "adapters/http/dispatcher.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>

#include "adapters/codecs/native_json.h"
#include "adapters/http/auth.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "broker/core/logging.h"

namespace databroker::http {

namespace {

// What the wrapped `respond` needs after dispatch() has returned (ingest answers later).
struct Exchange {
  Respond respond;
  HttpMetrics* metrics = nullptr;
  std::string_view route;  // a route pattern owned by the router, or kOtherRoute
  Verb method = Verb::get;
  std::chrono::steady_clock::time_point start;
  std::string logged_target;  // access_token redacted
  std::string key_id;
  std::atomic<bool> answered{false};
};

Respond wrap(std::shared_ptr<Exchange> exchange) {
  return [exchange = std::move(exchange)](HttpResponse response) {
    // A handler that throws after answering would answer twice; the first answer stands.
    if (exchange->answered.exchange(true)) return;
    const auto elapsed = std::chrono::steady_clock::now() - exchange->start;
    exchange->metrics->record_request(exchange->method, exchange->route, response.status, elapsed);
    const auto method = beast_http::to_string(exchange->method);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
    const std::string line = std::string(method.data(), method.size()) + " " +
                             exchange->logged_target + " " + std::to_string(response.status) + " " +
                             std::to_string(micros) + "us" +
                             (exchange->key_id.empty() ? "" : " key=" + exchange->key_id);
    if (response.status >= 500) {
      core::log_warn("http", line);
    } else {
      core::log_debug("http", line);
    }
    exchange->respond(std::move(response));
  };
}

}  // namespace

Dispatcher::Dispatcher(const config::HttpConfig& config, Services services, HttpMetrics& metrics)
    : config_(config),
      services_(std::move(services)),
      metrics_(metrics),
      own_followers_(
          services_.followers != nullptr
              ? std::nullopt
              : std::optional<hub::FollowerContext>(hub::FollowerContext{
                    .log = services_.log,
                    .registry = services_.registry,
                    .policy = services_.policy,
                    .clock = services_.clock,
                    .recent = nullptr,
                    .encode = [](const core::Reading& r) { return codecs::reading_json(r); },
                    .metrics = nullptr})),
      context_{config_, services_, metrics_,
               services_.followers != nullptr ? *services_.followers : *own_followers_} {
  add_ingest_routes(router_, context_);
  add_stream_routes(router_, context_);
  add_ngsi_ld_routes(router_, context_);
  add_catalog_routes(router_, context_);
  add_admin_routes(router_, context_);
  add_webhook_routes(router_, context_);
  add_policy_routes(router_, context_);
  add_ops_routes(router_, context_);
  add_subscribe_routes(router_, context_);
}

std::optional<HttpResponse> Dispatcher::rate_limit(const access::Identity& identity,
                                                   std::string_view remote_address) {
  const access::Profile& profile = *identity.profile;
  if (!profile.rate_limit.enabled()) return std::nullopt;
  // Keys and addresses cannot collide: key ids have no ':'.
  const std::string caller =
      identity.is_anonymous() ? "address:" + std::string(remote_address) : "key:" + identity.key_id;
  const auto wait = rate_limiter_.take(caller, profile.rate_limit, RateLimiter::Clock::now());
  if (!wait) return std::nullopt;
  metrics_.rate_limited(profile.name);
  const auto seconds = std::max<long long>(1, (wait->count() + 999) / 1000);
  HttpResponse response = problem_response(
      429, "rate_limited",
      "too many requests for the " +
          (identity.is_anonymous() ? std::string("anonymous callers of this address")
                                   : "key's profile (" + profile.name + ")") +
          "; retry after " + std::to_string(seconds) + " s");
  response.headers.emplace_back("Retry-After", std::to_string(seconds));
  return response;
}

void Dispatcher::dispatch(HttpRequest request, Respond respond) noexcept {
  auto exchange = std::make_shared<Exchange>();
  exchange->respond = std::move(respond);
  exchange->metrics = &metrics_;
  exchange->route = kOtherRoute;
  exchange->method = request.method;
  exchange->start = std::chrono::steady_clock::now();
  exchange->logged_target = redact_target(request.target);
  Respond answer = wrap(exchange);

  try {
    auto target = parse_target(request.target);
    if (!target) return answer(problem_response(target.error()));
    if (!target->segments.empty() && target->segments.front() == "ngsi-ld") {
      // NGSI-LD clients switch on the ETSI error types, so every error under /ngsi-ld (an unknown
      // path and a bad key included) speaks that flavour.
      answer = [plain = std::move(answer)](HttpResponse response) {
        plain(as_ngsi_ld_problem(std::move(response)));
      };
    }

    const RouteMatch match = router_.match(request.method, target->segments);
    if (std::holds_alternative<RouteNotFound>(match)) {
      return answer(problem_response(404, "not_found", "no such resource"));
    }
    if (const auto* not_allowed = std::get_if<MethodNotAllowed>(&match)) {
      HttpResponse response =
          problem_response(405, "method_not_allowed", "the resource does not support this method");
      response.headers.emplace_back("Allow", allow_header(not_allowed->allowed));
      return answer(std::move(response));
    }
    const auto& found = std::get<RouteFound>(match);
    exchange->route = found.route->pattern;
    request.path_params = found.params;
    request.query = std::move(target->query);

    if (found.route->options.token_in_query) {
      // EventSource cannot set headers. The token leaves the query here, so no handler sees or
      // echoes it; the logged target was redacted above.
      const auto token = std::find_if(request.query.begin(), request.query.end(),
                                      [](const NameValue& p) { return p.first == "access_token"; });
      if (token != request.query.end()) {
        if (token->second.empty()) {
          metrics_.authentication_failed();
          return answer(problem_response(
              core::Error{core::ErrorCode::Unauthenticated, "the access_token is empty", {}}));
        }
        if (request.authorization.empty() && request.api_key.empty()) {
          request.api_key = std::move(token->second);
        }
        request.query.erase(token);
      }
    }
    if (found.route->options.authenticate) {
      auto identity = authenticate(request, services_.keys, services_.profiles);
      if (!identity) {
        metrics_.authentication_failed();
        return answer(problem_response(identity.error()));
      }
      request.identity = std::move(*identity);
      exchange->key_id = request.identity.key_id;
      if (auto refused = rate_limit(request.identity, request.remote_address)) {
        return answer(std::move(*refused));
      }
    } else {
      request.identity.profile = &services_.profiles.public_profile();
    }
    found.route->handler(request, answer);
  } catch (const std::exception& e) {
    core::log_error("http", std::string("handler failed: ") + e.what());
    answer(problem_response(500, "internal", "internal error"));
  } catch (...) {
    core::log_error("http", "handler failed with an unknown exception");
    answer(problem_response(500, "internal", "internal error"));
  }
}

}  // namespace databroker::http
