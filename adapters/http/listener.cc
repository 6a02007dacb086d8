#include "adapters/http/listener.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>

#include "adapters/http/session.h"

namespace databroker::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Listener::Listener(net::io_context& ioc, std::shared_ptr<ServerState> state)
    : ioc_(ioc),
      acceptor_(net::make_strand(ioc)),
      retry_timer_(acceptor_.get_executor()),
      state_(std::move(state)) {}

core::Result<std::uint16_t> Listener::open(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) {
    return core::fail(core::ErrorCode::InvalidArgument, "invalid listen address '" + host + "'");
  }
  const tcp::endpoint endpoint(address, port);
  const auto failed = [&](std::string_view what) {
    return core::fail(core::ErrorCode::Unavailable, "cannot " + std::string(what) + " " + host +
                                                        ":" + std::to_string(port) + ": " +
                                                        ec.message());
  };
  if (acceptor_.open(endpoint.protocol(), ec); ec) return failed("open");
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) return failed("set");
  if (acceptor_.bind(endpoint, ec); ec) return failed("bind");
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) return failed("listen");
  const auto bound = acceptor_.local_endpoint(ec);
  if (ec) return failed("query");
  return bound.port();
}

void Listener::run() {
  net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void Listener::stop() {
  net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->retry_timer_.cancel();
    self->acceptor_.close(ignored);
  });
}

void Listener::do_accept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(
      net::make_strand(ioc_),
      [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        self->on_accept(ec, std::move(socket));
      });
}

void Listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    accept_errors_.warn("http", "accept", "accept failed: " + ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds(50));
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) self->do_accept();
    });
    return;
  }
  // Only this strand opens connections, so the check cannot race another accept; closes only
  // lower the count.
  if (state_->metrics.open_connections() >=
      static_cast<std::int64_t>(state_->config.max_connections)) {
    state_->metrics.connection_refused();
    refuse_connection(std::move(socket), state_);
  } else {
    state_->metrics.connection_opened();
    start_session(std::move(socket), state_);
  }
  do_accept();
}

}  // namespace databroker::http
