#include "adapters/http/visibility.h"

namespace databroker::http {

bool can_read_stream(const access::Identity& identity, const registry::SensorInfo& /*sensor*/) {
  return identity.profile != nullptr && identity.profile->internal;
}

std::string_view stream_class(const registry::SensorInfo& /*sensor*/) {
  // No policy engine yet: no matching rule means closed (brief §2).
  return "closed";
}

}  // namespace databroker::http
