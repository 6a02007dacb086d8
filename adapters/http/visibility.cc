#include "adapters/http/visibility.h"

namespace databroker::http {

policies::StreamFacts facts_of(const registry::SensorInfo& sensor) {
  return {sensor.id, sensor.kind, sensor.zone, sensor.tags, sensor.owner};
}

policies::Caller caller_of(const access::Identity& identity) {
  if (identity.profile == nullptr) return {access::kPublicProfile, false};
  return {identity.profile->name, identity.profile->internal};
}

StreamView stream_view(const policies::PolicySnapshot& policy, const access::Identity& identity,
                       const registry::SensorInfo& sensor, core::TimestampMs now) {
  StreamView out;
  out.decision = policy.decide(facts_of(sensor));
  out.access = policy.policy().access(out.decision, caller_of(identity), now);
  return out;
}

}  // namespace databroker::http
