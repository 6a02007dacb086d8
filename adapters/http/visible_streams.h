// What one request may see of the streams: the policy snapshot and clock of the request, the
// visible streams with their views, their summaries after the view, and the audit record of reads
// of shared data. Shared by every read route (/v1 streams and feed, /ngsi-ld, /v1/catalog) so that
// each format and API applies exactly the same visibility and views.
//
// Visibility itself is hub::stream_view (broker/hub/visibility.h); nothing here decides.
// Handlers use these on the connection's strand; the values are the request's own.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/codecs/stream_summary.h"
#include "adapters/http/handlers.h"
#include "broker/hub/visibility.h"
#include "policies/engine.h"

namespace databroker::http {

// One request's view of the policy: a single snapshot and a single `now`, so that a reload or a
// grant expiring mid-request cannot mix two answers.
struct RequestPolicy {
  std::shared_ptr<const policies::PolicySnapshot> snapshot;
  core::TimestampMs now;

  explicit RequestPolicy(const HandlerContext& context)
      : snapshot(context.services.policy.snapshot()), now(context.services.clock.now_ms()) {}

  hub::StreamView view(const access::Identity& identity, const registry::SensorInfo& sensor) const {
    return hub::stream_view(*snapshot, identity, sensor, now);
  }
};

struct VisibleStream {
  registry::StreamState state;
  hub::StreamView view;
};

// The stream if it exists and the caller may see it (an invalid id is simply not found).
std::optional<VisibleStream> visible_stream(const HandlerContext& context,
                                            const RequestPolicy& policy,
                                            const access::Identity& identity, std::string_view id);

// Every stream the caller may see, ordered by id.
std::vector<VisibleStream> visible_streams(const HandlerContext& context,
                                           const RequestPolicy& policy,
                                           const access::Identity& identity);

// The stream through its view: dropped measurements neither named nor in the latest reading,
// withheld metadata absent, the location (declared, else last reported) coarsened.
codecs::StreamSummary summarize(const registry::StreamState& state, const hub::StreamView& view,
                                const core::KindCatalog& kinds);

// The reading as the view lets it out.
core::Reading viewed_reading(const core::Reading& reading, const hub::StreamView& view);

// True when the stream was decided by the open rule publishing dataset `identifier`.
bool in_dataset(const hub::StreamView& view, std::string_view identifier);
// Whether `identifier` names a dataset of the policy in force.
bool dataset_exists(const RequestPolicy& policy, std::string_view identifier);

// Leaves the audit record of a read of shared data: who, which route, which streams, how many
// readings. A no-op when `streams` is empty or there is no audit trail.
void audit_read(const HandlerContext& context, const HttpRequest& request, std::string route,
                std::vector<std::string> streams, std::uint64_t readings);

}  // namespace databroker::http
