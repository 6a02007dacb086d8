// HTTP requests as bytes: the first byte picks the caller (anonymous, ingest, internal, partner,
// admin: its key replaces any Authorization the bytes carry), the rest is parsed by Beast with
// the server's header and body limits, turned into a request as the session does, and handed
// to the dispatcher: router, authentication, rate limits, every handler. Every answer must be a
// real status, and every error a problem+json document that parses.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "tests/fuzz/http_services.h"

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;

std::string to_std(beast::string_view text) { return std::string(text.data(), text.size()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace databroker;
  static fuzzing::HttpWorld world;
  if (size == 0) return 0;
  const std::size_t caller = data[0] % world.authorizations.size();

  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(world.http_config.max_header_bytes));
  parser.body_limit(world.http_config.max_body_bytes);
  parser.eager(true);
  beast::error_code ec;
  parser.put(boost::asio::buffer(data + 1, size - 1), ec);
  if (ec || !parser.is_done()) return 0;  // the session answers 400/413/431 and closes
  auto& message = parser.get();

  http::HttpRequest request;
  request.method = message.method();
  request.target = to_std(message.target());
  request.content_type = to_std(message[bhttp::field::content_type]);
  request.authorization =
      caller == 0 ? to_std(message[bhttp::field::authorization]) : world.authorizations[caller];
  request.api_key = to_std(message["X-API-Key"]);
  request.last_event_id = to_std(message["Last-Event-ID"]);
  request.accept = to_std(message[bhttp::field::accept]);
  request.websocket_upgrade = beast::websocket::is_upgrade(message);
  request.remote_address = "127.0.0.1";
  request.body = std::move(message.body());
  if (!world.may_create_keys() && request.method == http::Verb::post &&
      request.target.starts_with("/v1/admin/keys")) {
    return 0;
  }

  const http::HttpResponse response = world.dispatch(std::move(request));
  if (response.status < 100 || response.status > 599) {
    std::fprintf(stderr, "status %u\n", response.status);
    std::abort();
  }
  if (response.status >= 400) {
    if (response.content_type != "application/problem+json" ||
        nlohmann::json::parse(response.body, nullptr, false).is_discarded()) {
      std::fprintf(stderr, "a %u that is not problem+json: %s %s\n", response.status,
                   response.content_type.c_str(), response.body.c_str());
      std::abort();
    }
  }
  if (response.websocket) (void)response.websocket->subscribe(R"({"type":"subscribe"})");
  return 0;
}
