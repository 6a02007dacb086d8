// GET /v1/subscribe (Server-Sent Events) and GET /v1/ws (WebSocket): live readings for
// dashboards, browsers and partners.
//
// Every subscriber is a hub::Follower: it follows the log from its own cursor with the feed's
// semantics (seq order, the caller's visibility and view, the filters), reading the in-memory
// ring near the head and the durable log when behind, so resume, catch-up and live are one code
// path: nothing is skipped and nothing is sent twice, because the cursor only moves past what
// was read. Each batch takes one policy snapshot, so a reload or an expired grant applies from
// the next batch on; the key is checked again at least every kKeyRecheck, so a revoked key's
// stream ends.
//
// The position to resume from (SSE): the Last-Event-ID header when present, else `after_seq`,
// else the end of the log (live only). Last-Event-ID wins because a browser's EventSource
// reconnects to the same URL, `after_seq` included, and sends the id of the last event it
// received. WebSocket clients give `after_seq` in their subscribe message.
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include "adapters/http/handlers.h"
#include "adapters/http/json_text.h"
#include "adapters/http/live_format.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "broker/core/logging.h"

namespace databroker::http {

namespace {

// Readings per read, and readings examined per read for a caller that sees little.
constexpr std::size_t kBatchLimit = 500;
constexpr std::size_t kScanBudget = 5000;
// How stale a stream's knowledge that its key is valid may be.
constexpr std::chrono::milliseconds kKeyRecheck{250};

hub::FollowerCaller caller_for(const access::Identity& identity) {
  hub::FollowerCaller caller;
  caller.profile = identity.profile ? identity.profile->name : std::string(access::kPublicProfile);
  caller.internal = identity.profile != nullptr && identity.profile->internal;
  caller.key_id = identity.key_id;
  return caller;
}

class LiveStream final : public EventStream {
 public:
  LiveStream(const HandlerContext& context, const access::Identity& identity,
             hub::SubscriberType type, hub::SubscriptionFilter filter, core::Seq cursor,
             std::string action)
      : context_(context),
        key_id_(identity.key_id),
        type_(type),
        follower_(context.followers, type, caller_for(identity), std::move(filter), cursor),
        action_(std::move(action)) {}

  LiveBatch next_events() override {
    LiveBatch out;
    if (!key_still_active()) {
      if (auto* metrics = context_.followers.metrics) ++metrics->counters(type_).closed_revoked;
      out.end =
          StreamEnd{StreamEnd::Reason::KeyRevoked, "the key of this subscription was revoked", 0};
      return out;
    }
    auto batch = follower_.next(kBatchLimit, kScanBudget);
    if (!batch) {
      core::log_warn("http", "a live stream ends: " + batch.error().message);
      out.end =
          StreamEnd{StreamEnd::Reason::LogError, "the log cannot be read; reconnect later", 0};
      return out;
    }
    if (batch->behind_retention) {
      out.end =
          StreamEnd{StreamEnd::Reason::BehindRetention,
                    "retention removed readings after seq " + std::to_string(follower_.cursor()) +
                        " before they were delivered; resume from first_available",
                    batch->first_available};
      return out;
    }
    hub::audit_delivery(context_.services.audit, follower_.caller(), action_, *batch);
    out.events = std::move(batch->events);
    out.more = batch->more;
    return out;
  }

  hub::CommitSignal::Subscription watch(std::function<void()> wake) override {
    if (context_.services.commit_signal == nullptr) return {};
    return context_.services.commit_signal->subscribe(
        [wake = std::move(wake)](core::Seq) { wake(); });
  }

 private:
  bool key_still_active() {
    if (key_id_.empty()) return true;  // anonymous: nothing to revoke
    const auto now = std::chrono::steady_clock::now();
    if (now - last_key_check_ < kKeyRecheck) return true;
    last_key_check_ = now;
    return context_.services.keys.is_active(key_id_);
  }

  const HandlerContext& context_;
  const std::string key_id_;
  const hub::SubscriberType type_;
  hub::Follower follower_;
  const std::string action_;
  std::chrono::steady_clock::time_point last_key_check_{};
};

// kind, stream and zone: comma-separated lists, streams and zones may be globs.
hub::SubscriptionFilter filter_from_query(const HttpRequest& request) {
  hub::SubscriptionFilter filter;
  if (auto text = request.query_param("kind")) filter.kinds = hub::split_list(*text);
  if (auto text = request.query_param("stream")) filter.streams = hub::split_list(*text);
  if (auto text = request.query_param("zone")) filter.zones = hub::split_list(*text);
  return filter;
}

core::Status validate(const HandlerContext& context, const hub::SubscriptionFilter& filter) {
  return hub::validate_filter(
      filter, [&](std::string_view kind) { return context.services.kinds.find(kind) != nullptr; });
}

// Where a subscription starts. Without a position: the end of the log (live only). A position
// whose next readings retention already removed is refused, so a client learns it lost data.
core::Result<core::Seq> start_position(const HandlerContext& context,
                                       std::optional<core::Seq> after) {
  const core::Seq last = context.services.log.last_seq();
  if (!after) return last;
  if (*after != 0 && *after < last) {
    const core::Seq first = context.services.log.first_seq();
    if (first == 0 || first > *after + 1) {
      return core::fail(core::ErrorCode::NotFound,
                        "retention removed readings after seq " + std::to_string(*after) +
                            "; the oldest stored is " + std::to_string(first) +
                            " (resume with after_seq=0 for everything stored)");
    }
  }
  return *after;
}

void subscribe(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  std::vector<core::FieldError> errors;
  hub::SubscriptionFilter filter = filter_from_query(request);
  if (auto valid = validate(context, filter); !valid) errors = std::move(valid.error().details);
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
  auto cursor = start_position(context, after_seq);
  if (!cursor) {
    // 410 rather than 404: EventSource stops reconnecting on it, and the stream does exist.
    return respond(problem_response(410, "behind_retention", cursor.error().message));
  }

  HttpResponse response;
  response.status = 200;
  response.content_type = "text/event-stream";
  response.headers.emplace_back("Cache-Control", "no-store");
  // Reverse proxies (nginx) would otherwise buffer the stream.
  response.headers.emplace_back("X-Accel-Buffering", "no");
  response.events =
      std::make_shared<LiveStream>(context, request.identity, hub::SubscriberType::Sse,
                                   std::move(filter), *cursor, "GET /v1/subscribe");
  respond(std::move(response));
}

// The subscribe message: {"type":"subscribe","kind":…,"stream":…,"zone":…,"after_seq":N}; each
// filter a string (comma-separated) or an array of strings; every member optional but `type`.
class WebSocketSubscription final : public WebSocketSubscriber {
 public:
  WebSocketSubscription(const HandlerContext& context, access::Identity identity)
      : context_(context), identity_(std::move(identity)) {}

  core::Result<Subscribed> subscribe(std::string_view message) override {
    const Json doc = Json::parse(message, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return invalid("the subscribe message is not a JSON object");
    const auto type = doc.find("type");
    if (type == doc.end() || !type->is_string() || *type != "subscribe") {
      return invalid(R"(expected {"type":"subscribe",...})");
    }
    hub::SubscriptionFilter filter;
    std::optional<core::Seq> after_seq;
    for (const auto& [name, value] : doc.items()) {
      if (name == "type") continue;
      if (name == "after_seq") {
        if (!value.is_number_unsigned()) return invalid("after_seq must be a whole number >= 0");
        after_seq = value.get<core::Seq>();
        continue;
      }
      std::vector<std::string>* list = name == "kind"     ? &filter.kinds
                                       : name == "stream" ? &filter.streams
                                       : name == "zone"   ? &filter.zones
                                                          : nullptr;
      if (list == nullptr) {
        // Echo the name only when it is plain text: it comes from the client.
        const bool printable =
            name.size() <= 32 &&
            std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f; });
        return invalid(printable ? "unknown member '" + name + "'" : "unknown member");
      }
      if (!read_list(value, *list)) {
        return invalid(name + " must be a string or an array of strings");
      }
    }
    if (auto valid = validate(context_, filter); !valid) {
      const auto& first = valid.error().details.front();
      return invalid(first.field + ": " + first.detail);
    }
    auto cursor = start_position(context_, after_seq);
    if (!cursor)
      return tl::unexpected(
          core::Error{core::ErrorCode::NotFound, shorten(cursor.error().message), {}});

    Subscribed out;
    out.events = std::make_shared<LiveStream>(context_, identity_, hub::SubscriberType::WebSocket,
                                              std::move(filter), *cursor, "GET /v1/ws");
    out.reply = to_json_text(Json{{"type", "subscribed"},
                                  {"after_seq", *cursor},
                                  {"head", context_.services.log.last_seq()}});
    return out;
  }

 private:
  static bool read_list(const Json& value, std::vector<std::string>& list) {
    if (value.is_string()) {
      list = hub::split_list(value.get<std::string>());
      return true;
    }
    if (!value.is_array() || value.size() > hub::kMaxFilterEntries) return false;
    for (const auto& item : value) {
      if (!item.is_string()) return false;
      list.push_back(item.get<std::string>());
    }
    return true;
  }

  static std::string shorten(std::string_view text) { return close_reason_text(text); }

  static core::Result<Subscribed> invalid(std::string reason) {
    return tl::unexpected(
        core::Error{core::ErrorCode::InvalidArgument, shorten(std::move(reason)), {}});
  }

  const HandlerContext& context_;
  const access::Identity identity_;
};

void open_websocket(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (!request.websocket_upgrade) {
    HttpResponse response =
        problem_response(426, "upgrade_required", "GET /v1/ws takes a WebSocket upgrade request");
    response.headers.emplace_back("Upgrade", "websocket");
    response.headers.emplace_back("Connection", "Upgrade");
    return respond(std::move(response));
  }
  HttpResponse response;
  response.status = 101;
  response.websocket = std::make_shared<WebSocketSubscription>(context, request.identity);
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
  router.add(
      Verb::get, "/v1/ws",
      [&context](HttpRequest& request, Respond respond) {
        open_websocket(context, request, std::move(respond));
      },
      RouteOptions{.authenticate = true, .token_in_query = true});
}

}  // namespace databroker::http
