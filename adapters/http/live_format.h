// How live events look on the wire, for both live transports. Beast-free, so it is unit-tested
// as plain functions.
//
// Server-Sent Events (GET /v1/subscribe), one event per reading:
//   id: 42
//   event: reading
//   data: {"seq":42,"sensor":"gent-aq-001",...}     (the reading through the caller's view)
// and, before the server ends a stream itself, one `event: error` whose data is the end's JSON.
//
// WebSocket (GET /v1/ws), one text message per reading:
//   {"type":"reading","seq":42,"reading":{...}}
// and a close frame whose code says why the server ended it (ws_close_code).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "adapters/http/exchange.h"

namespace databroker::http {

// WebSocket close codes of our own (4000–4999 are for applications, RFC 6455 §7.4.2), modelled
// on the HTTP status a request would have had.
inline constexpr std::uint16_t kCloseInvalidSubscription = 4400;  // bad subscribe message
inline constexpr std::uint16_t kCloseKeyRevoked = 4401;
inline constexpr std::uint16_t kCloseBehindRetention = 4410;
inline constexpr std::uint16_t kCloseSubscribeTimeout = 4408;  // no subscribe message in time

// Appends the SSE text of every event of `batch` to `out`.
void append_sse_events(std::string& out, const LiveBatch& batch);
// The SSE `event: error` that announces `end`.
std::string sse_end_event(const StreamEnd& end);
// {"type":"behind_retention","detail":"...","first_available":12}
std::string stream_end_json(const StreamEnd& end);
// The snake_case name of an end's reason.
std::string_view to_string(StreamEnd::Reason reason);

// `text` cut to what a WebSocket close frame can carry (123 bytes, RFC 6455 §5.5), at a UTF-8
// character boundary so the reason stays valid UTF-8.
std::string close_reason_text(std::string_view text);

// One WebSocket message for one event.
std::string websocket_event(const hub::Event& event);
// The close code for an end: 4410, 4401, or 1011 (internal error) for a log error.
std::uint16_t websocket_close_code(const StreamEnd& end);

}  // namespace databroker::http
