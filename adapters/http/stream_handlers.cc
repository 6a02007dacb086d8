// Reading data: stream metadata, the latest reading, history pages and the cross-stream feed.
//
// Visibility goes through visibility.h only. A stream the caller may not see gets the very same
// 404 body as a stream that does not exist, and is checked before the query parameters, so no
// difference in status or body tells the two apart.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "adapters/codecs/native_json.h"
#include "adapters/http/auth.h"
#include "adapters/http/handlers.h"
#include "adapters/http/json_text.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "adapters/http/visibility.h"
#include "broker/core/time.h"

namespace databroker::http {

namespace {

constexpr std::size_t kDefaultLimit = 100;

HttpResponse stream_not_found() {
  return problem_response(404, "stream_not_found", "no such stream");
}

HttpResponse invalid_parameters(std::vector<core::FieldError> errors) {
  return problem_response(
      core::Error{core::ErrorCode::InvalidArgument, "invalid query parameters", std::move(errors)});
}

Json location_json(const std::optional<core::Location>& location) {
  if (!location) return nullptr;
  Json out = {{"lat", location->lat}, {"lon", location->lon}};
  if (location->alt) out["alt"] = *location->alt;
  return out;
}

Json stream_json(const registry::StreamState& state, const core::KindCatalog& kinds) {
  const registry::SensorInfo& sensor = state.sensor;
  Json measurements = Json::array();
  if (const core::SensorKind* kind = kinds.find(sensor.kind)) {
    for (const core::MeasurementSpec& spec : kind->measurements) {
      measurements.push_back(
          {{"name", spec.name}, {"unit", spec.unit}, {"type", core::to_string(spec.type)}});
    }
  }
  return {
      {"id", sensor.id},
      {"kind", sensor.kind},
      {"name", sensor.name},
      {"zone", sensor.zone},
      {"tags", sensor.tags},
      {"owner", sensor.owner},
      {"steward", sensor.steward},
      // A declared location wins; a mobile or undeclared sensor is where it last reported.
      {"location", location_json(sensor.location ? sensor.location
                                 : state.latest  ? state.latest->location
                                                 : std::nullopt)},
      {"last_reading_at", state.latest ? Json(core::format_rfc3339(state.latest->ts)) : nullptr},
      {"measurements", std::move(measurements)},
      {"class", stream_class(sensor)},
  };
}

// The stream if it exists and the caller may see it.
std::optional<registry::StreamState> visible_stream(const HandlerContext& context,
                                                    const access::Identity& identity,
                                                    std::string_view id) {
  if (!core::is_valid_sensor_id(id)) return std::nullopt;
  auto state = context.services.registry.stream(id);
  if (!state || !can_read_stream(identity, state->sensor)) return std::nullopt;
  return state;
}

void append_readings(std::string& out, const std::vector<core::Reading>& readings) {
  out += '[';
  for (std::size_t i = 0; i < readings.size(); ++i) {
    if (i > 0) out += ',';
    codecs::append_reading_json(out, readings[i]);
  }
  out += ']';
}

void list_streams(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  Json streams = Json::array();
  for (const registry::StreamState& state : context.services.registry.streams()) {
    if (can_read_stream(request.identity, state.sensor)) {
      streams.push_back(stream_json(state, context.services.kinds));
    }
  }
  respond(json_response(200, to_json_text({{"streams", std::move(streams)}})));
}

void get_stream(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const auto state = visible_stream(context, request.identity, request.param("id"));
  if (!state) return respond(stream_not_found());
  respond(json_response(200, to_json_text(stream_json(*state, context.services.kinds))));
}

void get_latest(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const auto state = visible_stream(context, request.identity, request.param("id"));
  if (!state) return respond(stream_not_found());
  if (!state->latest) {
    return respond(problem_response(404, "no_readings", "the stream has no readings yet"));
  }
  std::string body;
  codecs::append_reading_json(body, *state->latest);
  respond(json_response(200, std::move(body)));
}

void get_history(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const std::string_view id = request.param("id");
  if (!visible_stream(context, request.identity, id)) return respond(stream_not_found());

  std::vector<core::FieldError> errors;
  log::StreamQuery query;
  query.sensor_id = std::string(id);
  if (auto text = request.query_param("from")) {
    if (auto from = parse_time_param("from", *text, errors)) query.from = *from;
  }
  if (auto text = request.query_param("to")) {
    if (auto to = parse_time_param("to", *text, errors)) query.to = *to;
  }
  if (auto limit = parse_limit(request.query_param("limit"), kDefaultLimit,
                               context.config.max_page_limit, errors)) {
    query.limit = *limit;
  }
  if (auto text = request.query_param("cursor")) {
    query.after = decode_cursor(id, *text);
    if (!query.after) {
      errors.push_back({"cursor", "invalid_cursor", "the cursor is not one this stream gave out"});
    }
  }
  if (errors.empty() && query.from >= query.to) {
    errors.push_back({"to", "out_of_range", "to must be later than from"});
  }
  if (!errors.empty()) return respond(invalid_parameters(std::move(errors)));

  auto page = context.services.log.read_stream(query);
  if (!page) return respond(problem_response(page.error()));

  std::string body = "{\"readings\":";
  append_readings(body, page->readings);
  body += ",\"next_cursor\":";
  if (page->more && !page->readings.empty()) {
    const core::Reading& last = page->readings.back();
    body += '"' + encode_cursor(id, {last.ts, last.seq}) + '"';
  } else {
    body += "null";
  }
  body += '}';
  respond(json_response(200, std::move(body)));
}

void get_feed(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  std::vector<core::FieldError> errors;
  std::optional<std::string> kind;
  if (auto text = request.query_param("kind")) {
    if (context.services.kinds.find(*text) == nullptr) {
      errors.push_back({"kind", "unknown_kind", "no kind named '" + std::string(*text) + "'"});
    } else {
      kind = std::string(*text);
    }
  }
  core::Seq after_seq = 0;
  if (auto text = request.query_param("after_seq")) {
    if (auto seq = parse_seq_param("after_seq", *text, errors)) after_seq = *seq;
  }
  const auto limit = parse_limit(request.query_param("limit"), kDefaultLimit,
                                 context.config.max_page_limit, errors);
  if (!errors.empty()) return respond(invalid_parameters(std::move(errors)));

  // One registry lookup per distinct sensor in the scanned range, not per reading.
  std::map<std::string, bool, std::less<>> visible;
  const auto keep = [&](const core::Reading& reading) {
    if (kind && reading.kind != *kind) return false;
    auto it = visible.find(reading.sensor_id);
    if (it == visible.end()) {
      const auto sensor = context.services.registry.find(reading.sensor_id);
      it = visible
               .emplace(reading.sensor_id,
                        sensor.has_value() && can_read_stream(request.identity, *sensor))
               .first;
    }
    return it->second;
  };
  // A caller that sees little must not make one request scan the whole log: past the budget the
  // page comes back short and `next_after_seq` lets the client continue.
  const std::size_t scan_budget = std::max<std::size_t>(*limit * 10, 1000);
  auto page = context.services.log.read_since(after_seq, *limit, keep, scan_budget);
  if (!page) return respond(problem_response(page.error()));

  std::string body = "{\"readings\":";
  append_readings(body, page->readings);
  body += ",\"next_after_seq\":" + std::to_string(std::max(after_seq, page->last_scanned)) + '}';
  respond(json_response(200, std::move(body)));
}

}  // namespace

void add_stream_routes(Router& router, const HandlerContext& context) {
  const auto bind = [&context](auto handler) {
    return [&context, handler](HttpRequest& request, Respond respond) {
      handler(context, request, std::move(respond));
    };
  };
  router.add(Verb::get, "/v1/streams", bind(list_streams));
  router.add(Verb::get, "/v1/streams/{id}", bind(get_stream));
  router.add(Verb::get, "/v1/streams/{id}/latest", bind(get_latest));
  router.add(Verb::get, "/v1/streams/{id}/readings", bind(get_history));
  router.add(Verb::get, "/v1/readings", bind(get_feed));
}

}  // namespace databroker::http
