// The listener: accepts connections and enforces the connection cap.
//
// Each accepted socket gets its own strand. Over `max_connections` open connections a new one is
// counted as refused and answered 503 (Connection: close) without reading its request. Accept
// errors other than shutdown (e.g. out of file descriptors) are logged, rate-limited, and retried
// after a short pause instead of spinning or giving up.
//
// Threading: open() from the controlling thread before the io_context runs; the accept loop on
// the acceptor's strand; stop() from any thread (it posts the close to that strand).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "adapters/http/server_state.h"
#include "broker/core/logging.h"
#include "broker/core/result.h"

namespace databroker::http {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& ioc, std::shared_ptr<ServerState> state);

  // Binds and listens; returns the bound port. Unavailable when the address cannot be used.
  core::Result<std::uint16_t> open(const std::string& host, std::uint16_t port);
  void run();
  void stop();

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  const std::shared_ptr<ServerState> state_;
  core::RateLimitedLog accept_errors_{std::chrono::seconds(10)};
};

}  // namespace databroker::http
