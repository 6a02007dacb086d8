// Reading data: stream metadata, the latest reading, history pages and the cross-stream feed, in
// JSON, CSV, GeoJSON or NGSI-LD (negotiation.h).
//
// Visibility goes through visible_streams.h only, and every format is encoded from the same
// viewed streams and readings. A stream the caller may not see gets the very same 404 body as a
// stream that does not exist, and is checked before the query parameters (the format included),
// so no difference in status or body tells the two apart.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "adapters/codecs/csv.h"
#include "adapters/codecs/geojson.h"
#include "adapters/codecs/native_json.h"
#include "adapters/codecs/ngsi_ld.h"
#include "adapters/http/handlers.h"
#include "adapters/http/json_text.h"
#include "adapters/http/negotiation.h"
#include "adapters/http/ngsi_ld_params.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "adapters/http/visible_streams.h"
#include "broker/core/time.h"

namespace databroker::http {

using hub::StreamView;

namespace {

constexpr std::size_t kDefaultLimit = 100;

constexpr Format kStreamFormats[] = {Format::Json, Format::Csv, Format::GeoJson, Format::NgsiLd};
constexpr Format kFeedFormats[] = {Format::Json, Format::Csv, Format::GeoJson};

HttpResponse stream_not_found() {
  return problem_response(404, "stream_not_found", "no such stream");
}

HttpResponse invalid_parameters(std::vector<core::FieldError> errors) {
  return problem_response(
      core::Error{core::ErrorCode::InvalidArgument, "invalid query parameters", std::move(errors)});
}

HttpResponse body_response(Format format, std::string body) {
  HttpResponse response;
  response.status = 200;
  response.body = std::move(body);
  switch (format) {
    case Format::Csv:
      response.content_type = codecs::kCsvMediaType;
      break;
    case Format::GeoJson:
      response.content_type = codecs::kGeoJsonMediaType;
      break;
    default:
      response.content_type = std::string(format_media_type(format));
  }
  return response;
}

Json location_json(const std::optional<core::Location>& location) {
  if (!location) return nullptr;
  Json out = {{"lat", location->lat}, {"lon", location->lon}};
  if (location->alt) out["alt"] = *location->alt;
  return out;
}

// Stream metadata through the caller's view (`summary` is already viewed); owner, steward and
// the grant are JSON-only fields.
Json stream_json(const codecs::StreamSummary& summary, const VisibleStream& stream) {
  const registry::SensorInfo& sensor = stream.state.sensor;
  const policies::View* view = stream.view.access.view;
  const auto shows = [&](std::string_view field) {
    return view == nullptr || !view->drops_metadata(field);
  };
  Json measurements = Json::array();
  for (const core::MeasurementSpec& spec : summary.measurements) {
    measurements.push_back(
        {{"name", spec.name}, {"unit", spec.unit}, {"type", core::to_string(spec.type)}});
  }
  Json out = {
      {"id", summary.id},
      {"kind", summary.kind},
      {"class", summary.stream_class},
      {"location", location_json(summary.location)},
      {"last_reading_at",
       stream.state.latest ? Json(core::format_rfc3339(stream.state.latest->ts)) : nullptr},
      {"measurements", std::move(measurements)},
  };
  if (summary.name) out["name"] = *summary.name;
  if (summary.zone) out["zone"] = *summary.zone;
  if (summary.tags) out["tags"] = *summary.tags;
  if (shows("owner")) out["owner"] = sensor.owner;
  if (shows("steward")) out["steward"] = sensor.steward;
  if (const policies::Grant* grant = stream.view.access.grant) {
    // A partner sees under which agreement it receives the data.
    out["grant"] = {{"purpose", grant->purpose},
                    {"legal_basis", grant->legal_basis},
                    {"ends_at", core::format_rfc3339(grant->until)}};
  }
  return out;
}

// NGSI-LD options for /v1 routes (`format=ngsi-ld` is the format; `options=` the form).
std::optional<codecs::NgsiOptions> ngsi_options(const HttpRequest& request,
                                                std::vector<core::FieldError>& errors) {
  const NgsiRepresentation representation = parse_ngsi_representation(request, false, errors);
  codecs::NgsiOptions options;
  options.form = representation.form;
  options.attrs = parse_ngsi_attrs(request, errors);
  if (!errors.empty()) return std::nullopt;
  return options;
}

// The format of a single-stream route and, for NGSI-LD, its options; nothing with `refused` set
// (406, or 400 for bad NGSI-LD options).
std::optional<Format> stream_format(const HttpRequest& request,
                                    std::optional<codecs::NgsiOptions>& ngsi,
                                    HttpResponse& refused) {
  const auto format = negotiate(request, kStreamFormats, refused);
  if (!format || *format != Format::NgsiLd) return format;
  std::vector<core::FieldError> errors;
  ngsi = ngsi_options(request, errors);
  if (!errors.empty()) {
    refused = invalid_parameters(std::move(errors));
    return std::nullopt;
  }
  return format;
}

// The columns of a CSV of several kinds: every kind of the catalogue, in name order, so that the
// header does not depend on which streams happen to be on a page.
std::vector<std::string> all_kinds_columns(const core::KindCatalog& kinds) {
  const std::vector<std::string> names = kinds.names();
  return codecs::csv_union_columns(kinds, names);
}

std::optional<std::string> dataset_param(const HttpRequest& request, const RequestPolicy& policy,
                                         std::vector<core::FieldError>& errors) {
  auto text = request.query_param("dataset");
  if (!text) return std::nullopt;
  if (!dataset_exists(policy, *text)) {
    errors.push_back({"dataset", "unknown_dataset",
                      "no dataset named '" + shorten(*text) + "' (see /v1/catalog)"});
    return std::nullopt;
  }
  return std::string(*text);
}

void list_streams(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  HttpResponse refused;
  const auto format = negotiate(request, kStreamFormats, refused);
  if (!format) return respond(std::move(refused));
  const RequestPolicy policy(context);
  std::vector<core::FieldError> errors;
  const auto dataset = dataset_param(request, policy, errors);
  std::optional<codecs::NgsiOptions> ngsi;
  if (*format == Format::NgsiLd) ngsi = ngsi_options(request, errors);
  if (!errors.empty()) return respond(invalid_parameters(std::move(errors)));

  std::vector<VisibleStream> streams = visible_streams(context, policy, request.identity);
  if (dataset) {
    std::erase_if(streams, [&](const VisibleStream& s) { return !in_dataset(s.view, *dataset); });
  }
  std::vector<codecs::StreamSummary> summaries;
  std::vector<std::string> granted;
  for (const VisibleStream& stream : streams) {
    if (stream.view.is_granted()) granted.push_back(stream.state.sensor.id);
    summaries.push_back(summarize(stream.state, stream.view, context.services.kinds));
  }
  std::string body;
  switch (*format) {
    case Format::Csv: {
      const auto columns = all_kinds_columns(context.services.kinds);
      codecs::append_csv_streams_header(body, columns);
      for (const auto& summary : summaries) codecs::append_csv_stream(body, summary, columns);
      break;
    }
    case Format::GeoJson:
      body = codecs::geojson_streams(summaries);
      break;
    case Format::NgsiLd:
      body = codecs::ngsi_entities(summaries, *ngsi);
      break;
    default: {
      Json list = Json::array();
      for (std::size_t i = 0; i < streams.size(); ++i) {
        list.push_back(stream_json(summaries[i], streams[i]));
      }
      body = to_json_text({{"streams", std::move(list)}});
    }
  }
  audit_read(context, request, "GET /v1/streams", std::move(granted), 0);
  respond(body_response(*format, std::move(body)));
}

// The 406 for a stream whose kind has no Smart Data Model.
HttpResponse no_ngsi_model(const codecs::StreamSummary& summary) {
  HttpResponse refused =
      problem_response(406, "not_acceptable",
                       "streams of kind '" + summary.kind +
                           "' have no Smart Data Model; serve json, csv or geojson");
  return refused;
}

void get_stream(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const RequestPolicy policy(context);
  const auto stream = visible_stream(context, policy, request.identity, request.param("id"));
  if (!stream) return respond(stream_not_found());
  std::optional<codecs::NgsiOptions> ngsi;
  HttpResponse refused;
  const auto format = stream_format(request, ngsi, refused);
  if (!format) return respond(std::move(refused));

  const codecs::StreamSummary summary =
      summarize(stream->state, stream->view, context.services.kinds);
  std::string body;
  switch (*format) {
    case Format::Csv: {
      const auto columns = codecs::csv_union_columns(context.services.kinds, {&summary.kind, 1});
      codecs::append_csv_streams_header(body, columns);
      codecs::append_csv_stream(body, summary, columns);
      break;
    }
    case Format::GeoJson:
      body = codecs::geojson_stream(summary);
      break;
    case Format::NgsiLd:
      if (!codecs::ngsi_type(summary)) return respond(no_ngsi_model(summary));
      body = codecs::ngsi_entity(summary, *ngsi);
      break;
    default:
      body = to_json_text(stream_json(summary, *stream));
  }
  if (stream->view.is_granted()) {
    audit_read(context, request, "GET /v1/streams/{id}", {stream->state.sensor.id}, 0);
  }
  respond(body_response(*format, std::move(body)));
}

// The measurement columns of a stream's readings: its kind's schema minus what the view drops.
std::vector<std::string> stream_columns(const codecs::StreamSummary& summary) {
  std::vector<std::string> out;
  for (const core::MeasurementSpec& spec : summary.measurements) out.push_back(spec.name);
  return out;
}

void get_latest(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const RequestPolicy policy(context);
  const auto stream = visible_stream(context, policy, request.identity, request.param("id"));
  if (!stream) return respond(stream_not_found());
  std::optional<codecs::NgsiOptions> ngsi;
  HttpResponse refused;
  const auto format = stream_format(request, ngsi, refused);
  if (!format) return respond(std::move(refused));
  if (!stream->state.latest) {
    return respond(problem_response(404, "no_readings", "the stream has no readings yet"));
  }
  const codecs::StreamSummary summary =
      summarize(stream->state, stream->view, context.services.kinds);
  const core::Reading& reading = *summary.latest;
  std::string body;
  switch (*format) {
    case Format::Csv: {
      const auto columns = stream_columns(summary);
      codecs::append_csv_readings_header(body, columns);
      codecs::append_csv_reading(body, reading, columns);
      break;
    }
    case Format::GeoJson:
      body = codecs::geojson_reading(reading);
      break;
    case Format::NgsiLd:
      if (!codecs::ngsi_type(summary)) return respond(no_ngsi_model(summary));
      body = codecs::ngsi_entity(summary, *ngsi);
      break;
    default:
      codecs::append_reading_json(body, reading);
  }
  if (stream->view.is_granted()) {
    audit_read(context, request, "GET /v1/streams/{id}/latest", {stream->state.sensor.id}, 1);
  }
  respond(body_response(*format, std::move(body)));
}

void get_history(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const RequestPolicy policy(context);
  const std::string_view id = request.param("id");
  const auto stream = visible_stream(context, policy, request.identity, id);
  if (!stream) return respond(stream_not_found());
  HttpResponse refused;
  const auto format = negotiate(request, kStreamFormats, refused);
  if (!format) return respond(std::move(refused));

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
  NgsiRepresentation representation;
  std::vector<std::string> attrs;
  if (*format == Format::NgsiLd) {
    representation = parse_ngsi_representation(request, false, errors);
    attrs = parse_ngsi_attrs(request, errors);
  }
  if (!errors.empty()) return respond(invalid_parameters(std::move(errors)));

  auto page = context.services.log.read_stream(query);
  if (!page) return respond(problem_response(page.error()));
  for (core::Reading& reading : page->readings) reading = viewed_reading(reading, stream->view);

  std::optional<std::string> next_cursor;
  if (page->more && !page->readings.empty()) {
    const core::Reading& last = page->readings.back();
    next_cursor = encode_cursor(id, {last.ts, last.seq});
  }
  const codecs::StreamSummary summary =
      summarize(stream->state, stream->view, context.services.kinds);
  std::string body;
  switch (*format) {
    case Format::Csv: {
      const auto columns = stream_columns(summary);
      codecs::append_csv_readings_header(body, columns);
      for (const auto& reading : page->readings) codecs::append_csv_reading(body, reading, columns);
      break;
    }
    case Format::GeoJson:
      body = codecs::geojson_readings(page->readings);
      break;
    case Format::NgsiLd:
      if (!codecs::ngsi_type(summary)) return respond(no_ngsi_model(summary));
      body = codecs::ngsi_temporal_entity(summary, page->readings,
                                          {temporal_form(representation), true, std::move(attrs)});
      break;
    default:
      body = "{\"readings\":[";
      for (std::size_t i = 0; i < page->readings.size(); ++i) {
        if (i > 0) body += ',';
        codecs::append_reading_json(body, page->readings[i]);
      }
      body += "],\"next_cursor\":";
      body += next_cursor ? '"' + *next_cursor + '"' : std::string("null");
      body += '}';
  }
  if (stream->view.is_granted()) {
    audit_read(context, request, "GET /v1/streams/{id}/readings", {std::string(id)},
               page->readings.size());
  }
  HttpResponse response = body_response(*format, std::move(body));
  if (next_cursor)
    response.headers.emplace_back("Link", next_page_link(request, "cursor", *next_cursor));
  respond(std::move(response));
}

void get_feed(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  HttpResponse refused;
  const auto format = negotiate(request, kFeedFormats, refused);
  if (!format) return respond(std::move(refused));
  const RequestPolicy policy(context);
  std::vector<core::FieldError> errors;
  std::optional<std::string> kind;
  if (auto text = request.query_param("kind")) {
    if (context.services.kinds.find(*text) == nullptr) {
      errors.push_back({"kind", "unknown_kind", "no kind named '" + shorten(*text) + "'"});
    } else {
      kind = std::string(*text);
    }
  }
  const auto dataset = dataset_param(request, policy, errors);
  core::Seq after_seq = 0;
  if (auto text = request.query_param("after_seq")) {
    if (auto seq = parse_seq_param("after_seq", *text, errors)) after_seq = *seq;
  }
  const auto limit = parse_limit(request.query_param("limit"), kDefaultLimit,
                                 context.config.max_page_limit, errors);
  if (!errors.empty()) return respond(invalid_parameters(std::move(errors)));

  // One registry lookup and one policy decision per distinct sensor in the scanned range, not
  // per reading. A reading of a sensor the registry does not know is never shown.
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
    return view.has_value() && view->visible() && (!dataset || in_dataset(*view, *dataset));
  };
  // A caller that sees little must not make one request scan the whole log: past the budget the
  // page comes back short and `next_after_seq` lets the client continue.
  const std::size_t scan_budget = std::max<std::size_t>(*limit * 10, 1000);
  auto page = context.services.log.read_since(after_seq, *limit, keep, scan_budget);
  if (!page) return respond(problem_response(page.error()));

  std::map<std::string, std::uint64_t, std::less<>> granted;  // stream → readings served
  for (core::Reading& reading : page->readings) {
    const StreamView& view = *view_of(reading.sensor_id);
    reading = viewed_reading(reading, view);
    if (view.is_granted()) ++granted[reading.sensor_id];
  }
  const std::string next_after_seq = std::to_string(std::max(after_seq, page->last_scanned));
  std::string body;
  switch (*format) {
    case Format::Csv: {
      const auto columns = kind ? codecs::csv_union_columns(context.services.kinds, {&*kind, 1})
                                : all_kinds_columns(context.services.kinds);
      codecs::append_csv_readings_header(body, columns);
      for (const auto& reading : page->readings) codecs::append_csv_reading(body, reading, columns);
      break;
    }
    case Format::GeoJson:
      body = codecs::geojson_readings(page->readings);
      break;
    default:
      body = "{\"readings\":[";
      for (std::size_t i = 0; i < page->readings.size(); ++i) {
        if (i > 0) body += ',';
        codecs::append_reading_json(body, page->readings[i]);
      }
      body += "],\"next_after_seq\":" + next_after_seq + '}';
  }
  if (!granted.empty()) {
    std::vector<std::string> streams;
    std::uint64_t readings = 0;
    for (const auto& [id, count] : granted) {
      streams.push_back(id);
      readings += count;
    }
    audit_read(context, request, "GET /v1/readings", std::move(streams), readings);
  }
  HttpResponse response = body_response(*format, std::move(body));
  response.headers.emplace_back("Link", next_page_link(request, "after_seq", next_after_seq));
  respond(std::move(response));
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
