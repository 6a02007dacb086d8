// A small WebSocket client for tests (Beast, loopback), driven synchronously with deadlines.
//
// It keeps one read pending on its own io_context, which runs only inside next() and send(): a
// test that stops calling next() stops reading, so the server sees a stalled consumer (TCP
// buffers fill), exactly like a real client that stopped reading.
//
// Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tests/support/http_client.h"

namespace databroker::testing {

class WsClient {
 public:
  // Connects to ws://127.0.0.1:port + target and completes the handshake within 10 s. After a
  // refused handshake `handshake_status()` is the HTTP status (401, 426, ...) and is_open() false.
  WsClient(std::uint16_t port, const std::string& target, const HeaderList& headers = {});
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  bool is_open() const;
  unsigned handshake_status() const;  // 101 on success, 0 when nothing answered

  // Sends one text message; false when the connection is closed.
  bool send(std::string_view text);
  // The next text message, or nothing when none arrives before `wait` or the server closed.
  std::optional<std::string> next(std::chrono::milliseconds wait = std::chrono::seconds(5));
  // Waits up to `wait` for the server to close; true once closed. Messages that arrive first are
  // dropped.
  bool wait_closed(std::chrono::milliseconds wait = std::chrono::seconds(5));
  // The close frame the server sent (0 / "" before it closed, or when it dropped the connection).
  std::uint16_t close_code() const;
  std::string close_reason() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace databroker::testing
