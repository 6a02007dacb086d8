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
#include "broker/core/time.h"
#include "broker/hub/visibility.h"
#include "policies/view.h"

namespace databroker::http {

using hub::stream_view;
using hub::StreamView;

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

// Stream metadata through the caller's view: withheld fields are absent, dropped measurements are
// not even named, the location is coarsened like the readings' (view == nullptr: raw).
Json stream_json(const registry::StreamState& state, const StreamView& stream,
                 const core::KindCatalog& kinds) {
  const registry::SensorInfo& sensor = state.sensor;
  const policies::View* view = stream.access.view;
  const auto shows = [&](std::string_view field) {
    return view == nullptr || !view->drops_metadata(field);
  };
  Json measurements = Json::array();
  if (const core::SensorKind* kind = kinds.find(sensor.kind)) {
    for (const core::MeasurementSpec& spec : kind->measurements) {
      if (view != nullptr && view->drops_measurement(spec.name)) continue;
      measurements.push_back(
          {{"name", spec.name}, {"unit", spec.unit}, {"type", core::to_string(spec.type)}});
    }
  }
  // A declared location wins; a mobile or undeclared sensor is where it last reported.
  std::optional<core::Location> location = sensor.location ? sensor.location
                                           : state.latest  ? state.latest->location
                                                           : std::nullopt;
  if (view != nullptr) location = policies::view_location(location, *view);
  Json out = {
      {"id", sensor.id},
      {"kind", sensor.kind},
      {"class", policies::to_string(stream.decision.stream_class)},
      {"location", location_json(location)},
      {"last_reading_at", state.latest ? Json(core::format_rfc3339(state.latest->ts)) : nullptr},
      {"measurements", std::move(measurements)},
  };
  if (shows("name")) out["name"] = sensor.name;
  if (shows("zone")) out["zone"] = sensor.zone;
  if (shows("tags")) out["tags"] = sensor.tags;
  if (shows("owner")) out["owner"] = sensor.owner;
  if (shows("steward")) out["steward"] = sensor.steward;
  if (const policies::Grant* grant = stream.access.grant) {
    // A partner sees under which agreement it receives the data.
    out["grant"] = {{"purpose", grant->purpose},
                    {"legal_basis", grant->legal_basis},
                    {"ends_at", core::format_rfc3339(grant->until)}};
  }
  return out;
}

// One request's view of the policy: a single snapshot and a single `now`, so that a reload or a
// grant expiring mid-request cannot mix two answers.
struct RequestPolicy {
  std::shared_ptr<const policies::PolicySnapshot> snapshot;
  core::TimestampMs now;

  RequestPolicy(const HandlerContext& context)
      : snapshot(context.services.policy.snapshot()), now(context.services.clock.now_ms()) {}

  StreamView view(const access::Identity& identity, const registry::SensorInfo& sensor) const {
    return stream_view(*snapshot, identity, sensor, now);
  }
};

struct VisibleStream {
  registry::StreamState state;
  StreamView view;
};

// The stream if it exists and the caller may see it.
std::optional<VisibleStream> visible_stream(const HandlerContext& context,
                                            const RequestPolicy& policy,
                                            const access::Identity& identity, std::string_view id) {
  if (!core::is_valid_sensor_id(id)) return std::nullopt;
  auto state = context.services.registry.stream(id);
  if (!state) return std::nullopt;
  StreamView view = policy.view(identity, state->sensor);
  if (!view.visible()) return std::nullopt;
  return VisibleStream{std::move(*state), view};
}

void append_reading(std::string& out, const core::Reading& reading, const policies::View* view) {
  if (view == nullptr || view->is_identity()) {
    codecs::append_reading_json(out, reading);
  } else {
    codecs::append_reading_json(out, policies::apply_view(reading, *view));
  }
}

// Every read of shared data leaves an audit record: who, which route, which streams, how much.
void audit_read(const HandlerContext& context, const HttpRequest& request, std::string route,
                std::vector<std::string> streams, std::uint64_t readings) {
  if (context.services.audit == nullptr || streams.empty()) return;
  access::AuditRecord record;
  record.kind = "read";
  record.key_id = request.identity.key_id;
  record.profile = request.identity.profile ? request.identity.profile->name : "";
  record.action = std::move(route);
  record.streams = std::move(streams);
  record.readings = readings;
  (void)context.services.audit->record(std::move(record));  // a drop is counted by the trail
}

void list_streams(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const RequestPolicy policy(context);
  Json streams = Json::array();
  std::vector<std::string> granted;
  for (const registry::StreamState& state : context.services.registry.streams()) {
    const StreamView view = policy.view(request.identity, state.sensor);
    if (!view.visible()) continue;
    if (view.is_granted()) granted.push_back(state.sensor.id);
    streams.push_back(stream_json(state, view, context.services.kinds));
  }
  audit_read(context, request, "GET /v1/streams", std::move(granted), 0);
  respond(json_response(200, to_json_text({{"streams", std::move(streams)}})));
}

void get_stream(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const RequestPolicy policy(context);
  const auto stream = visible_stream(context, policy, request.identity, request.param("id"));
  if (!stream) return respond(stream_not_found());
  if (stream->view.is_granted()) {
    audit_read(context, request, "GET /v1/streams/{id}", {stream->state.sensor.id}, 0);
  }
  respond(json_response(
      200, to_json_text(stream_json(stream->state, stream->view, context.services.kinds))));
}

void get_latest(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const RequestPolicy policy(context);
  const auto stream = visible_stream(context, policy, request.identity, request.param("id"));
  if (!stream) return respond(stream_not_found());
  if (!stream->state.latest) {
    return respond(problem_response(404, "no_readings", "the stream has no readings yet"));
  }
  std::string body;
  append_reading(body, *stream->state.latest, stream->view.access.view);
  if (stream->view.is_granted()) {
    audit_read(context, request, "GET /v1/streams/{id}/latest", {stream->state.sensor.id}, 1);
  }
  respond(json_response(200, std::move(body)));
}

void get_history(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const RequestPolicy policy(context);
  const std::string_view id = request.param("id");
  const auto stream = visible_stream(context, policy, request.identity, id);
  if (!stream) return respond(stream_not_found());

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

  std::string body = "{\"readings\":[";
  for (std::size_t i = 0; i < page->readings.size(); ++i) {
    if (i > 0) body += ',';
    append_reading(body, page->readings[i], stream->view.access.view);
  }
  body += "],\"next_cursor\":";
  if (page->more && !page->readings.empty()) {
    const core::Reading& last = page->readings.back();
    body += '"' + encode_cursor(id, {last.ts, last.seq}) + '"';
  } else {
    body += "null";
  }
  body += '}';
  if (stream->view.is_granted()) {
    audit_read(context, request, "GET /v1/streams/{id}/readings", {std::string(id)},
               page->readings.size());
  }
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

  // One registry lookup and one policy decision per distinct sensor in the scanned range, not
  // per reading. A reading of a sensor the registry does not know is never shown.
  const RequestPolicy policy(context);
  std::map<std::string, std::optional<StreamView>, std::less<>> views;
  const auto view_of = [&](const std::string& sensor_id) -> const std::optional<StreamView>& {
    auto it = views.find(sensor_id);
    if (it == views.end()) {
      std::optional<StreamView> view;
      if (const auto sensor = context.services.registry.find(sensor_id)) {
        view = policy.view(request.identity, *sensor);
      }
      it = views.emplace(sensor_id, view).first;
    }
    return it->second;
  };
  const auto keep = [&](const core::Reading& reading) {
    if (kind && reading.kind != *kind) return false;
    const auto& view = view_of(reading.sensor_id);
    return view.has_value() && view->visible();
  };
  // A caller that sees little must not make one request scan the whole log: past the budget the
  // page comes back short and `next_after_seq` lets the client continue.
  const std::size_t scan_budget = std::max<std::size_t>(*limit * 10, 1000);
  auto page = context.services.log.read_since(after_seq, *limit, keep, scan_budget);
  if (!page) return respond(problem_response(page.error()));

  std::string body = "{\"readings\":[";
  std::map<std::string, std::uint64_t, std::less<>> granted;  // stream → readings served
  for (std::size_t i = 0; i < page->readings.size(); ++i) {
    const core::Reading& reading = page->readings[i];
    const StreamView& view = *view_of(reading.sensor_id);
    if (i > 0) body += ',';
    append_reading(body, reading, view.access.view);
    if (view.is_granted()) ++granted[reading.sensor_id];
  }
  body += "],\"next_after_seq\":" + std::to_string(std::max(after_seq, page->last_scanned)) + '}';
  if (!granted.empty()) {
    std::vector<std::string> streams;
    std::uint64_t readings = 0;
    for (const auto& [id, count] : granted) {
      streams.push_back(id);
      readings += count;
    }
    audit_read(context, request, "GET /v1/readings", std::move(streams), readings);
  }
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
