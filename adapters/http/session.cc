// The Beast session. This file and http_client.cc (tests) are the only ones that instantiate
// Beast's HTTP read and write templates; keep it that way, they are slow to compile.
#include "adapters/http/session.h"

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "adapters/http/live_format.h"
#include "adapters/http/problem.h"
#include "adapters/http/websocket_session.h"
#include "broker/core/check.h"
#include "broker/core/logging.h"

namespace databroker::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kIdleReadBytes = 4096;
// How long a closing connection drains what the client still sends before the socket closes.
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// How often an SSE stream reads the log when no commit signal wakes it.
constexpr std::chrono::milliseconds kStreamPollInterval{500};
// How long an idle SSE stream waits before reading again without a wake-up: the bound on how
// late a revoked key is noticed.
constexpr std::chrono::milliseconds kStreamRecheckInterval{1000};
constexpr std::string_view kHeartbeat = ": heartbeat\n\n";

// One chunk of a chunked body (RFC 9112 §7.1).
std::string chunk(std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out(size, static_cast<std::size_t>(n));
  out.append(data);
  out.append("\r\n");
  return out;
}

// Room left at the front of an event batch for its chunk-size line, so a batch is framed in
// place instead of copied (it can be tens of kilobytes, and is built once per batch per
// subscriber).
constexpr std::size_t kChunkHeadRoom = 18;  // 16 hex digits and CRLF

// Frames `text`, which starts with kChunkHeadRoom bytes of room, as one chunk; returns where the
// chunk starts within `text`.
std::size_t frame_chunk_in_place(std::string& text) {
  const std::size_t size = text.size() - kChunkHeadRoom;
  char line[20];
  const int n = std::snprintf(line, sizeof line, "%zx\r\n", size);
  const std::size_t start = kChunkHeadRoom - static_cast<std::size_t>(n);
  text.replace(start, static_cast<std::size_t>(n), line, static_cast<std::size_t>(n));
  text.append("\r\n");
  return start;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string to_std(beast::string_view text) { return std::string(text.data(), text.size()); }

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<ServerState> state, bool counted)
      : stream_(std::move(socket)), state_(std::move(state)), counted_(counted) {}

  ~Session() {
    if (request_in_flight_) state_->in_flight.fetch_sub(1);
    if (streaming_) state_->metrics.sse_closed();
    if (counted_) state_->metrics.connection_closed();
  }

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::do_read_header, shared_from_this()));
  }

  void refuse() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      HttpResponse response =
          problem_response(503, "too_many_connections", "the server is at its connection limit");
      response.headers.emplace_back("Retry-After", "1");
      response.close = true;
      self->send(std::move(response));
    });
  }

 private:
  void do_read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(state_->config.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(state_->config.max_body_bytes);
    stream_.expires_after(state_->config.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::on_read_header, shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
        ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset) {
      return do_close();
    }
    if (ec == bhttp::error::header_limit) {
      return send_refusal(431, "header_too_large",
                          "the request header exceeds " +
                              std::to_string(state_->config.max_header_bytes) + " bytes");
    }
    if (ec == bhttp::error::body_limit) {
      // Beast checks Content-Length against the limit while it parses the header.
      return send_body_too_large();
    }
    if (ec) return send_refusal(400, "malformed_request", "the request is not valid HTTP/1.1");

    const auto& request = parser_->get();
    version_ = request.version();
    keep_alive_ = request.keep_alive();
    if (parser_->is_done()) return handle_request();
    if (iequals(to_std(request[bhttp::field::expect]), "100-continue") && version_ >= 11) {
      return net::async_write(
          stream_, net::buffer(kContinue.data(), kContinue.size()),
          beast::bind_front_handler(&Session::on_continue_written, shared_from_this()));
    }
    do_read_body();
  }

  void on_continue_written(beast::error_code ec, std::size_t) {
    if (ec) return do_close();
    do_read_body();
  }

  void do_read_body() {
    stream_.expires_after(state_->config.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read_body, shared_from_this()));
  }

  void on_read_body(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::body_limit) return send_body_too_large();
    if (ec == beast::error::timeout || ec == bhttp::error::end_of_stream ||
        ec == bhttp::error::partial_message || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
      return do_close();
    }
    if (ec) return send_refusal(400, "malformed_request", "the request body is not valid");
    handle_request();
  }

  void handle_request() {
    // Answering may take as long as the ingest commit; no read is pending meanwhile.
    stream_.expires_never();
    request_in_flight_ = true;
    state_->in_flight.fetch_add(1);

    auto& message = parser_->get();
    HttpRequest request;
    request.method = message.method();
    request.target = to_std(message.target());
    request.content_type = to_std(message[bhttp::field::content_type]);
    request.authorization = to_std(message[bhttp::field::authorization]);
    request.api_key = to_std(message["X-API-Key"]);
    request.last_event_id = to_std(message["Last-Event-ID"]);
    request.accept = to_std(message[bhttp::field::accept]);
    request.websocket_upgrade = beast::websocket::is_upgrade(message);
    request.remote_address = remote_address();
    if (request.websocket_upgrade) {
      upgrade_request_.emplace(parser_->release());  // the handshake needs it whole
    } else {
      request.body = std::move(message.body());
    }
    parser_.reset();
    state_->dispatcher.dispatch(std::move(request), make_respond());
  }

  // Looked up once per connection; a socket whose peer is gone has none (empty).
  const std::string& remote_address() {
    if (!remote_address_) {
      beast::error_code ec;
      const auto endpoint = stream_.socket().remote_endpoint(ec);
      remote_address_ = ec ? std::string() : endpoint.address().to_string();
    }
    return *remote_address_;
  }

  // The answer may come from another thread (the ingest committer), possibly after the server
  // stopped; see Lifeline in server_state.h for why this holds the io_context's owner.
  Respond make_respond() {
    struct Pending {
      std::shared_ptr<Lifeline> lifeline;  // declared first: destroyed after the session
      std::shared_ptr<Session> session;
    };
    auto pending = std::make_shared<Pending>();
    pending->lifeline = state_->lifeline.lock();
    DATABROKER_CHECK(pending->lifeline != nullptr, "session running without its io_context");
    pending->session = shared_from_this();
    return [pending](HttpResponse response) {
      std::shared_ptr<Session> session;
      std::lock_guard lock(pending->lifeline->mutex);
      session = std::move(pending->session);
      if (!session || !pending->lifeline->alive) return;
      auto executor = session->stream_.get_executor();
      net::post(executor, [session = std::move(session), response = std::move(response)]() mutable {
        session->send(std::move(response));
      });
    };
  }

  void send_body_too_large() {
    send_refusal(
        413, "payload_too_large",
        "the request body exceeds " + std::to_string(state_->config.max_body_bytes) + " bytes");
  }

  // An answer to a request that never reached the dispatcher; the connection closes after it.
  void send_refusal(unsigned status, std::string_view type, const std::string& detail) {
    // The request line is parsed first, so the method is known unless the line itself was bad.
    const Verb method = parser_ ? parser_->get().method() : Verb::unknown;
    state_->metrics.record_request(method, kOtherRoute, status, std::chrono::nanoseconds(0));
    HttpResponse response = problem_response(status, type, detail);
    response.close = true;
    send(std::move(response));
  }

  // Every answer goes out through here. Nothing may escape a completion handler: should building
  // the Beast response fail (a header value Beast refuses), a fixed 500 goes out instead.
  void send(HttpResponse answer) {
    try {
      write(std::move(answer));
    } catch (const std::exception& e) {
      core::log_error("http", std::string("cannot send a response: ") + e.what());
      HttpResponse fallback;
      fallback.status = 500;
      fallback.content_type = "application/problem+json";
      fallback.body =
          R"({"type":"urn:databroker:problem:internal","title":"Internal Server Error",)"
          R"("status":500,"detail":"internal error"})";
      fallback.close = true;
      write(std::move(fallback));
    }
  }

  void write(HttpResponse answer) {
    if (answer.events && answer.status == 200) return start_stream(std::move(answer));
    if (answer.websocket && answer.status == 101 && upgrade_request_) {
      return start_websocket(std::move(answer));
    }
    upgrade_request_.reset();
    DATABROKER_CHECK(!answer.websocket, "a WebSocket answer to a request that is no upgrade");
    response_.emplace(static_cast<bhttp::status>(answer.status), version_);
    auto& response = *response_;
    response.set(bhttp::field::server, "databroker");
    if (!answer.content_type.empty()) response.set(bhttp::field::content_type, answer.content_type);
    for (const auto& [name, value] : answer.headers) response.set(name, value);
    response.body() = std::move(answer.body);
    // While the server stops, answers close their connection so that clients reconnect elsewhere.
    close_after_write_ = answer.close || !keep_alive_ || state_->stopping.load();
    response.keep_alive(!close_after_write_);
    // A 204 carries neither a body nor Content-Length (RFC 9110 §8.6).
    if (answer.status != 204) response.prepare_payload();
    stream_.expires_after(state_->config.body_timeout);
    bhttp::async_write(stream_, response,
                       beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    response_.reset();
    if (request_in_flight_) {
      request_in_flight_ = false;
      state_->in_flight.fetch_sub(1);
    }
    if (ec) return do_close();
    if (close_after_write_) return do_linger();
    do_wait_idle();
  }

  void do_wait_idle() {
    if (state_->stopping.load()) return do_close();
    if (buffer_.size() > 0) return do_read_header();  // the next request is already here
    stream_.expires_after(state_->config.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kIdleReadBytes),
                            beast::bind_front_handler(&Session::on_idle_data, shared_from_this()));
  }

  void on_idle_data(beast::error_code ec, std::size_t bytes) {
    if (ec) return do_close();
    buffer_.commit(bytes);
    do_read_header();
  }

  void do_linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    stream_.expires_after(kLingerTime);  // a deadline for the whole drain, not per read
    do_drain();
  }

  void do_drain() {
    stream_.async_read_some(buffer_.prepare(kIdleReadBytes),
                            beast::bind_front_handler(&Session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, std::size_t) {
    if (ec) return do_close();
    do_drain();
  }

  // The connection becomes a WebSocket: the WebSocket session takes the socket, the upgrade
  // request and the connection's place in the count; this session ends with nothing pending.
  void start_websocket(HttpResponse answer) {
    if (request_in_flight_) {
      request_in_flight_ = false;
      state_->in_flight.fetch_sub(1);
    }
    const bool counted = std::exchange(counted_, false);
    start_websocket_session(std::move(stream_), std::move(*upgrade_request_), state_,
                            std::move(answer.websocket), counted);
    upgrade_request_.reset();
  }

  // Streaming (SSE). The head goes out at once; then the loop next → write → next, or, when
  // caught up, wait for a wake-up (commit signal) or the timer (heartbeat, or polling without a
  // signal). At most one write is pending and the log is not read while it is: a slow consumer
  // costs one batch of memory. A read runs alongside only to notice the client leaving.
  void start_stream(HttpResponse answer) {
    events_ = std::move(answer.events);
    streaming_ = true;
    state_->metrics.sse_opened();
    // A stream is not a request in flight: stop() must not wait for it to end.
    if (request_in_flight_) {
      request_in_flight_ = false;
      state_->in_flight.fetch_sub(1);
    }
    stream_.expires_never();
    chunked_ = version_ >= 11;
    timer_.emplace(stream_.get_executor());

    // Runs on the ingest committer: post only, only while the io_context runs (see ServerState),
    // and hold the session weakly so a wake-up never keeps a closed connection alive.
    subscription_ = events_->watch(
        [state = state_, weak = weak_from_this(), executor = stream_.get_executor()] {
          std::lock_guard lock(state->wake_mutex);
          if (!state->wake_open) return;
          net::post(executor, [weak] {
            if (auto self = weak.lock()) self->on_stream_wake();
          });
        });

    std::string head = "HTTP/1." + std::to_string(version_ % 10) + " 200 OK\r\n";
    head += "Server: databroker\r\nContent-Type: " + answer.content_type + "\r\n";
    for (const auto& [name, value] : answer.headers) head += name + ": " + value + "\r\n";
    head += chunked_ ? "Transfer-Encoding: chunked\r\n" : "Connection: close\r\n";
    head += "\r\n";
    out_ = std::move(head);
    do_stream_write();
    do_watch_peer();
  }

  void do_stream_next() {
    if (closed_) return;
    if (state_->stopping.load()) return finish_stream();
    LiveBatch batch = events_->next_events();
    if (!batch.events.empty() || batch.end) {
      out_.assign(chunked_ ? kChunkHeadRoom : 0, ' ');
      append_sse_events(out_, batch);
      state_->metrics.sse_events_sent(batch.events.size());
      if (batch.end) {
        // Tell the client why before the stream ends (an EventSource reconnects, and is then
        // refused with the same reason: 410 or 401).
        out_ += sse_end_event(*batch.end);
        finishing_after_write_ = true;
      }
      out_start_ = chunked_ ? frame_chunk_in_place(out_) : 0;
      return do_stream_write();
    }
    if (batch.more) {
      // Nothing visible in a scanned stretch, and more to scan: go on, letting others run first.
      return net::post(stream_.get_executor(),
                       beast::bind_front_handler(&Session::do_stream_next, shared_from_this()));
    }
    const auto heartbeat = state_->config.sse_heartbeat;
    const auto silent = std::chrono::steady_clock::now() - last_stream_write_;
    if (silent >= heartbeat) {
      out_ = chunked_ ? chunk(kHeartbeat) : std::string(kHeartbeat);
      return do_stream_write();
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(heartbeat - silent);
    wait = std::min(wait, subscription_.is_active() ? kStreamRecheckInterval : kStreamPollInterval);
    do_stream_wait(wait);
  }

  void do_stream_wait(std::chrono::milliseconds wait) {
    stream_waiting_ = true;
    const std::uint64_t id = ++wait_id_;
    timer_->expires_after(wait);
    timer_->async_wait(
        [self = shared_from_this(), id](beast::error_code ec) { self->on_stream_timer(ec, id); });
  }

  void on_stream_timer(beast::error_code ec, std::uint64_t id) {
    // A cancelled or superseded wait: the wake-up that cancelled it already moved on.
    if (ec || id != wait_id_ || !stream_waiting_ || closed_) return;
    stream_waiting_ = false;
    do_stream_next();
  }

  void on_stream_wake() {
    // While a write is pending the wake-up is not needed: the loop reads the log after it.
    if (!stream_waiting_ || closed_) return;
    stream_waiting_ = false;
    timer_->cancel();
    do_stream_next();
  }

  void do_stream_write() {
    net::async_write(stream_, net::buffer(out_.data() + out_start_, out_.size() - out_start_),
                     beast::bind_front_handler(&Session::on_stream_write, shared_from_this()));
  }

  void on_stream_write(beast::error_code ec, std::size_t) {
    out_.clear();
    out_start_ = 0;
    if (ec || closed_) return close_stream();
    last_stream_write_ = std::chrono::steady_clock::now();
    if (finishing_) return close_stream();
    if (finishing_after_write_) return finish_stream();
    do_stream_next();
  }

  // The server stops or the log cannot be read: end the body properly, then close.
  void finish_stream() {
    finishing_ = true;
    if (!chunked_) return close_stream();
    out_ = "0\r\n\r\n";
    do_stream_write();
  }

  void close_stream() {
    if (closed_) return;
    closed_ = true;
    subscription_.reset();
    if (timer_) timer_->cancel();
    do_close();
  }

  void do_watch_peer() {
    stream_.async_read_some(net::buffer(peer_bytes_),
                            beast::bind_front_handler(&Session::on_peer_data, shared_from_this()));
  }

  void on_peer_data(beast::error_code ec, std::size_t) {
    if (ec) return close_stream();  // the client left (or we closed)
    do_watch_peer();                // a client has nothing to say on a stream; ignore it
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const std::shared_ptr<ServerState> state_;
  bool counted_;  // handed to the WebSocket session on an upgrade
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::request<bhttp::string_body>> upgrade_request_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  std::optional<std::string> remote_address_;  // see remote_address()
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  bool request_in_flight_ = false;

  // Streaming state, touched on the strand only.
  std::shared_ptr<EventStream> events_;
  hub::CommitSignal::Subscription subscription_;
  std::optional<net::steady_timer> timer_;
  std::string out_;  // the chunk being written, from out_start_
  std::size_t out_start_ = 0;
  std::array<char, 512> peer_bytes_{};
  std::chrono::steady_clock::time_point last_stream_write_{};
  std::uint64_t wait_id_ = 0;
  bool streaming_ = false;
  bool chunked_ = true;
  bool stream_waiting_ = false;
  bool finishing_ = false;
  bool finishing_after_write_ = false;  // the last events went out: end the body next
  bool closed_ = false;
};

}  // namespace

void start_session(tcp::socket socket, std::shared_ptr<ServerState> state) {
  std::make_shared<Session>(std::move(socket), std::move(state), /*counted=*/true)->run();
}

void refuse_connection(tcp::socket socket, std::shared_ptr<ServerState> state) {
  std::make_shared<Session>(std::move(socket), std::move(state), /*counted=*/false)->refuse();
}

}  // namespace databroker::http
