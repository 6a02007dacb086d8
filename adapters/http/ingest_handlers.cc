// Ingest over HTTP: decode, hand to the ingest door, answer 202 once the batch is durable.
#include <nlohmann/json.hpp>

#include "adapters/codecs/native_json.h"
#include "adapters/codecs/senml.h"
#include "adapters/codecs/source_decoder.h"
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

// The registry's kind of a sensor, for SenML packs that name only the sensor.
codecs::KindLookup registry_kinds(const HandlerContext& context) {
  return [&registry = context.services.registry](std::string_view sensor_id) {
    return registry.kind_of(sensor_id);
  };
}

// Hands decoded readings to the ingest door; answers 202 from the commit's completion.
void submit(const HandlerContext& context, core::Result<std::vector<core::Reading>> readings,
            Respond respond) {
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

void ingest(const HandlerContext& context, const HttpRequest& request, Respond respond,
            const codecs::NativeTarget& target) {
  if (auto allowed = require_right(request.identity, Right::Ingest); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  const core::TimestampMs now = context.services.clock.now_ms();
  if (is_senml_media_type(request.content_type)) {
    return submit(
        context,
        codecs::decode_senml(request.body, {target.sensor_id, target.kind}, context.services.kinds,
                             registry_kinds(context), now, kMaxReadingsPerRequest),
        std::move(respond));
  }
  if (!is_json_media_type(request.content_type)) {
    return respond(problem_response(
        415, "unsupported_media_type",
        "readings must be sent as Content-Type: application/json (the native format) or "
        "application/senml+json (SenML, RFC 8428)"));
  }
  submit(context,
         codecs::decode_native(request.body, target, now, /*allow_array=*/true,
                               kMaxReadingsPerRequest),
         std::move(respond));
}

// POST /v1/ingest/{source}: a declared source's payload, as its network server's HTTP
// integration (TTS webhook, ChirpStack HTTP integration) or a gateway posts it.
void ingest_source(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (auto allowed = require_right(request.identity, Right::Ingest); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  const core::IngestSource* source = nullptr;
  if (const auto* sources = context.services.sources) {
    for (const auto& candidate : *sources) {
      if (candidate.http && candidate.name == request.param("source")) source = &candidate;
    }
  }
  if (!source) {
    return respond(problem_response(404, "source_not_found",
                                    "no ingest source of this name accepts HTTP (see "
                                    "ingest.sources in the configuration)"));
  }
  // ChirpStack's HTTP integration posts every event type to one URL, naming it in `event`.
  if (source->format == core::SourceFormat::ChirpStack) {
    if (auto event = request.query_param("event"); event && *event != "up") {
      context.metrics.ingest_event_ignored();
      HttpResponse response;
      response.status = 204;
      return respond(std::move(response));
    }
  }
  const bool senml = source->format == core::SourceFormat::Senml;
  if (!is_json_media_type(request.content_type) &&
      !(senml && is_senml_media_type(request.content_type))) {
    return respond(
        problem_response(415, "unsupported_media_type",
                         senml ? "send Content-Type: application/senml+json or application/json"
                               : "send Content-Type: application/json"));
  }
  submit(context,
         codecs::decode_for_source(*source, request.body, {}, context.services.kinds,
                                   registry_kinds(context), context.services.clock.now_ms(),
                                   kMaxReadingsPerRequest),
         std::move(respond));
}

}  // namespace

void add_ingest_routes(Router& router, const HandlerContext& context) {
  router.add(Verb::post, "/v1/sensors/{kind}/{sensor_id}/readings",
             [&context](HttpRequest& request, Respond respond) {
               const codecs::NativeTarget target{request.param("sensor_id"), request.param("kind")};
               ingest(context, request, std::move(respond), target);
             });
  router.add(Verb::post, "/v1/readings", [&context](HttpRequest& request, Respond respond) {
    ingest(context, request, std::move(respond), codecs::NativeTarget{});
  });
  router.add(Verb::post, "/v1/ingest/{source}", [&context](HttpRequest& request, Respond respond) {
    ingest_source(context, request, std::move(respond));
  });
}

}  // namespace databroker::http
