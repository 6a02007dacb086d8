#include "tests/support/http_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <sstream>
#include <stdexcept>

namespace databroker::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void set_timeouts(tcp::socket& socket, int seconds) {
  timeval tv{};
  tv.tv_sec = seconds;
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

std::string HttpReply::header(std::string_view name) const {
  const auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool HttpReply::has_header(std::string_view name) const {
  return headers.find(lower(name)) != headers.end();
}

struct RawConnection::Impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
};

RawConnection::RawConnection(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec)
    throw std::runtime_error("cannot connect to port " + std::to_string(port) + ": " +
                             ec.message());
  set_timeouts(impl_->socket, 10);
}

RawConnection::~RawConnection() {
  beast::error_code ignored;
  impl_->socket.close(ignored);
}

bool RawConnection::send(std::string_view bytes) {
  beast::error_code ec;
  net::write(impl_->socket, net::buffer(bytes.data(), bytes.size()), ec);
  return !ec;
}

HttpReply RawConnection::read_reply() {
  HttpReply reply;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::error_code ec;
  bhttp::read(impl_->socket, impl_->buffer, parser, ec);
  if (ec) {
    reply.error = ec.message();
    return reply;
  }
  const auto& message = parser.get();
  reply.status = message.result_int();
  for (const auto& field : message) {
    reply.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  }
  reply.body = message.body();
  reply.keep_alive = message.keep_alive();
  return reply;
}

bool RawConnection::closed_by_peer(int wait_ms) {
  set_timeouts(impl_->socket, std::max(1, wait_ms / 1000));
  char byte = 0;
  beast::error_code ec;
  // Anything the server still sends before closing is skipped.
  while (true) {
    impl_->socket.read_some(net::buffer(&byte, 1), ec);
    if (ec) break;
  }
  set_timeouts(impl_->socket, 10);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

HttpClient::HttpClient(std::uint16_t port) : port_(port) {}
HttpClient::~HttpClient() = default;

HttpReply HttpClient::request(std::string_view method, std::string_view target,
                              std::string_view body, const HeaderList& headers) {
  bhttp::request<bhttp::string_body> message;
  message.method_string(beast::string_view(method.data(), method.size()));
  message.target(beast::string_view(target.data(), target.size()));
  message.version(11);
  message.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port_));
  for (const auto& [name, value] : headers) message.set(name, value);
  message.body() = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT") message.prepare_payload();
  std::string bytes;
  {
    std::ostringstream out;
    out << message;
    bytes = out.str();
  }
  // One retry on a fresh connection: the server may have closed an idle keep-alive connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = connection_ == nullptr;
    if (fresh) connection_ = std::make_unique<RawConnection>(port_);
    HttpReply reply;
    if (connection_->send(bytes)) reply = connection_->read_reply();
    if (reply.status != 0) {
      if (!reply.keep_alive) connection_.reset();
      return reply;
    }
    connection_.reset();
    if (fresh) return reply;
  }
  return HttpReply{};
}

HttpReply HttpClient::post(std::string_view target, std::string_view body,
                           const HeaderList& headers) {
  HeaderList all = headers;
  const bool has_type = std::any_of(all.begin(), all.end(), [](const auto& header) {
    return lower(header.first) == "content-type";
  });
  if (!has_type) all.emplace_back("Content-Type", "application/json");
  return request("POST", target, body, all);
}

HeaderList bearer(std::string_view key) {
  return {{"Authorization", "Bearer " + std::string(key)}};
}

}  // namespace databroker::testing
