// One WebSocket connection (GET /v1/ws), handed over by the HTTP session after the dispatcher
// authenticated the upgrade request.
//
// Protocol: the server completes the handshake, then waits up to `http.header_timeout` for one
// text message from the client, the subscribe message (see live_handlers.cc):
//   {"type":"subscribe","kind":"noise","stream":["gent-*"],"zone":"centrum*","after_seq":41}
// It answers {"type":"subscribed","after_seq":41,"head":57} and then sends one text message per
// reading, {"type":"reading","seq":42,"reading":{...}}, through the caller's view, resumed from
// the log exactly like SSE. Later client messages are ignored. The server pings an idle
// connection (every half of 2 × `http.sse_heartbeat`) and closes it when no pong comes back.
// Close codes: 1001 server stopping, 1011 log unreadable, 4400 invalid subscribe message, 4401
// key revoked, 4408 no subscribe message in time, 4410 behind retention (live_format.h).
//
// Like SSE, at most one write is pending and the log is not read while it is, so a slow consumer
// costs one batch of memory; wake-ups from the ingest committer only post while
// ServerState::wake_open, and hold the session weakly.
//
// Threading: runs on the connection's strand; start_websocket_session is called on it by the
// HTTP session.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>

#include "adapters/http/exchange.h"
#include "adapters/http/server_state.h"

namespace databroker::http {

// Takes over `stream` (the connection, counted in open connections when `counted`) and answers
// the upgrade `request`.
void start_websocket_session(boost::beast::tcp_stream stream,
                             boost::beast::http::request<boost::beast::http::string_body> request,
                             std::shared_ptr<ServerState> state,
                             std::shared_ptr<WebSocketSubscriber> subscriber, bool counted);

}  // namespace databroker::http
