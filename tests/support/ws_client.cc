#include "tests/support/ws_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

namespace databroker::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using Clock = std::chrono::steady_clock;

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  std::deque<std::string> messages;
  unsigned status = 0;
  bool open = false;
  bool closed = false;

  // Runs handlers until `done` or the deadline.
  template <class Done>
  void run_until(Done done, Clock::time_point deadline) {
    while (!done() && Clock::now() < deadline) {
      ioc.restart();
      ioc.run_one_for(deadline - Clock::now());
    }
  }

  void start_read() {
    ws.async_read(buffer, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        closed = true;
        return;
      }
      messages.push_back(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
      start_read();
    });
  }
};

WsClient::WsClient(std::uint16_t port, const std::string& target, const HeaderList& headers)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  beast::error_code connect_ec;
  bool connected = false;
  beast::get_lowest_layer(s.ws).async_connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        connect_ec = ec;
        connected = true;
      });
  s.run_until([&] { return connected; }, deadline);
  if (!connected || connect_ec) return;

  s.ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& request) {
    for (const auto& [name, value] : headers) request.set(name, value);
  }));
  websocket::response_type response;
  bool handshaken = false;
  beast::error_code handshake_ec;
  s.ws.async_handshake(response, "127.0.0.1:" + std::to_string(port), target,
                       [&](beast::error_code ec) {
                         handshake_ec = ec;
                         handshaken = true;
                       });
  s.run_until([&] { return handshaken; }, deadline);
  s.status = response.result_int();
  if (!handshaken || handshake_ec) return;
  s.open = true;
  s.start_read();
}

WsClient::~WsClient() = default;

bool WsClient::is_open() const { return impl_->open && !impl_->closed; }
unsigned WsClient::handshake_status() const { return impl_->status; }

bool WsClient::send(std::string_view text) {
  Impl& s = *impl_;
  if (!is_open()) return false;
  bool written = false;
  beast::error_code write_ec;
  s.ws.text(true);
  s.ws.async_write(net::buffer(text.data(), text.size()), [&](beast::error_code ec, std::size_t) {
    write_ec = ec;
    written = true;
  });
  s.run_until([&] { return written; }, Clock::now() + std::chrono::seconds(10));
  return written && !write_ec;
}

std::optional<std::string> WsClient::next(std::chrono::milliseconds wait) {
  Impl& s = *impl_;
  if (!s.open) return std::nullopt;
  s.run_until([&] { return !s.messages.empty() || s.closed; }, Clock::now() + wait);
  if (s.messages.empty()) return std::nullopt;
  std::string message = std::move(s.messages.front());
  s.messages.pop_front();
  return message;
}

bool WsClient::wait_closed(std::chrono::milliseconds wait) {
  Impl& s = *impl_;
  if (!s.open) return true;
  const auto deadline = Clock::now() + wait;
  s.run_until(
      [&] {
        s.messages.clear();
        return s.closed;
      },
      deadline);
  return s.closed;
}

std::uint16_t WsClient::close_code() const { return impl_->ws.reason().code; }
std::string WsClient::close_reason() const {
  const auto& reason = impl_->ws.reason().reason;
  return std::string(reason.data(), reason.size());
}

}  // namespace databroker::testing
