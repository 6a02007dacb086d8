// Ingest over HTTP: decode, hand to the ingest door, answer 202 once the batch is durable.
#include <nlohmann/json.hpp>

#include "adapters/codecs/native_json.h"
#include "adapters/http/auth.h"
#include "adapters/http/handlers.h"
#include "adapters/http/json_text.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "broker/core/logging.h"

namespace databroker::http {

namespace {

HttpResponse accepted_response(const ingest::Accepted& accepted) {
  return json_response(202, to_json_text({{"accepted", accepted.count},
                                          {"first_seq", accepted.first_seq},
                                          {"last_seq", accepted.last_seq}}));
}

void ingest(const HandlerContext& context, const HttpRequest& request, Respond respond,
            const codecs::NativeTarget& target, bool allow_array) {
  if (auto allowed = require_right(request.identity, Right::Ingest); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  if (!is_json_media_type(request.content_type)) {
    return respond(problem_response(415, "unsupported_media_type",
                                    "readings must be sent as Content-Type: application/json"));
  }
  auto readings = codecs::decode_native(request.body, target, context.services.clock.now_ms(),
                                        allow_array, kMaxReadingsPerRequest);
  if (!readings) return respond(problem_response(readings.error()));

  // The completion runs on the committer thread and must not throw: build the answer and hand
  // it to `respond`, which posts it to the connection's strand.
  auto done = [respond](core::Result<ingest::Accepted> result) {
    try {
      respond(result ? accepted_response(*result) : problem_response(result.error()));
    } catch (const std::exception& e) {
      core::log_error("http", std::string("ingest completion failed: ") + e.what());
    }
  };
  auto submitted =
      context.services.ingest.try_submit(std::move(*readings), ingest::IngestPath::Http, done);
  if (!submitted) respond(problem_response(submitted.error()));
}

}  // namespace

void add_ingest_routes(Router& router, const HandlerContext& context) {
  router.add(Verb::post, "/v1/sensors/{kind}/{sensor_id}/readings",
             [&context](HttpRequest& request, Respond respond) {
               const codecs::NativeTarget target{request.param("sensor_id"), request.param("kind")};
               ingest(context, request, std::move(respond), target, /*allow_array=*/true);
             });
  router.add(Verb::post, "/v1/readings", [&context](HttpRequest& request, Respond respond) {
    ingest(context, request, std::move(respond), codecs::NativeTarget{}, /*allow_array=*/true);
  });
}

}  // namespace databroker::http
