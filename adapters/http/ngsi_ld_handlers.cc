// The read-only NGSI-LD API subset (ETSI GS CIM 009): /ngsi-ld/v1/entities, /entities/{id},
// /temporal/entities/{id}, /types, and the JSON-LD context the Link header points at when an
// answer mixes Smart Data Models domains.
//
// Entities are the visible streams through the caller's view (visible_streams.h), encoded by
// codecs/ngsi_ld.h: exactly what /v1 serves, in another shape. An entity the caller may not see
// is ResourceNotFound like one that does not exist; errors get the NGSI-LD error types from the
// dispatcher (problem.h, as_ngsi_ld_problem).
#include <algorithm>
#include <deque>
#include <set>

#include "adapters/codecs/ngsi_ld.h"
#include "adapters/http/handlers.h"
#include "adapters/http/json_text.h"
#include "adapters/http/negotiation.h"
#include "adapters/http/ngsi_ld_params.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "adapters/http/visible_streams.h"
#include "broker/core/text.h"

namespace databroker::http {

namespace {

constexpr std::size_t kDefaultEntityLimit = 20;  // NGSI-LD's customary default page
constexpr Format kNgsiFormats[] = {Format::NgsiLdJson, Format::NgsiLd};
constexpr std::string_view kContextPath = "/ngsi-ld/v1/context.jsonld";
// Filters of the full API this subset does not implement: refused rather than ignored, since
// ignoring one would answer more than was asked.
constexpr std::string_view kUnsupported[] = {
    "idPattern",   "q",   "georel", "geometry",    "coordinates",
    "geoproperty", "csf", "scopeQ", "aggrMethods", "aggrPeriodDuration"};

HttpResponse entity_not_found() {
  return problem_response(404, "entity_not_found", "no such entity");
}

HttpResponse bad_request(std::vector<core::FieldError> errors) {
  return problem_response(
      core::Error{core::ErrorCode::InvalidArgument, "invalid query parameters", std::move(errors)});
}

void refuse_unsupported(const HttpRequest& request, std::vector<core::FieldError>& errors) {
  for (std::string_view name : kUnsupported) {
    if (request.query_param(name)) {
      errors.push_back(
          {std::string(name), "unsupported",
           "this broker serves a read-only subset of NGSI-LD without " + std::string(name)});
    }
  }
}

// application/ld+json carries the @context in the body; application/json in a Link header: the
// one domain context of the answer, or our combined context when it mixes domains.
HttpResponse ngsi_response(Format format, std::string body,
                           const std::set<std::string_view>& types) {
  HttpResponse response;
  response.status = 200;
  response.body = std::move(body);
  response.content_type = std::string(format_media_type(format));
  if (format == Format::NgsiLdJson) {
    std::set<std::string_view> contexts;
    for (std::string_view type : types) contexts.insert(codecs::ngsi_domain_context(type));
    const std::string_view context =
        contexts.size() == 1 ? *contexts.begin() : std::string_view(kContextPath);
    response.headers.emplace_back("Link", codecs::ngsi_link_context(context));
  }
  return response;
}

void query_entities(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  HttpResponse refused;
  const auto format = negotiate(request, kNgsiFormats, refused);
  if (!format) return respond(std::move(refused));
  std::vector<core::FieldError> errors;
  refuse_unsupported(request, errors);
  const NgsiRepresentation representation = parse_ngsi_representation(request, true, errors);
  const std::vector<std::string> attrs = parse_ngsi_attrs(request, errors);
  std::vector<std::string> types;
  if (auto text = request.query_param("type")) types = split_comma_list(*text);
  std::vector<std::string> ids;
  if (auto text = request.query_param("id")) ids = split_comma_list(*text);
  if (types.empty() && ids.empty() && attrs.empty()) {
    errors.push_back({"type", "required", "give type, id or attrs (e.g. type=AirQualityObserved)"});
  }
  bool count = false;
  if (auto text = request.query_param("count")) {
    const auto flag = core::parse_strict_bool(*text);
    if (!flag) errors.push_back({"count", "malformed", "count is true or false"});
    count = flag.value_or(false);
  }
  std::size_t limit = std::min(kDefaultEntityLimit, context.config.max_page_limit);
  if (auto text = request.query_param("limit")) {
    const auto value = core::parse_integer(*text);
    if (!value || *value < 0 || (*value == 0 && !count)) {
      errors.push_back(
          {"limit", "out_of_range", "limit is an integer ≥ 1 (0 only with count=true)"});
    } else {
      limit =
          std::min<std::size_t>(static_cast<std::size_t>(*value), context.config.max_page_limit);
    }
  }
  std::size_t offset = 0;
  if (auto text = request.query_param("offset")) {
    const auto value = core::parse_integer(*text);
    if (!value || *value < 0) {
      errors.push_back({"offset", "out_of_range", "offset is an integer ≥ 0"});
    } else {
      offset = static_cast<std::size_t>(*value);
    }
  }
  if (!errors.empty()) return respond(bad_request(std::move(errors)));

  const RequestPolicy policy(context);
  std::vector<codecs::StreamSummary> matched;
  std::vector<bool> granted;
  for (const VisibleStream& stream : visible_streams(context, policy, request.identity)) {
    codecs::StreamSummary summary = summarize(stream.state, stream.view, context.services.kinds);
    const auto type = codecs::ngsi_type(summary);
    if (!type) continue;
    if (!types.empty() && std::find(types.begin(), types.end(), *type) == types.end()) continue;
    if (!ids.empty() &&
        std::find(ids.begin(), ids.end(), codecs::ngsi_entity_id(*type, summary.id)) == ids.end()) {
      continue;
    }
    if (!attrs.empty()) {
      const auto names = codecs::ngsi_attribute_names(summary);
      if (std::none_of(attrs.begin(), attrs.end(), [&](const std::string& a) {
            return std::find(names.begin(), names.end(), a) != names.end();
          })) {
        continue;
      }
    }
    matched.push_back(std::move(summary));
    granted.push_back(stream.view.is_granted());
  }
  const std::size_t total = matched.size();
  std::vector<codecs::StreamSummary> page;
  std::vector<std::string> audited;
  std::set<std::string_view> page_types;
  for (std::size_t i = offset; i < total && page.size() < limit; ++i) {
    if (granted[i]) audited.push_back(matched[i].id);
    page.push_back(std::move(matched[i]));
  }
  for (const auto& summary : page) page_types.insert(*codecs::ngsi_type(summary));
  codecs::NgsiOptions options{representation.form, *format == Format::NgsiLd, attrs};
  HttpResponse response = ngsi_response(*format, codecs::ngsi_entities(page, options), page_types);
  if (count) response.headers.emplace_back("NGSILD-Results-Count", std::to_string(total));
  if (offset + page.size() < total && limit > 0) {
    response.headers.emplace_back(
        "Link", next_page_link(request, "offset", std::to_string(offset + page.size())));
  }
  audit_read(context, request, "GET /ngsi-ld/v1/entities", std::move(audited), 0);
  respond(std::move(response));
}

// The visible stream behind an entity id whose type is the stream's type, with its summary.
std::optional<std::pair<VisibleStream, codecs::StreamSummary>> visible_entity(
    const HandlerContext& context, const RequestPolicy& policy, const HttpRequest& request) {
  const auto ref = codecs::parse_ngsi_entity_id(request.param("entityId"));
  if (!ref) return std::nullopt;
  auto stream = visible_stream(context, policy, request.identity, ref->sensor_id);
  if (!stream) return std::nullopt;
  codecs::StreamSummary summary = summarize(stream->state, stream->view, context.services.kinds);
  if (codecs::ngsi_type(summary) != ref->type) return std::nullopt;
  return std::make_pair(std::move(*stream), std::move(summary));
}

void retrieve_entity(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const RequestPolicy policy(context);
  const auto entity = visible_entity(context, policy, request);
  if (!entity) return respond(entity_not_found());
  HttpResponse refused;
  const auto format = negotiate(request, kNgsiFormats, refused);
  if (!format) return respond(std::move(refused));
  std::vector<core::FieldError> errors;
  const NgsiRepresentation representation = parse_ngsi_representation(request, true, errors);
  const std::vector<std::string> attrs = parse_ngsi_attrs(request, errors);
  if (!errors.empty()) return respond(bad_request(std::move(errors)));
  const auto& [stream, summary] = *entity;
  codecs::NgsiOptions options{representation.form, *format == Format::NgsiLd, attrs};
  if (stream.view.is_granted()) {
    audit_read(context, request, "GET /ngsi-ld/v1/entities/{entityId}", {summary.id}, 0);
  }
  respond(
      ngsi_response(*format, codecs::ngsi_entity(summary, options), {*codecs::ngsi_type(summary)}));
}

// The newest `n` readings of [from, to), at most `cap` read per step. The log reads oldest first,
// so the window ending at `to` is widened (×4) until it holds n readings or reaches `from`, and
// narrowed (halving) when it holds more than a page: a bounded number of bounded reads.
core::Result<std::vector<core::Reading>> last_readings(const log::ReadingLog& log,
                                                       log::StreamQuery query, std::size_t n,
                                                       core::TimestampMs end) {
  const core::TimestampMs lower = query.from;
  std::int64_t narrow = 0;  // a window known to hold fewer than n (or exactly all)
  std::int64_t wide = 0;    // a window known to hold more than a page; 0: none yet
  std::int64_t width = 60'000;
  std::vector<core::Reading> best;
  for (int step = 0; step < 96; ++step) {
    core::TimestampMs start = 0;
    // The window starts `width` before `end`, or at `lower` when that is later (or the
    // subtraction would leave the range of a timestamp).
    query.from = __builtin_sub_overflow(end, width, &start) || start < lower ? lower : start;
    auto page = log.read_stream(query);
    if (!page) return tl::unexpected(page.error());
    if (!page->more) {
      best = std::move(page->readings);
      if (best.size() >= n || query.from == lower) break;
      narrow = width;
      width = wide == 0 ? (width > INT64_MAX / 4 ? INT64_MAX : width * 4)
                        : narrow + (wide - narrow) / 2;
    } else {
      wide = width;
      if (wide - narrow <= 1) {
        best = std::move(page->readings);  // more than a page share one millisecond
        break;
      }
      width = narrow + (wide - narrow) / 2;
    }
  }
  if (best.size() > n) best.erase(best.begin(), best.end() - static_cast<std::ptrdiff_t>(n));
  return best;
}

void temporal_entity(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const RequestPolicy policy(context);
  const auto entity = visible_entity(context, policy, request);
  if (!entity) return respond(entity_not_found());
  HttpResponse refused;
  const auto format = negotiate(request, kNgsiFormats, refused);
  if (!format) return respond(std::move(refused));
  const auto& [stream, summary] = *entity;

  std::vector<core::FieldError> errors;
  refuse_unsupported(request, errors);
  const NgsiRepresentation representation = parse_ngsi_representation(request, true, errors);
  std::vector<std::string> attrs = parse_ngsi_attrs(request, errors);
  log::StreamQuery query;
  query.sensor_id = summary.id;
  query.limit = context.config.max_page_limit;
  std::optional<core::TimestampMs> time_at;
  std::optional<core::TimestampMs> end_time_at;
  if (auto text = request.query_param("timeAt"))
    time_at = parse_time_param("timeAt", *text, errors);
  if (auto text = request.query_param("endTimeAt")) {
    end_time_at = parse_time_param("endTimeAt", *text, errors);
  }
  if (auto property = request.query_param("timeproperty"); property && *property != "observedAt") {
    errors.push_back({"timeproperty", "unsupported", "only observedAt is kept"});
  }
  if (auto timerel = request.query_param("timerel")) {
    if (!request.query_param("timeAt")) {
      errors.push_back({"timeAt", "required", "timerel needs timeAt"});
    } else if (time_at) {
      if (*timerel == "before") {
        query.to = *time_at;
      } else if (*timerel == "after") {
        query.from = *time_at + 1;
      } else if (*timerel == "between") {
        if (!request.query_param("endTimeAt")) {
          errors.push_back({"endTimeAt", "required", "timerel=between needs endTimeAt"});
        } else if (end_time_at) {
          query.from = *time_at;
          query.to = *end_time_at;
          if (query.from >= query.to) {
            errors.push_back({"endTimeAt", "out_of_range", "endTimeAt must be later than timeAt"});
          }
        }
      } else {
        errors.push_back({"timerel", "malformed", "timerel is before, after or between"});
      }
    }
  } else if (request.query_param("timeAt") || request.query_param("endTimeAt")) {
    errors.push_back({"timerel", "required", "timeAt and endTimeAt need timerel"});
  }
  std::optional<std::size_t> last_n;
  if (auto text = request.query_param("lastN")) {
    const auto value = core::parse_integer(*text);
    if (!value || *value < 1) {
      errors.push_back({"lastN", "out_of_range", "lastN is an integer ≥ 1"});
    } else {
      last_n = std::min<std::size_t>(static_cast<std::size_t>(*value), query.limit);
    }
  }
  if (!errors.empty()) return respond(bad_request(std::move(errors)));

  std::vector<core::Reading> readings;
  if (last_n) {
    const core::TimestampMs end = query.to != INT64_MAX ? query.to
                                  : stream.state.latest
                                      ? std::max(stream.state.latest->ts, query.from) + 1
                                      : query.from;
    query.to = end;
    auto found = end > query.from ? last_readings(context.services.log, query, *last_n, end)
                                  : core::Result<std::vector<core::Reading>>{};
    if (!found) return respond(problem_response(found.error()));
    readings = std::move(*found);
  } else {
    auto page = context.services.log.read_stream(query);
    if (!page) return respond(problem_response(page.error()));
    readings = std::move(page->readings);
  }
  for (core::Reading& reading : readings) reading = viewed_reading(reading, stream.view);
  if (stream.view.is_granted()) {
    audit_read(context, request, "GET /ngsi-ld/v1/temporal/entities/{entityId}", {summary.id},
               readings.size());
  }
  codecs::NgsiTemporalOptions options{temporal_form(representation), *format == Format::NgsiLd,
                                      std::move(attrs)};
  respond(ngsi_response(*format, codecs::ngsi_temporal_entity(summary, readings, options),
                        {*codecs::ngsi_type(summary)}));
}

void list_types(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  HttpResponse refused;
  const auto format = negotiate(request, kNgsiFormats, refused);
  if (!format) return respond(std::move(refused));
  const RequestPolicy policy(context);
  std::set<std::string_view> types;
  for (const VisibleStream& stream : visible_streams(context, policy, request.identity)) {
    const auto summary = summarize(stream.state, stream.view, context.services.kinds);
    if (const auto type = codecs::ngsi_type(summary)) types.insert(*type);
  }
  Json list = Json::array();
  for (std::string_view type : types) list.push_back(type);
  Json body = {{"id", "urn:ngsi-ld:EntityTypeList:databroker"},
               {"type", "EntityTypeList"},
               {"typeList", std::move(list)}};
  if (*format == Format::NgsiLd) body["@context"] = codecs::kNgsiCoreContext;
  HttpResponse response;
  response.content_type = std::string(format_media_type(*format));
  response.body = to_json_text(body);
  respond(std::move(response));
}

// The Smart Data Models contexts of every type served, for a Link header of a mixed answer.
void combined_context(const HandlerContext&, const HttpRequest&, Respond respond) {
  std::set<std::string_view> contexts;
  for (std::string_view type : codecs::ngsi_types()) {
    contexts.insert(codecs::ngsi_domain_context(type));
  }
  Json list = Json::array();
  for (std::string_view context : contexts) list.push_back(context);
  list.push_back(codecs::kNgsiCoreContext);
  HttpResponse response;
  response.content_type = std::string(codecs::kNgsiLdMediaType);
  response.body = to_json_text({{"@context", std::move(list)}});
  respond(std::move(response));
}

}  // namespace

void add_ngsi_ld_routes(Router& router, const HandlerContext& context) {
  const auto bind = [&context](auto handler) {
    return [&context, handler](HttpRequest& request, Respond respond) {
      handler(context, request, std::move(respond));
    };
  };
  router.add(Verb::get, "/ngsi-ld/v1/entities", bind(query_entities));
  router.add(Verb::get, "/ngsi-ld/v1/entities/{entityId}", bind(retrieve_entity));
  router.add(Verb::get, "/ngsi-ld/v1/temporal/entities/{entityId}", bind(temporal_entity));
  router.add(Verb::get, "/ngsi-ld/v1/types", bind(list_types));
  router.add(Verb::get, kContextPath, bind(combined_context), RouteOptions{.authenticate = false});
}

}  // namespace databroker::http
