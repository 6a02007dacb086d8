// A webhook receiver for tests: a small HTTP/1.1 server on 127.0.0.1 that records every POST
// (headers, body, the events of the body) and answers with a status the test chooses.
//
// start() binds (port 0: a free one, or a given port to come back on after stop()); stop()
// closes the listener and every connection, so the broker sees its deliveries refused, as from
// a receiver that is down, and keeps the port bound (not listening) until the next start() or
// destruction, so nothing else takes it meanwhile. Signatures are checked by the test with
// `signature_ok` against a secret it knows, with an HMAC of this file's own (OpenSSL's one-shot
// HMAC), not the broker's.
//
// start_tls() serves https instead, with a certificate and key from PEM files (OpenSSL); a
// client that fails the handshake (it does not trust the certificate) is counted in
// tls_failures() and recorded nowhere else.
//
// One thread accepts and serves connections one at a time (the broker has at most one request
// in flight per webhook). Accessors are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace databroker::testing {

struct ReceivedDelivery {
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  nlohmann::json json;  // the parsed body (discarded when not JSON)
  unsigned answered = 0;

  std::string header(const std::string& lower_name) const;
};

// X-Databroker-Signature of `delivery` is HMAC-SHA256(secret, timestamp + "." + body).
bool signature_ok(const ReceivedDelivery& delivery, const std::string& secret);

class WebhookReceiver {
 public:
  WebhookReceiver() = default;
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  // Listens on 127.0.0.1:port (0: a free port). False when the port cannot be bound.
  bool start(std::uint16_t port = 0);
  // The same over TLS. False when the port cannot be bound or the PEM files do not load.
  bool start_tls(const std::string& cert_file, const std::string& key_file, std::uint16_t port = 0);
  std::size_t tls_failures() const { return tls_failures_.load(); }
  void stop();
  std::uint16_t port() const { return port_; }
  // http://127.0.0.1:port/path, or https:// after start_tls().
  std::string url(const std::string& path = "/hook") const;

  // The status answered from now on (200 by default).
  void set_status(unsigned status) { status_ = status; }
  // The next `count` deliveries are processed (recorded as accepted with a 200) but the
  // connection closes before the answer goes out: the broker must send them again.
  void lose_answers(int count) { lose_answers_ = count; }
  // The next `count` deliveries are recorded as accepted and answered after `delay` (the
  // broker may have given up by then).
  void delay_answers(int count, std::chrono::milliseconds delay) {
    answer_delay_ms_ = delay.count();
    delay_answers_ = count;
  }

  std::vector<ReceivedDelivery> deliveries() const;
  std::size_t count() const;
  // Every event of every delivery answered with a 2xx, in arrival order.
  std::vector<nlohmann::json> accepted_events() const;

 private:
  void release_port_hold();
  void serve();
  void handle(int fd);
  void handle_tls(int fd);
  // Reads one request through `read` and answers through `write`.
  void exchange(const std::function<bool(std::string&)>& read,
                const std::function<void(const std::string&)>& write);

  std::atomic<int> listen_fd_{-1};
  // A bound, non-listening socket on port_ between stop() and the next start(); used by
  // start(), stop() and the destructor only, which the test calls from one thread.
  int port_hold_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<unsigned> status_{200};
  std::atomic<int> lose_answers_{0};
  std::atomic<int> delay_answers_{0};
  std::atomic<long long> answer_delay_ms_{0};
  std::atomic<std::size_t> tls_failures_{0};
  void* tls_ = nullptr;  // SSL_CTX*, owned, while serving TLS
  std::thread thread_;
  mutable std::mutex mutex_;  // guards deliveries_
  std::vector<ReceivedDelivery> deliveries_;
};

}  // namespace databroker::testing
