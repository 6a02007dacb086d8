// A small synchronous HTTP/1.1 client for tests (Beast, blocking, loopback).
//
// `RawConnection` sends exactly the bytes a test gives it (for oversized headers, a
// Content-Length with no body, chunked bodies) and reads one response. `HttpClient` sends
// well-formed requests over one kept-alive connection and reconnects when the server closed it.
// Reads and writes time out after 10 s so a hanging server fails the test instead of hanging it.
//
// Not thread-safe: one client per thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace databroker::testing {

struct HttpReply {
  unsigned status = 0;  // 0: no response (the connection failed or closed first)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;  // why status is 0
  bool keep_alive = false;

  // The header's value, "" when absent; `name` in any case.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error when it cannot.
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes all of `bytes`; false when the server closed or reset the connection meanwhile.
  bool send(std::string_view bytes);
  // Reads one response (status 0 with `error` when none arrives).
  HttpReply read_reply();
  // True when the server has closed the connection (reads EOF or a reset within `wait_ms`).
  bool closed_by_peer(int wait_ms = 2000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port);
  ~HttpClient();

  HttpReply request(std::string_view method, std::string_view target, std::string_view body = {},
                    const HeaderList& headers = {});

  HttpReply get(std::string_view target, const HeaderList& headers = {}) {
    return request("GET", target, {}, headers);
  }
  // Adds Content-Type: application/json unless `headers` sets a Content-Type.
  HttpReply post(std::string_view target, std::string_view body, const HeaderList& headers = {});
  HttpReply del(std::string_view target, const HeaderList& headers = {}) {
    return request("DELETE", target, {}, headers);
  }

 private:
  std::uint16_t port_;
  std::unique_ptr<RawConnection> connection_;
};

// {"Authorization", "Bearer <key>"}.
HeaderList bearer(std::string_view key);

}  // namespace databroker::testing
