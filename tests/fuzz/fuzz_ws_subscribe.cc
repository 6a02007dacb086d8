// The WebSocket subscribe message of GET /v1/ws, from the bytes: the first byte picks the
// caller (anonymous, ingest, internal, partner, admin), the rest is the message. A subscription
// either starts (and is closed at once) or is refused with a close reason of at most 123 bytes,
// as RFC 6455 allows.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tests/fuzz/http_services.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace databroker;
  static fuzzing::HttpWorld world;
  if (size == 0) return 0;
  http::HttpRequest upgrade;
  upgrade.method = http::Verb::get;
  upgrade.target = "/v1/ws";
  upgrade.websocket_upgrade = true;
  upgrade.authorization = world.authorizations[data[0] % world.authorizations.size()];
  upgrade.remote_address = "127.0.0.1";
  auto response = world.dispatch(std::move(upgrade));
  if (!response.websocket) {
    std::fprintf(stderr, "GET /v1/ws answered %u without a subscriber\n", response.status);
    std::abort();
  }
  const std::string_view message(reinterpret_cast<const char*>(data + 1), size - 1);
  auto subscribed = response.websocket->subscribe(message);
  if (!subscribed && subscribed.error().message.size() > 123) {
    std::fprintf(stderr, "a close reason of %zu bytes\n", subscribed.error().message.size());
    std::abort();
  }
  return 0;
}
