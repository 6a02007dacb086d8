#include "broker/hub/visibility.h"

namespace databroker::hub {

policies::StreamFacts facts_of(const registry::SensorInfo& sensor) {
  return {sensor.id, sensor.kind, sensor.zone, sensor.tags, sensor.owner};
}

policies::Caller caller_of(const access::Identity& identity) {
  if (identity.profile == nullptr) return {access::kPublicProfile, false};
  return {identity.profile->name, identity.profile->internal};
}

StreamView stream_view(const policies::PolicySnapshot& policy, const policies::Caller& caller,
                       const registry::SensorInfo& sensor, core::TimestampMs now) {
  StreamView out;
  out.decision = policy.decide(facts_of(sensor));
  out.access = policy.policy().access(out.decision, caller, now);
  return out;
}

}  // namespace databroker::hub
