// The WebSocket session. This file is the only one that instantiates Beast's WebSocket
// templates; keep it that way, they are slow to compile.
#include "adapters/http/websocket_session.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http/live_format.h"
#include "broker/core/logging.h"

namespace databroker::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;

namespace {

// How long an idle subscription waits before reading again without a wake-up: the bound on how
// late a revoked key or a stopping server is noticed.
constexpr std::chrono::milliseconds kRecheckInterval{1000};
// Without a commit signal (tests), the log is polled this often.
constexpr std::chrono::milliseconds kPollInterval{500};
// The subscribe message is small; anything larger is refused by Beast with close code 1009.
constexpr std::size_t kMaxClientMessage = 16 * 1024;

class WebSocketSession : public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(beast::tcp_stream&& stream, bhttp::request<bhttp::string_body>&& request,
                   std::shared_ptr<ServerState> state,
                   std::shared_ptr<WebSocketSubscriber> subscriber, bool counted)
      : ws_(std::move(stream)),
        request_(std::move(request)),
        state_(std::move(state)),
        subscriber_(std::move(subscriber)),
        counted_(counted),
        timer_(ws_.get_executor()) {}

  ~WebSocketSession() {
    if (subscribed_) state_->metrics.websocket_closed();
    if (counted_) state_->metrics.connection_closed();
  }

  void run() {
    // The WebSocket stream keeps its own timeouts; the TCP layer's would cut a quiet
    // subscription.
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = state_->config.header_timeout;
    timeouts.idle_timeout = 2 * state_->config.sse_heartbeat;
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(bhttp::field::server, "databroker");
    }));
    ws_.read_message_max(kMaxClientMessage);
    ws_.async_accept(request_,
                     beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec) {
    request_ = {};
    if (ec) return;  // a failed handshake: Beast answered 400 where it could
    timer_.expires_after(state_->config.header_timeout);
    waiting_ = true;
    const std::uint64_t id = ++wait_id_;
    timer_.async_wait([self = shared_from_this(), id](beast::error_code timer_ec) {
      if (timer_ec || id != self->wait_id_ || self->subscribed_ || self->closing_) return;
      self->close(kCloseSubscribeTimeout, "no subscribe message in time");
    });
    do_read();
  }

  void do_read() {
    ws_.async_read(read_buffer_,
                   beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return end();  // the client closed, left, or broke the protocol
    std::string message = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    if (subscribed_ || closing_) return do_read();  // later messages are ignored
    if (!ws_.got_text()) {
      return close(kCloseInvalidSubscription, "send the subscribe message as a text message");
    }
    auto subscribed = subscriber_->subscribe(message);
    if (!subscribed) {
      const bool behind = subscribed.error().code == core::ErrorCode::NotFound;
      return close(behind ? kCloseBehindRetention : kCloseInvalidSubscription,
                   subscribed.error().message);
    }
    subscribed_ = true;
    state_->metrics.websocket_opened();
    waiting_ = false;
    ++wait_id_;
    timer_.cancel();
    events_ = std::move(subscribed->events);
    subscription_ =
        events_->watch([state = state_, weak = weak_from_this(), executor = ws_.get_executor()] {
          std::lock_guard lock(state->wake_mutex);
          if (!state->wake_open) return;
          net::post(executor, [weak] {
            if (auto self = weak.lock()) self->on_wake();
          });
        });
    outbox_.push_back(std::move(subscribed->reply));
    do_write();
    do_read();  // keep a read pending: it answers pings and notices the client leaving
  }

  void do_next() {
    if (closing_) return;
    if (state_->stopping.load()) return close(websocket::close_code::going_away, "server stopping");
    LiveBatch batch = events_->next_events();
    for (const hub::Event& event : batch.events) outbox_.push_back(websocket_event(event));
    if (!batch.events.empty()) state_->metrics.websocket_events_sent(batch.events.size());
    pending_end_ = std::move(batch.end);
    if (!outbox_.empty()) return do_write();
    if (pending_end_) return close_for(*pending_end_);
    if (batch.more) {
      return net::post(ws_.get_executor(),
                       beast::bind_front_handler(&WebSocketSession::do_next, shared_from_this()));
    }
    wait(subscription_.is_active() ? kRecheckInterval : kPollInterval);
  }

  void wait(std::chrono::milliseconds duration) {
    waiting_ = true;
    const std::uint64_t id = ++wait_id_;
    timer_.expires_after(duration);
    timer_.async_wait([self = shared_from_this(), id](beast::error_code ec) {
      if (ec || id != self->wait_id_ || !self->waiting_ || self->closing_) return;
      self->waiting_ = false;
      self->do_next();
    });
  }

  void on_wake() {
    // While a write is pending the wake-up is not needed: the loop reads the log after it.
    if (!waiting_ || !subscribed_ || closing_) return;
    waiting_ = false;
    ++wait_id_;
    timer_.cancel();
    do_next();
  }

  void do_write() {
    ws_.text(true);
    ws_.async_write(net::buffer(outbox_[written_]),
                    beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return end();
    if (++written_ < outbox_.size()) return do_write();
    outbox_.clear();
    written_ = 0;
    if (pending_end_) return close_for(*pending_end_);
    do_next();
  }

  void close_for(const StreamEnd& end) {
    std::string reason = std::string(to_string(end.reason));
    if (end.reason == StreamEnd::Reason::BehindRetention) {
      reason += ": first_available " + std::to_string(end.first_available);
    }
    close(websocket_close_code(end), reason);
  }

  // Called only when no write is pending (a close frame is a write).
  void close(std::uint16_t code, std::string_view reason) {
    if (closing_) return;
    closing_ = true;
    end_subscription();
    ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(code),
                                            close_reason_text(reason)),
                    [self = shared_from_this()](beast::error_code) {
                      // The pending read ends with `closed` once the client answers.
                    });
  }

  void end() {
    closing_ = true;
    end_subscription();
  }

  void end_subscription() {
    subscription_.reset();
    waiting_ = false;
    ++wait_id_;
    timer_.cancel();
  }

  websocket::stream<beast::tcp_stream> ws_;
  bhttp::request<bhttp::string_body> request_;
  const std::shared_ptr<ServerState> state_;
  const std::shared_ptr<WebSocketSubscriber> subscriber_;
  const bool counted_;
  net::steady_timer timer_;
  beast::flat_buffer read_buffer_;
  std::shared_ptr<EventStream> events_;
  hub::CommitSignal::Subscription subscription_;
  std::vector<std::string> outbox_;  // messages of the batch being written, in order
  std::size_t written_ = 0;
  std::optional<StreamEnd> pending_end_;
  std::uint64_t wait_id_ = 0;
  bool waiting_ = false;
  bool subscribed_ = false;
  bool closing_ = false;
};

}  // namespace

void start_websocket_session(beast::tcp_stream stream, bhttp::request<bhttp::string_body> request,
                             std::shared_ptr<ServerState> state,
                             std::shared_ptr<WebSocketSubscriber> subscriber, bool counted) {
  std::make_shared<WebSocketSession>(std::move(stream), std::move(request), std::move(state),
                                     std::move(subscriber), counted)
      ->run();
}

}  // namespace databroker::http
