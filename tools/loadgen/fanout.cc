// databroker-fanout: live-delivery load. Opens N Server-Sent Events subscribers on a running
// broker, ingests readings at a fixed rate over HTTP, and reports what the subscribers got:
// delivered events/s, lost and duplicated events, and ingest-to-delivery latency.
//
//   databroker-fanout --port P --ingest-key K [--key K2] [--subscribers 100] [--rate 10000]
//                     [--seconds 10] [--sensors 100] [--threads 1]
//
// Latency is measured per event, from the moment the batch holding the reading started to be
// sent (before its POST) to the moment a subscriber read the event's `id:` line; the 202's
// first_seq..last_seq maps seqs to send times, so no clock is needed in the payload. Batches go
// out every 10 ms (rate / 100 readings each). Subscribers follow `/v1/subscribe?kind=noise`
// anonymously (open data through the open view) unless --key is given, over HTTP/1.0 so the
// body is plain SSE without chunk framing.
//
// Bounded in time and count; loopback only (the host is always 127.0.0.1).
#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tools/common/latency.h"
#include "tools/common/options.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

using databroker::tools::option;

std::int64_t micros_since(Clock::time_point origin) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - origin).count();
}

// One SSE subscriber: reads the stream and notes (seq, arrival) for every `id:` line.
class Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(net::io_context& io, Clock::time_point origin) : socket_(io), origin_(origin) {}

  void start(unsigned short port, const std::string& target) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    request_ =
        "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    net::write(socket_, net::buffer(request_));
    arrivals.reserve(1 << 16);
    do_read();
  }

  void stop() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::vector<std::pair<std::uint64_t, std::int64_t>> arrivals;  // (seq, µs since origin)
  std::atomic<bool> head_seen{false};
  std::atomic<std::uint64_t> last_seq{0};

 private:
  void do_read() {
    socket_.async_read_some(net::buffer(chunk_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return;
                              self->on_data(n);
                              self->do_read();
                            });
  }

  void on_data(std::size_t n) {
    const std::int64_t now = micros_since(origin_);
    pending_.append(chunk_.data(), n);
    std::size_t start = 0;
    if (!head_seen) {
      const auto end = pending_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      head_seen = pending_.compare(0, 12, "HTTP/1.1 200") == 0 ||
                  pending_.compare(0, 12, "HTTP/1.0 200") == 0;
      if (!head_seen) {
        std::fprintf(stderr, "subscribe refused: %s\n", pending_.substr(0, end).c_str());
        return;
      }
      start = end + 4;
    }
    while (true) {
      const auto eol = pending_.find('\n', start);
      if (eol == std::string::npos) break;
      if (pending_.compare(start, 4, "id: ") == 0) {
        const std::uint64_t seq = std::strtoull(pending_.c_str() + start + 4, nullptr, 10);
        arrivals.emplace_back(seq, now);
        last_seq.store(seq, std::memory_order_relaxed);
      }
      start = eol + 1;
    }
    pending_.erase(0, start);
  }

  tcp::socket socket_;
  Clock::time_point origin_;
  std::string request_;
  std::array<char, 16384> chunk_{};
  std::string pending_;
};

struct Posted {
  std::uint64_t first = 0, last = 0;
  std::int64_t sent_us = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::puts(
        "usage: databroker-fanout --port P --ingest-key K [--key K] [--subscribers 100] "
        "[--rate 10000] [--seconds 10] [--sensors 100] [--threads 1]");
    return argc < 2 ? 64 : 0;
  }
  const auto o = databroker::tools::parse_options(argc, argv, 1);
  const auto port = static_cast<unsigned short>(option(o, "port", 8080));
  const std::string ingest_key = databroker::tools::text_option(o, "ingest-key");
  const std::string key = databroker::tools::text_option(o, "key");
  const long subscribers = option(o, "subscribers", 100);
  const long rate = std::max(100L, option(o, "rate", 10000));
  const long seconds = option(o, "seconds", 10);
  const long sensors = option(o, "sensors", 100);
  const long threads = std::max(1L, option(o, "threads", 1));
  const auto origin = Clock::now();

  try {
    net::io_context io;
    auto guard = net::make_work_guard(io);
    std::vector<std::shared_ptr<Subscriber>> subs;
    const std::string target =
        "/v1/subscribe?kind=noise" + (key.empty() ? "" : "&access_token=" + key);
    for (long i = 0; i < subscribers; ++i) {
      subs.push_back(std::make_shared<Subscriber>(io, origin));
      subs.back()->start(port, target);
    }
    std::vector<std::thread> pool;
    for (long t = 0; t < threads; ++t) pool.emplace_back([&] { io.run(); });
    const auto connected_by = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < connected_by &&
           !std::all_of(subs.begin(), subs.end(), [](auto& s) { return s->head_seen.load(); })) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const long ready =
        std::count_if(subs.begin(), subs.end(), [](auto& s) { return s->head_seen.load(); });
    if (ready != subscribers) {
      std::fprintf(stderr, "only %ld of %ld subscribers connected\n", ready, subscribers);
      return 1;
    }

    // Ingest at the fixed rate, one batch every 10 ms.
    std::vector<Posted> posted;
    const long per_batch = rate / 100;
    net::io_context post_io;
    beast::tcp_stream stream(post_io);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    beast::flat_buffer buffer;
    long failed = 0, n = 0;
    const auto start = Clock::now();
    const auto stop_at = start + std::chrono::seconds(seconds);
    for (auto next = start; next < stop_at; next += std::chrono::milliseconds(10)) {
      std::this_thread::sleep_until(next);
      std::string body = "[";
      for (long i = 0; i < per_batch; ++i, ++n) {
        if (i) body += ',';
        body += R"({"sensor":"fanout-)" + std::to_string(n % sensors) +
                R"(","kind":"noise","values":{"laeq":)" + std::to_string(40 + n % 50) +
                R"(,"battery":80}})";
      }
      body += ']';
      http::request<http::string_body> req{http::verb::post, "/v1/readings", 11};
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::authorization, "Bearer " + ingest_key);
      req.set(http::field::content_type, "application/json");
      req.body() = std::move(body);
      req.prepare_payload();
      const std::int64_t sent = micros_since(origin);
      http::write(stream, req);
      http::response<http::string_body> res;
      http::read(stream, buffer, res);
      if (res.result() != http::status::accepted) {
        if (++failed < 5)
          std::fprintf(stderr, "HTTP %u: %s\n", res.result_int(), res.body().c_str());
        continue;
      }
      const auto doc = nlohmann::json::parse(res.body());
      posted.push_back(
          {doc["first_seq"].get<std::uint64_t>(), doc["last_seq"].get<std::uint64_t>(), sent});
    }
    const double ingest_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (posted.empty()) {
      std::fprintf(stderr, "nothing was ingested\n");
      return 1;
    }
    const std::uint64_t first = posted.front().first, last = posted.back().last;

    // Drain: every subscriber should reach the last seq.
    const auto drain_by = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < drain_by && !std::all_of(subs.begin(), subs.end(), [&](auto& s) {
             return s->last_seq.load() >= last;
           })) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const double delivery_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    guard.reset();
    for (auto& s : subs) {
      net::post(io, [s] { s->stop(); });
    }
    io.stop();
    for (auto& t : pool) t.join();

    std::vector<std::int64_t> sent_at(last - first + 1, -1);
    for (const auto& p : posted) {
      for (auto seq = p.first; seq <= p.last; ++seq) sent_at[seq - first] = p.sent_us;
    }
    databroker::tools::LatencySamples latencies;
    std::uint64_t delivered = 0, lost = 0, duplicates = 0, foreign = 0;
    const std::uint64_t expected = static_cast<std::uint64_t>(n - failed * per_batch);
    for (auto& s : subs) {
      std::vector<bool> seen(last - first + 1, false);
      for (const auto& [seq, at] : s->arrivals) {
        if (seq < first || seq > last || sent_at[seq - first] < 0) {
          ++foreign;
          continue;
        }
        if (seen[seq - first]) {
          ++duplicates;
          continue;
        }
        seen[seq - first] = true;
        ++delivered;
        latencies.add(at - sent_at[seq - first]);
      }
      for (auto seq = first; seq <= last; ++seq) {
        if (sent_at[seq - first] >= 0 && !seen[seq - first]) ++lost;
      }
    }
    std::printf(
        "fanout: %ld subscribers, %ld readings/s offered, %.0f readings/s ingested, %.0f events/s "
        "delivered, lost %llu, duplicates %llu, other %llu; latency ms p50 %.2f p99 %.2f max "
        "%.2f (%llu events)\n",
        subscribers, rate, static_cast<double>(expected) / ingest_seconds,
        static_cast<double>(delivered) / delivery_seconds, static_cast<unsigned long long>(lost),
        static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(foreign),
        latencies.percentile_ms(0.5), latencies.percentile_ms(0.99), latencies.max_ms(),
        static_cast<unsigned long long>(delivered));
    std::printf("bench events_per_s=%.0f lost=%llu duplicates=%llu p50_ms=%.3f p99_ms=%.3f\n",
                static_cast<double>(delivered) / delivery_seconds,
                static_cast<unsigned long long>(lost), static_cast<unsigned long long>(duplicates),
                latencies.percentile_ms(0.5), latencies.percentile_ms(0.99));
    return lost == 0 && failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "databroker-fanout: %s\n", e.what());
    return 1;
  }
}
