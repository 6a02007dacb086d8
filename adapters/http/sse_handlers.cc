// GET /v1/subscribe: live readings as Server-Sent Events, for dashboards and browsers.
//
// Every subscriber is a log follower: it reads the durable log from its own cursor with the
// feed's semantics (GET /v1/readings: seq order, the caller's visibility and view, the kind and
// stream filters), so resume, catch-up and live are one code path. Memory per subscriber is one
// batch; nothing is skipped and nothing is sent twice, because the cursor only moves past what
// was read. Each batch takes one policy snapshot, so a reload applies from the next batch on.
//
// The position to resume from: the Last-Event-ID header when present, else `after_seq`, else
// the end of the log (live only). Last-Event-ID wins because a browser's EventSource reconnects
// to the same URL, `after_seq` included, and sends the id of the last event it received.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "adapters/codecs/native_json.h"
#include "adapters/http/handlers.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "broker/hub/visibility.h"
#include "policies/view.h"

namespace databroker::http {

using hub::StreamView;
using hub::stream_view;

namespace {

// Readings per log read, and readings examined per read for a caller that sees little.
constexpr std::size_t kBatchLimit = 500;
constexpr std::size_t kScanBudget = 5000;

struct Filter {
  std::optional<std::string> kind;
  std::optional<std::string> stream;  // a sensor id
};

class LogFollower final : public EventStream {
 public:
  LogFollower(const HandlerContext& context, access::Identity identity, Filter filter,
              core::Seq cursor)
      : context_(context),
        identity_(std::move(identity)),
        filter_(std::move(filter)),
        cursor_(cursor) {}

  core::Result<EventBatch> next_events() override {
    const auto snapshot = context_.services.policy.snapshot();
    const core::TimestampMs now = context_.services.clock.now_ms();
    // One registry lookup and one policy decision per distinct sensor in the batch.
    std::map<std::string, std::optional<StreamView>, std::less<>> views;
    const auto view_of = [&](const std::string& sensor_id) -> const std::optional<StreamView>& {
      auto it = views.find(sensor_id);
      if (it == views.end()) {
        std::optional<StreamView> view;
        if (const auto sensor = context_.services.registry.find(sensor_id)) {
          view = stream_view(*snapshot, identity_, *sensor, now);
        }
        it = views.emplace(sensor_id, view).first;
      }
      return it->second;
    };
    const auto keep = [&](const core::Reading& reading) {
      if (filter_.kind && reading.kind != *filter_.kind) return false;
      if (filter_.stream && reading.sensor_id != *filter_.stream) return false;
      const auto& view = view_of(reading.sensor_id);
      return view.has_value() && view->visible();
    };
    auto page = context_.services.log.read_since(cursor_, kBatchLimit, keep, kScanBudget);
    if (!page) return tl::unexpected(std::move(page.error()));

    EventBatch batch;
    std::map<std::string, std::uint64_t, std::less<>> granted;  // stream → readings sent
    for (const core::Reading& reading : page->readings) {
      const StreamView& view = *view_of(reading.sensor_id);
      batch.text += "id: " + std::to_string(reading.seq) + "\nevent: reading\ndata: ";
      const policies::View* transform = view.access.view;
      if (transform == nullptr || transform->is_identity()) {
        codecs::append_reading_json(batch.text, reading);
      } else {
        codecs::append_reading_json(batch.text, policies::apply_view(reading, *transform));
      }
      batch.text += "\n\n";
      ++batch.events;
      if (view.is_granted()) ++granted[reading.sensor_id];
    }
    cursor_ = std::max(cursor_, page->last_scanned);
    batch.more = cursor_ < context_.services.log.last_seq();
    audit(granted);
    return batch;
  }

  hub::CommitSignal::Subscription watch(std::function<void()> wake) override {
    if (context_.services.commit_signal == nullptr) return {};
    return context_.services.commit_signal->subscribe(
        [wake = std::move(wake)](core::Seq) { wake(); });
  }

 private:
  // Shared data sent to a partner leaves an audit record per batch, like a feed page.
  void audit(const std::map<std::string, std::uint64_t, std::less<>>& granted) {
    if (context_.services.audit == nullptr || granted.empty()) return;
    access::AuditRecord record;
    record.kind = "read";
    record.key_id = identity_.key_id;
    record.profile = identity_.profile ? identity_.profile->name : "";
    record.action = "GET /v1/subscribe";
    for (const auto& [id, count] : granted) {
      record.streams.push_back(id);
      record.readings += count;
    }
    (void)context_.services.audit->record(std::move(record));  // a drop is counted by the trail
  }

  const HandlerContext& context_;
  const access::Identity identity_;
  const Filter filter_;
  core::Seq cursor_;
};

void subscribe(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  std::vector<core::FieldError> errors;
  Filter filter;
  if (auto text = request.query_param("kind")) {
    if (context.services.kinds.find(*text) == nullptr) {
      errors.push_back({"kind", "unknown_kind", "no kind named '" + std::string(*text) + "'"});
    } else {
      filter.kind = std::string(*text);
    }
  }
  if (auto text = request.query_param("stream")) {
    if (!core::is_valid_sensor_id(*text)) {
      errors.push_back({"stream", "invalid_sensor_id", "not a valid sensor id"});
    } else {
      filter.stream = std::string(*text);
    }
  }
  std::optional<core::Seq> after_seq;
  if (auto text = request.query_param("after_seq")) {
    after_seq = parse_seq_param("after_seq", *text, errors);
  }
  if (!request.last_event_id.empty()) {
    after_seq = parse_seq_param("Last-Event-ID", request.last_event_id, errors);
  }
  if (!errors.empty()) {
    return respond(problem_response(core::Error{
        core::ErrorCode::InvalidArgument, "invalid subscription parameters", std::move(errors)}));
  }
  // Without a position, the subscriber starts at the end of the log: live only.
  const core::Seq cursor = after_seq ? *after_seq : context.services.log.last_seq();

  HttpResponse response;
  response.status = 200;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-store");
  // Reverse proxies (nginx) would otherwise buffer the stream.
  response.headers.emplace_back("X-Accel-Buffering", "no");
  response.events =
      std::make_shared<LogFollower>(context, request.identity, std::move(filter), cursor);
  respond(std::move(response));
}

}  // namespace

void add_subscribe_routes(Router& router, const HandlerContext& context) {
  router.add(
      Verb::get, "/v1/subscribe",
      [&context](HttpRequest& request, Respond respond) {
        subscribe(context, request, std::move(respond));
      },
      RouteOptions{.authenticate = true, .token_in_query = true});
}

}  // namespace databroker::http
