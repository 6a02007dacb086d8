// Operations endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document. They
// take no key: probes and scrapers run inside the operator's network, and none of them exposes
// readings.
#include <nlohmann/json.hpp>

#include "adapters/http/handlers.h"
#include "adapters/http/json_text.h"
#include "adapters/http/openapi.h"
#include "adapters/http/problem.h"

namespace databroker::http {

void add_ops_routes(Router& router, const HandlerContext& context) {
  const RouteOptions no_auth{.authenticate = false};
  router.add(
      Verb::get, "/healthz",
      [](HttpRequest&, Respond respond) { respond(json_response(200, R"({"status":"ok"})")); },
      no_auth);

  router.add(
      Verb::get, "/readyz",
      [&context](HttpRequest&, Respond respond) {
        const Readiness readiness =
            context.services.readiness ? context.services.readiness() : Readiness{};
        const bool ready = readiness.log_open && readiness.mqtt_connected;
        if (ready) {
          return respond(json_response(
              200,
              to_json_text({{"status", "ready"}, {"log_open", true}, {"mqtt_connected", true}})));
        }
        // A 503 body is problem+json like every error, with the readiness fields as extensions.
        auto body = Json::parse(problem_body(503, "not_ready", "the broker is not ready to serve"));
        body["log_open"] = readiness.log_open;
        body["mqtt_connected"] = readiness.mqtt_connected;
        HttpResponse response;
        response.status = 503;
        response.content_type = "application/problem+json";
        response.body = to_json_text(body);
        respond(std::move(response));
      },
      no_auth);

  router.add(
      Verb::get, "/metrics",
      [&context](HttpRequest&, Respond respond) {
        HttpResponse response;
        response.content_type = "text/plain; version=0.0.4; charset=utf-8";
        if (context.services.metrics) response.body = context.services.metrics();
        if (!response.body.empty() && response.body.back() != '\n') response.body += '\n';
        context.metrics.append_prometheus(response.body);
        respond(std::move(response));
      },
      no_auth);

  // The description of the API is public like the API's existence; it holds no data.
  router.add(
      Verb::get, "/v1/openapi.json",
      [](HttpRequest&, Respond respond) {
        respond(json_response(200, std::string(openapi_document())));
      },
      no_auth);
}

}  // namespace databroker::http
