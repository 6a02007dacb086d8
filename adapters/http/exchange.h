// The request and response as handlers see them: plain values, no Beast types beyond the verb.
//
// The session turns a parsed Beast request into an HttpRequest and an HttpResponse back into a
// Beast response, so handlers, the router and the dispatcher compile without Beast's heavy
// templates and can be unit-tested as ordinary functions.
//
// `Respond` is how a handler answers: exactly once, from any thread (the ingest completion calls
// it on the committer thread); the session posts the answer back to its own strand. Calls after
// the first are ignored.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>  // boost/core/detail/string_view.hpp uses std::ostream without including it
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/access/identity.h"
#include "broker/core/result.h"
#include "broker/hub/commit_signal.h"
#include "broker/hub/follower.h"

namespace databroker::http {

namespace beast_http = boost::beast::http;
using Verb = beast_http::verb;

using NameValue = std::pair<std::string, std::string>;

struct HttpRequest {
  Verb method = Verb::get;
  std::string target;  // as received: path and query, percent-encoded; may hold secrets
  std::string content_type;
  std::string authorization;
  std::string api_key;             // X-API-Key
  std::string last_event_id;       // Last-Event-ID (SSE resume)
  std::string accept;              // Accept (content negotiation, negotiation.h)
  bool websocket_upgrade = false;  // a valid WebSocket upgrade request (RFC 6455 §4.2.1)
  std::string body;
  // The peer's IP address, as the connection saw it (a reverse proxy's, behind one): the rate
  // limit of anonymous callers is per address. Empty when unknown.
  std::string remote_address;

  // Filled by the dispatcher before the handler runs.
  std::vector<NameValue> path_params;  // decoded, by the names of the route pattern
  std::vector<NameValue> query;        // decoded ('+' stays '+'), in order, names unique
  access::Identity identity;

  // The value of a path parameter of the matched route ("" when the route has none of that name).
  std::string_view param(std::string_view name) const;
  // A query parameter, if given.
  std::optional<std::string_view> query_param(std::string_view name) const;
};

// Why the server ends a live stream (SSE or WebSocket) itself.
struct StreamEnd {
  enum class Reason {
    BehindRetention,  // retention removed readings the subscriber had not received
    KeyRevoked,       // the subscriber's key was revoked
    LogError,         // the log could not be read
  };
  Reason reason = Reason::LogError;
  std::string detail;             // for the client; never a secret
  core::Seq first_available = 0;  // BehindRetention: the oldest seq still stored
};

// The next events of a live stream, in seq order, each encoded through the subscriber's view.
struct LiveBatch {
  std::vector<hub::Event> events;
  // The log may hold more right now (a read stopped at its limit or scan budget): ask again at
  // once instead of waiting for the next commit.
  bool more = false;
  // Set: after `events`, the stream ends (the session tells the client why, then closes).
  std::optional<StreamEnd> end;
};

// The body of a live response (SSE, or WebSocket after its subscribe message), produced over
// time by following the log.
//
// The session loops: next_events(); write what it returned; when it returned nothing and `more`
// is false, wait for `watch`'s wake-up, the heartbeat, or the recheck interval (at most a
// second, so a revoked key or a tightened policy is noticed while idle), then ask again. A write
// in progress is never overlapped by a read, so a slow consumer is read for no more than one
// batch (backpressure by construction); a consumer that falls behind the in-memory ring reads
// the log at its own pace.
//
// next_events() runs on the connection's strand only (one call at a time); watch() once, at the
// start, on the strand. The stream is owned by its session.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // The next events after the stream's cursor (one bounded read).
  virtual LiveBatch next_events() = 0;
  // Calls `wake` (from any thread; it must only post) whenever the log may hold more, until the
  // returned Subscription is destroyed. An inactive Subscription means no wake-ups: the session
  // then polls.
  virtual hub::CommitSignal::Subscription watch(std::function<void()> wake) = 0;
};

// A WebSocket subscription waiting for its subscribe message (GET /v1/ws).
class WebSocketSubscriber {
 public:
  virtual ~WebSocketSubscriber() = default;
  struct Subscribed {
    std::shared_ptr<EventStream> events;
    std::string reply;  // the text message that confirms the subscription
  };
  // Parses and checks the client's subscribe message (untrusted text). The error's message is
  // the close reason sent to the client (at most 123 bytes).
  virtual core::Result<Subscribed> subscribe(std::string_view message) = 0;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type;  // empty only for bodiless responses (204)
  std::string body;
  std::vector<NameValue> headers;  // extra headers (Allow, Retry-After, WWW-Authenticate, ...)
  bool close = false;              // close the connection after this response
  // When set, the response is a stream: `status` 200, `content_type` and `headers` are the head,
  // `body` is ignored, and the session writes `events` as Server-Sent Events until either side
  // closes.
  std::shared_ptr<EventStream> events;
  // When set (and the request was a WebSocket upgrade), the session completes the WebSocket
  // handshake instead of answering, and hands the connection to this subscriber.
  std::shared_ptr<WebSocketSubscriber> websocket;
};

using Respond = std::function<void(HttpResponse)>;

// A JSON body with status `status`.
HttpResponse json_response(unsigned status, std::string body);

}  // namespace databroker::http
