#include "tools/loadgen/http_load.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tools/common/http_connection.h"
#include "tools/common/latency.h"
#include "tools/loadgen/payloads.h"

namespace databroker::loadgen {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using tools::option;
using tools::text_option;

std::int64_t micros(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

// `pattern` with every `{id}` replaced by the sensor id of i.
std::string expand(const std::string& pattern, long i) {
  std::string out = pattern;
  const std::string id = sensor_id(i);
  for (auto at = out.find("{id}"); at != std::string::npos; at = out.find("{id}", at + id.size()))
    out.replace(at, 4, id);
  return out;
}

}  // namespace

// Readings are numbered over all connections, and reading n belongs to sensor n % sensors, so
// `--count` equal to `--sensors` creates every stream exactly once.
int run_http_ingest(const tools::Options& o) {
  const auto port = static_cast<unsigned short>(option(o, "port", 8080));
  const std::string key = text_option(o, "key");
  const long connections = std::max(1L, option(o, "connections", 4));
  const long batch = std::max(1L, option(o, "batch", 1000));
  const long seconds = option(o, "seconds", 10);
  const long sensors = std::max(1L, option(o, "sensors", 100));
  const long count = option(o, "count", 0);  // 0: until the time is up
  std::atomic<long> next{0};
  std::atomic<long long> accepted{0}, failed{0};
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (long c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      try {
        tools::HttpConnection conn("127.0.0.1", port);
        while (Clock::now() < deadline) {
          long first = next.fetch_add(batch);
          long size = batch;
          if (count > 0) {
            if (first >= count) break;
            size = std::min(batch, count - first);
          }
          const auto ts = core::SystemClock{}.now_ms();
          std::string body = "[";
          for (long n = first; n < first + size; ++n) {
            if (n > first) body += ',';
            body += "{\"sensor\":\"" + sensor_id(n % sensors) + "\",\"kind\":\"air_quality\",";
            body += air_quality_payload(ts, n).substr(1);
          }
          body += ']';
          auto res = conn.request(http::verb::post, "/v1/readings", key, std::move(body));
          if (res.result() == http::status::accepted) {
            accepted += size;
          } else if (++failed < 5) {
            std::fprintf(stderr, "HTTP %u: %s\n", res.result_int(), res.body().c_str());
          }
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "connection %ld: %s\n", c, e.what());
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double rate = static_cast<double>(accepted.load()) / elapsed;
  std::printf(
      "http batch ingest: %lld readings in %.2f s = %.0f readings/s (%ld connections, batch "
      "%ld, %ld sensors, %lld failed requests)\n",
      accepted.load(), elapsed, rate, connections, batch, sensors, failed.load());
  std::printf("bench rate=%.0f accepted=%lld failed=%lld\n", rate, accepted.load(), failed.load());
  return failed == 0 ? 0 : 1;
}

// GETs `--target` (every {id} replaced by a random one of `--ids` sensors) over keep-alive
// connections; counts 200 answers and reports the latency percentiles of all requests.
int run_read(const tools::Options& o) {
  const auto port = static_cast<unsigned short>(option(o, "port", 8080));
  const std::string key = text_option(o, "key");
  const std::string target = text_option(o, "target", "/v1/streams");
  const long ids = std::max(1L, option(o, "ids", 1));
  const long connections = std::max(1L, option(o, "connections", 4));
  const long seconds = option(o, "seconds", 10);
  std::atomic<long long> ok{0}, failed{0}, bytes{0};
  std::vector<tools::LatencySamples> samples(static_cast<std::size_t>(connections));
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (long c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      std::minstd_rand pick(static_cast<unsigned>(c) + 1);
      std::uniform_int_distribution<long> id(0, ids - 1);
      auto& mine = samples[static_cast<std::size_t>(c)];
      try {
        tools::HttpConnection conn("127.0.0.1", port);
        while (Clock::now() < deadline) {
          const std::string path = expand(target, id(pick));
          const auto sent = Clock::now();
          auto res = conn.request(http::verb::get, path, key, "");
          mine.add(micros(Clock::now() - sent));
          if (res.result() == http::status::ok) {
            ++ok;
            bytes += static_cast<long long>(res.body().size());
          } else if (++failed < 5) {
            std::fprintf(stderr, "HTTP %u on %s: %s\n", res.result_int(), path.c_str(),
                         res.body().c_str());
          }
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "connection %ld: %s\n", c, e.what());
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  tools::LatencySamples all;
  for (const auto& s : samples) all.merge(s);
  const double rate = static_cast<double>(ok.load()) / elapsed;
  const double p50 = all.percentile_ms(0.5), p99 = all.percentile_ms(0.99);
  std::printf(
      "read %s: %lld requests in %.2f s = %.0f requests/s, %.0f bytes per answer, latency ms "
      "p50 %.3f p99 %.3f max %.3f (%ld connections, %lld failed)\n",
      target.c_str(), ok.load(), elapsed, rate,
      ok.load() ? static_cast<double>(bytes.load()) / static_cast<double>(ok.load()) : 0.0, p50,
      p99, all.max_ms(), connections, failed.load());
  std::printf("bench rate=%.0f p50_ms=%.3f p99_ms=%.3f failed=%lld\n", rate, p50, p99,
              failed.load());
  return failed == 0 ? 0 : 1;
}

}  // namespace databroker::loadgen
