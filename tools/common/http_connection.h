// One keep-alive HTTP/1.1 connection from a tool to a broker (Boost.Beast, blocking).
//
// request() reconnects once when the server closed the kept-alive connection since the last
// request (idle timeout, restart), so a long-running tool survives a broker's idle close.
// Transport failures throw (boost::system::system_error); HTTP errors are answers.
//
// Not thread-safe: one connection per thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

namespace databroker::tools {

class HttpConnection {
 public:
  // Connects to host:port at once; throws when nothing listens.
  HttpConnection(std::string host, unsigned short port);

  // Sends one request; `key` becomes `Authorization: Bearer`, `content_type` is set when the
  // body is not empty.
  boost::beast::http::response<boost::beast::http::string_body> request(
      boost::beast::http::verb verb, const std::string& target, const std::string& key,
      std::string body, const std::string& content_type = "application/json");

 private:
  void connect();

  std::string host_;
  unsigned short port_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace databroker::tools
