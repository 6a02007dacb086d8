#include "tools/common/http_connection.h"

#include <utility>

namespace databroker::tools {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

HttpConnection::HttpConnection(std::string host, unsigned short port)
    : host_(std::move(host)), port_(port), stream_(io_) {
  connect();
}

void HttpConnection::connect() {
  beast::error_code ignored;
  stream_.socket().close(ignored);
  buffer_.clear();
  stream_.connect(tcp::endpoint(boost::asio::ip::make_address(host_), port_));
  connected_ = true;
}

http::response<http::string_body> HttpConnection::request(http::verb verb,
                                                          const std::string& target,
                                                          const std::string& key, std::string body,
                                                          const std::string& content_type) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host_);
  if (!key.empty()) req.set(http::field::authorization, "Bearer " + key);
  if (!body.empty()) req.set(http::field::content_type, content_type);
  req.body() = std::move(body);
  req.prepare_payload();
  for (int attempt = 0;; ++attempt) {
    if (!connected_) connect();
    beast::error_code ec;
    http::write(stream_, req, ec);
    http::response<http::string_body> res;
    if (!ec) http::read(stream_, buffer_, res, ec);
    if (!ec) {
      if (!res.keep_alive()) connected_ = false;
      return res;
    }
    connected_ = false;
    // A kept-alive connection the server has closed fails on first use; a fresh one that fails
    // is a real transport error.
    if (attempt > 0) throw beast::system_error(ec);
  }
}

}  // namespace databroker::tools
