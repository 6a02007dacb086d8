#include "tests/support/webhook_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace databroker::testing {

namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Reads more bytes into `buffer` before `deadline`; false on EOF, error or timeout.
bool read_more(int fd, std::string& buffer, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char chunk[16384];
  const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
  if (n <= 0) return false;
  buffer.append(chunk, static_cast<std::size_t>(n));
  return true;
}

}  // namespace

std::string ReceivedDelivery::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

bool signature_ok(const ReceivedDelivery& delivery, const std::string& secret) {
  const std::string message = delivery.header("x-databroker-timestamp") + "." + delivery.body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  std::string expected = "sha256=";
  char hex[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    expected += hex;
  }
  const std::string given = delivery.header("x-databroker-signature");
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

WebhookReceiver::~WebhookReceiver() {
  stop();
  release_port_hold();
  if (tls_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(tls_));
}

bool WebhookReceiver::start_tls(const std::string& cert_file, const std::string& key_file,
                                std::uint16_t port) {
  stop();
  // OpenSSL writes with write(2), which raises SIGPIPE when a client hung up mid-handshake (one
  // that refused the certificate): that must fail the exchange, not kill the test process.
  ::signal(SIGPIPE, SIG_IGN);
  if (tls_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(tls_));
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  tls_ = ctx;
  if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return false;
  }
  return start(port);
}

namespace {

// A TCP socket bound to 127.0.0.1:port (0: a free one), not yet listening; -1 on failure. Both
// the listener and the port holder of stop() set SO_REUSEPORT, so one may be bound while the
// other still is (connections only ever go to a listening socket).
int bind_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool WebhookReceiver::start(std::uint16_t port) {
  if (thread_.joinable()) stop();
  const int fd = bind_loopback(port);
  if (fd < 0) return false;
  if (::listen(fd, 16) != 0) {
    ::close(fd);
    return false;
  }
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  listen_fd_ = fd;
  release_port_hold();  // listening again: the port is ours through the listener
  stopping_ = false;
  thread_ = std::thread([this] { serve(); });
  return true;
}

void WebhookReceiver::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  // While down, a bound socket that does not listen keeps the port: connections are refused,
  // as from a receiver that is down, and no other test's bind(0) is handed the port before
  // start(port) comes back on it (with parallel tests, that happened). Should the hold fail, the
  // receiver is down all the same; only a restart on this port may then find it taken.
  if (listen_fd_.load() >= 0 && port_hold_fd_ < 0) port_hold_fd_ = bind_loopback(port_);
  if (const int fd = listen_fd_.exchange(-1); fd >= 0) ::close(fd);
}

void WebhookReceiver::release_port_hold() {
  if (port_hold_fd_ >= 0) ::close(port_hold_fd_);
  port_hold_fd_ = -1;
}

std::string WebhookReceiver::url(const std::string& path) const {
  return (tls_ != nullptr ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) +
         path;
}

std::vector<ReceivedDelivery> WebhookReceiver::deliveries() const {
  std::lock_guard lock(mutex_);
  return deliveries_;
}

std::size_t WebhookReceiver::count() const {
  std::lock_guard lock(mutex_);
  return deliveries_.size();
}

std::vector<nlohmann::json> WebhookReceiver::accepted_events() const {
  std::lock_guard lock(mutex_);
  std::vector<nlohmann::json> out;
  for (const auto& d : deliveries_) {
    if (d.answered < 200 || d.answered >= 300 || !d.json.is_object()) continue;
    for (const auto& event : d.json["events"]) out.push_back(event);
  }
  return out;
}

void WebhookReceiver::serve() {
  while (!stopping_) {
    pollfd p{listen_fd_.load(), POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int fd = ::accept(listen_fd_.load(), nullptr, nullptr);
    if (fd < 0) continue;
    if (tls_ != nullptr) {
      handle_tls(fd);
    } else {
      handle(fd);
    }
    ::close(fd);
  }
}

void WebhookReceiver::handle(int fd) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  exchange([&](std::string& buffer) { return read_more(fd, buffer, deadline); },
           [&](const std::string& answer) {
             (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
           });
}

void WebhookReceiver::handle_tls(int fd) {
  // Blocking SSL I/O with socket timeouts: a stuck client cannot hang the test.
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(tls_));
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) != 1) {
    ++tls_failures_;
    SSL_free(ssl);
    return;
  }
  exchange(
      [&](std::string& buffer) {
        char chunk[16384];
        const int n = SSL_read(ssl, chunk, sizeof chunk);
        if (n <= 0) return false;
        buffer.append(chunk, static_cast<std::size_t>(n));
        return true;
      },
      [&](const std::string& answer) {
        (void)SSL_write(ssl, answer.data(), static_cast<int>(answer.size()));
      });
  SSL_free(ssl);
}

void WebhookReceiver::exchange(const std::function<bool(std::string&)>& read,
                               const std::function<void(const std::string&)>& write) {
  std::string buffer;
  std::size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (!read(buffer)) return;
  }
  ReceivedDelivery delivery;
  const std::string head = buffer.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const auto first_space = request_line.find(' ');
  delivery.target = request_line.substr(first_space + 1, request_line.rfind(' ') - first_space - 1);
  while (line_end != std::string::npos && line_end < head.size()) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    delivery.headers[lower(line.substr(0, colon))] = value;
  }
  const std::size_t length = std::stoul(
      delivery.header("content-length").empty() ? "0" : delivery.header("content-length"));
  std::string body = buffer.substr(head_end + 4);
  while (body.size() < length) {
    if (!read(body)) return;
  }
  delivery.body = body.substr(0, length);
  delivery.json = nlohmann::json::parse(delivery.body, nullptr, false);
  delivery.answered = status_.load();
  {
    std::lock_guard lock(mutex_);
    deliveries_.push_back(delivery);
  }
  if (lose_answers_.load() > 0) {
    --lose_answers_;
    return;
  }
  if (delay_answers_.load() > 0) {
    --delay_answers_;
    std::this_thread::sleep_for(std::chrono::milliseconds(answer_delay_ms_.load()));
  }
  const std::string answer_body = delivery.answered < 300 ? "ok" : "receiver says no";
  const std::string answer =
      "HTTP/1.1 " + std::to_string(delivery.answered) +
      " Test\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(answer_body.size()) +
      "\r\nConnection: close\r\n\r\n" + answer_body;
  write(answer);
}

}  // namespace databroker::testing
