// databroker-loadgen: drives a running databroker on loopback and reports throughput.
//
//   databroker-loadgen http --port P --key K [--connections 4] [--batch 1000] [--seconds 10]
//                           [--sensors 100]
//       POSTs cross-sensor batches to /v1/readings over keep-alive connections and counts the
//       readings acknowledged with 202.
//   databroker-loadgen mqtt --port P --mqtt-port M [--count 100000] [--sensors 100] [--qos 1]
//                           [--seconds 60]
//       publishes native payloads to sensors/noise/{sensor} as fast as Paho allows and reads the
//       broker's /metrics until all of them are in the log; the rate is messages / (first
//       publish → last stored).
//   databroker-loadgen read --port P --target PATH [--key K] [--connections 4] [--seconds 10]
//       GETs PATH over keep-alive connections and counts 200 answers (REST read throughput).
//
// Bounded in time and count; loopback only (the host is always 127.0.0.1).
#include <mqtt/async_client.h>

#include <atomic>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "broker/core/time.h"
#include "tools/common/http_connection.h"
#include "tools/common/options.h"

namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

using databroker::tools::option;

// A loopback keep-alive connection to the broker.
class Connection : public databroker::tools::HttpConnection {
 public:
  explicit Connection(unsigned short port) : HttpConnection("127.0.0.1", port) {}
};

std::string noise_reading(const std::string& sensor, double laeq, databroker::core::TimestampMs ts,
                          bool with_target) {
  std::string out = "{";
  if (with_target) out += "\"sensor\":\"" + sensor + "\",\"kind\":\"noise\",";
  out += "\"ts\":" + std::to_string(ts) + ",\"values\":{\"laeq\":" + std::to_string(laeq) +
         ",\"lamax\":" + std::to_string(laeq + 12.5) + ",\"battery\":87}}";
  return out;
}

int run_http(const std::map<std::string, std::string>& o) {
  const auto port = static_cast<unsigned short>(option(o, "port", 8080));
  const std::string key = o.count("key") ? o.at("key") : "";
  const long connections = option(o, "connections", 4);
  const long batch = option(o, "batch", 1000);
  const long seconds = option(o, "seconds", 10);
  const long sensors = option(o, "sensors", 100);
  std::atomic<long long> accepted{0}, failed{0};
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (long c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      try {
        Connection conn(port);
        long n = 0;
        while (Clock::now() < deadline) {
          auto now = databroker::core::SystemClock{}.now_ms();
          std::string body = "[";
          for (long i = 0; i < batch; ++i, ++n) {
            if (i) body += ',';
            body += noise_reading("load-" + std::to_string((c * 7919 + n) % sensors), 40 + (n % 50),
                                  now, true);
          }
          body += ']';
          auto res = conn.request(http::verb::post, "/v1/readings", key, std::move(body));
          if (res.result() == http::status::accepted) {
            accepted += batch;
          } else {
            ++failed;
            if (failed < 5)
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
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "http batch ingest: %lld readings in %.2f s = %.0f readings/s (%ld connections, "
      "batch %ld, %lld failed requests)\n",
      accepted.load(), elapsed, accepted.load() / elapsed, connections, batch, failed.load());
  return failed == 0 ? 0 : 1;
}

// The broker's count of MQTT readings in the log, from /metrics.
long long mqtt_ingested(Connection& conn) {
  auto res = conn.request(http::verb::get, "/metrics", "", "");
  const std::string needle = "databroker_readings_ingested_total{path=\"mqtt\"} ";
  auto pos = res.body().find(needle);
  if (pos == std::string::npos) return -1;
  return std::atoll(res.body().c_str() + pos + needle.size());
}

int run_mqtt(const std::map<std::string, std::string>& o) {
  const auto port = static_cast<unsigned short>(option(o, "port", 8080));
  const long mqtt_port = option(o, "mqtt-port", 1883);
  const long count = option(o, "count", 100000);
  const long sensors = option(o, "sensors", 100);
  const int qos = static_cast<int>(option(o, "qos", 1));
  const long seconds = option(o, "seconds", 60);

  Connection metrics(port);
  const long long before = mqtt_ingested(metrics);
  if (before < 0) {
    std::fprintf(stderr, "no MQTT counter in /metrics: is MQTT ingest enabled?\n");
    return 1;
  }
  mqtt::async_client client("tcp://127.0.0.1:" + std::to_string(mqtt_port), "databroker-loadgen",
                            mqtt::create_options(MQTTVERSION_3_1_1, 65535));
  auto options = mqtt::connect_options_builder().clean_session(true).max_inflight(65535).finalize();
  client.connect(options)->wait();
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  std::vector<mqtt::delivery_token_ptr> window;
  auto now = databroker::core::SystemClock{}.now_ms();
  for (long i = 0; i < count && Clock::now() < deadline; ++i) {
    std::string sensor = "mqtt-load-" + std::to_string(i % sensors);
    auto token = client.publish("sensors/noise/" + sensor,
                                noise_reading(sensor, 40 + (i % 50), now, false), qos, false);
    window.push_back(token);
    if (window.size() >= 1000) {  // bound Paho's buffer: wait for the oldest thousand
      for (auto& t : window) t->wait();
      window.clear();
    }
  }
  for (auto& t : window) t->wait();
  const double publish_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  long long stored = 0;
  while (Clock::now() < deadline) {
    stored = mqtt_ingested(metrics) - before;
    if (stored >= count) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  client.disconnect()->wait();
  std::printf(
      "mqtt ingest (QoS %d): %lld of %ld readings stored in %.2f s = %.0f readings/s "
      "(publishing took %.2f s)\n",
      qos, stored, count, elapsed, stored / elapsed, publish_seconds);
  return stored >= count ? 0 : 1;
}

int run_read(const std::map<std::string, std::string>& o) {
  const auto port = static_cast<unsigned short>(option(o, "port", 8080));
  const std::string key = o.count("key") ? o.at("key") : "";
  const std::string target = o.count("target") ? o.at("target") : "/v1/streams";
  const long connections = option(o, "connections", 4);
  const long seconds = option(o, "seconds", 10);
  std::atomic<long long> ok{0}, failed{0}, bytes{0};
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (long c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      try {
        Connection conn(port);
        while (Clock::now() < deadline) {
          auto res = conn.request(http::verb::get, target, key, "");
          if (res.result() == http::status::ok) {
            ++ok;
            bytes += static_cast<long long>(res.body().size());
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
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "read %s: %lld requests in %.2f s = %.0f requests/s, %.0f bytes per answer "
      "(%ld connections, %lld failed)\n",
      target.c_str(), ok.load(), elapsed, ok.load() / elapsed,
      ok.load() ? static_cast<double>(bytes.load()) / ok.load() : 0.0, connections, failed.load());
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::puts(
        "usage: databroker-loadgen http|mqtt|read [--option value]... (see the source header)");
    return argc < 2 ? 64 : 0;
  }
  auto o = databroker::tools::parse_options(argc, argv, 2);
  try {
    std::string mode = argv[1];
    if (mode == "http") return run_http(o);
    if (mode == "mqtt") return run_mqtt(o);
    if (mode == "read") return run_read(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "databroker-loadgen: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "databroker-loadgen: unknown mode\n");
  return 64;
}
