#include "adapters/http/visible_streams.h"

#include "policies/view.h"

namespace databroker::http {

std::optional<VisibleStream> visible_stream(const HandlerContext& context,
                                            const RequestPolicy& policy,
                                            const access::Identity& identity, std::string_view id) {
  if (!core::is_valid_sensor_id(id)) return std::nullopt;
  auto state = context.services.registry.stream(id);
  if (!state) return std::nullopt;
  hub::StreamView view = policy.view(identity, state->sensor);
  if (!view.visible()) return std::nullopt;
  return VisibleStream{std::move(*state), view};
}

std::vector<VisibleStream> visible_streams(const HandlerContext& context,
                                           const RequestPolicy& policy,
                                           const access::Identity& identity) {
  std::vector<VisibleStream> out;
  for (registry::StreamState& state : context.services.registry.streams()) {
    const hub::StreamView view = policy.view(identity, state.sensor);
    if (view.visible()) out.push_back({std::move(state), view});
  }
  return out;
}

core::Reading viewed_reading(const core::Reading& reading, const hub::StreamView& view) {
  const policies::View* transform = view.transform();
  return transform ? policies::apply_view(reading, *transform) : reading;
}

codecs::StreamSummary summarize(const registry::StreamState& state, const hub::StreamView& view,
                                const core::KindCatalog& kinds) {
  const registry::SensorInfo& sensor = state.sensor;
  const policies::View* transform = view.access.view;
  const auto shows = [&](std::string_view field) {
    return transform == nullptr || !transform->drops_metadata(field);
  };
  codecs::StreamSummary out;
  out.id = sensor.id;
  out.kind = sensor.kind;
  out.stream_class = std::string(policies::to_string(view.decision.stream_class));
  if (const core::SensorKind* kind = kinds.find(sensor.kind)) {
    for (const core::MeasurementSpec& spec : kind->measurements) {
      if (transform != nullptr && transform->drops_measurement(spec.name)) continue;
      out.measurements.push_back(spec);
    }
  }
  // A declared location wins; a mobile or undeclared sensor is where it last reported.
  out.location = sensor.location ? sensor.location
                 : state.latest  ? state.latest->location
                                 : std::nullopt;
  if (transform != nullptr) out.location = policies::view_location(out.location, *transform);
  if (shows("name")) out.name = sensor.name;
  if (shows("zone")) out.zone = sensor.zone;
  if (shows("tags")) out.tags = sensor.tags;
  if (state.latest) out.latest = viewed_reading(*state.latest, view);
  return out;
}

bool in_dataset(const hub::StreamView& view, std::string_view identifier) {
  const policies::Rule* rule = view.decision.rule;
  return rule != nullptr && rule->dataset && rule->dataset->identifier == identifier;
}

bool dataset_exists(const RequestPolicy& policy, std::string_view identifier) {
  for (const policies::Rule& rule : policy.snapshot->policy().rules()) {
    if (rule.dataset && rule.dataset->identifier == identifier) return true;
  }
  return false;
}

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

}  // namespace databroker::http
