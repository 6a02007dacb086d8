// One HTTP/1.1 connection: read a request, dispatch it, write the answer, repeat (keep-alive).
//
// Each connection runs on its own strand and keeps itself alive through its pending operations
// (shared_from_this). Limits, in order: a header larger than max_header_bytes is 431; a
// Content-Length above max_body_bytes is 413 before any body is read; a body (also chunked) that
// grows past it is 413; the first header must arrive within header_timeout, a keep-alive
// connection may idle for idle_timeout and then has header_timeout for the header, a body has
// body_timeout. After an error response the connection is closed gracefully: our side is shut
// down and what the client still sends is drained for a moment, so it reads the answer rather
// than a reset. `Expect: 100-continue` is answered before the body is read.
//
// A response carrying an EventStream (SSE) turns the connection into a stream: the session writes
// the head, then the stream's events as chunks, reading the log again only after each write has
// completed, until the client leaves or the server stops. It no longer counts as in flight. A
// response carrying a WebSocketSubscriber to an upgrade request hands the connection to the
// WebSocket session (websocket_session.h).
//
// Threading: these functions are called by the listener; everything else runs on the
// connection's strand.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "adapters/http/server_state.h"

namespace databroker::http {

// Serves a freshly accepted connection (already counted in open connections).
void start_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state);

// Answers 503 (Connection: close) to a connection over the cap, without reading a request.
void refuse_connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<ServerState> state);

}  // namespace databroker::http
