#include "broker/server/admin_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace databroker::server {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

// The broker listens on every address: the command line talks to it on loopback.
std::string reachable_host(const std::string& host) {
  if (host.empty() || host == "0.0.0.0") return "127.0.0.1";
  if (host == "::" || host == "[::]") return "::1";
  return host;
}

}  // namespace

core::Result<AdminReply> post_to_broker(const config::HttpConfig& http_config,
                                        const std::string& key, const std::string& target,
                                        const std::string& json_body,
                                        std::chrono::seconds timeout) {
  const std::string host = reachable_host(http_config.host);
  const std::string where = host + ":" + std::to_string(http_config.port);
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(host, std::to_string(http_config.port)));
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, where);
    request.set(http::field::authorization, "Bearer " + key);
    request.set(http::field::content_type, "application/json");
    request.set(http::field::user_agent, "databroker-cli");
    request.body() = json_body;
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    http::read(stream, buffer, parser);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return AdminReply{parser.get().result_int(), parser.get().body()};
  } catch (const std::exception& e) {
    return core::fail(core::ErrorCode::Unavailable,
                      "cannot reach the running broker at " + where + ": " + e.what());
  }
}

}  // namespace databroker::server
