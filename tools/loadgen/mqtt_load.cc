#include "tools/loadgen/mqtt_load.h"

#include <mosquitto.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tools/common/http_connection.h"
#include "tools/loadgen/payloads.h"

namespace databroker::loadgen {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;
using tools::option;
using tools::text_option;

struct MqttRun {
  int port = 1883;
  std::string topic_prefix;  // sensors (into databroker) or bench (relayed to our subscriber)
  long count = 0;
  long sensors = 0;
  int qos = 1;
  long publishers = 1;
  long rate = 0;  // messages/s over all publishers; 0: as fast as the window allows
  long max_in_flight = 1000;
  Clock::time_point deadline;
};

// The broker's count of MQTT readings in the log (-1 when the counter is missing).
long long mqtt_ingested(tools::HttpConnection& conn) {
  auto res = conn.request(http::verb::get, "/metrics", "", "");
  const std::string needle = "databroker_readings_ingested_total{path=\"mqtt\"} ";
  auto pos = res.body().find(needle);
  if (pos == std::string::npos) return -1;
  return std::atoll(res.body().c_str() + pos + needle.size());
}

// One libmosquitto client with its network thread. The load generator uses Mosquitto's own
// client library rather than Paho: it is the faster client here (about twice Paho C++'s QoS 1
// rate on this machine), so the ceilings measure Mosquitto, not the client.
class MosquittoClient {
 public:
  MosquittoClient(const std::string& id, int port)
      : handle_(mosquitto_new(id.c_str(), true, this)) {
    if (!handle_) throw std::runtime_error("mosquitto_new failed");
    mosquitto_int_option(handle_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_publish_callback_set(handle_, [](mosquitto*, void* self, int) {
      static_cast<MosquittoClient*>(self)->on_completed();
    });
    mosquitto_subscribe_callback_set(handle_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<MosquittoClient*>(self)->on_completed();
    });
    mosquitto_message_callback_set(handle_, [](mosquitto*, void* self, const mosquitto_message*) {
      auto* client = static_cast<MosquittoClient*>(self);
      ++client->received;
      client->last_arrival_ns = Clock::now().time_since_epoch().count();
    });
    check(mosquitto_connect(handle_, "127.0.0.1", port, 60), "connect");
    check(mosquitto_loop_start(handle_), "loop_start");
  }
  ~MosquittoClient() {
    mosquitto_disconnect(handle_);
    mosquitto_loop_stop(handle_, false);
    mosquitto_destroy(handle_);
  }
  MosquittoClient(const MosquittoClient&) = delete;
  MosquittoClient& operator=(const MosquittoClient&) = delete;

  // Publishes once fewer than `window` earlier publishes await completion (PUBACK for QoS 1,
  // the socket write for QoS 0), so libmosquitto's queue stays bounded.
  void publish(const std::string& topic, const std::string& payload, int qos, long window) {
    wait_for_completions(sent_ - window + 1, Clock::now() + std::chrono::seconds(30));
    check(mosquitto_publish(handle_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                            payload.data(), qos, false),
          "publish");
    ++sent_;
  }
  void subscribe(const std::string& pattern, int qos) {
    check(mosquitto_subscribe(handle_, nullptr, pattern.c_str(), qos), "subscribe");
    ++sent_;
  }
  // Waits until everything sent so far has completed; false when the deadline came first.
  bool drain(Clock::time_point deadline) { return wait_for_completions(sent_, deadline); }

  std::atomic<long long> received{0};
  std::atomic<std::int64_t> last_arrival_ns{0};

 private:
  static void check(int rc, const char* what) {
    if (rc != MOSQ_ERR_SUCCESS)
      throw std::runtime_error(std::string("mosquitto ") + what + ": " + mosquitto_strerror(rc));
  }
  void on_completed() {
    ++completed_;
    if (waiting_) {
      std::lock_guard lock(mutex_);
      wake_.notify_one();
    }
  }
  bool wait_for_completions(long target, Clock::time_point deadline) {
    if (completed_ >= target) return true;
    std::unique_lock lock(mutex_);
    waiting_ = true;
    const bool done = wake_.wait_until(lock, deadline, [&] { return completed_ >= target; });
    waiting_ = false;
    return done;
  }

  mosquitto* handle_;
  long sent_ = 0;
  std::atomic<long> completed_{0};
  std::atomic<bool> waiting_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

// Publisher p sends messages p, p + P, p + 2P, … through its own connection.
void publish_share(const MqttRun& run, long p, std::atomic<long>& failures) {
  try {
    MosquittoClient client("databroker-loadgen-" + std::to_string(p), run.port);
    const auto start = Clock::now();
    const double interval =
        run.rate > 0 ? static_cast<double>(run.publishers) / static_cast<double>(run.rate) : 0;
    const auto ts = core::SystemClock{}.now_ms();
    long sent = 0;
    for (long i = p; i < run.count && Clock::now() < run.deadline; i += run.publishers, ++sent) {
      if (interval > 0) {
        std::this_thread::sleep_until(
            start + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(interval * static_cast<double>(sent))));
      }
      client.publish(run.topic_prefix + "/air_quality/" + sensor_id(i % run.sensors),
                     air_quality_payload(ts, i), run.qos, run.max_in_flight);
    }
    if (!client.drain(run.deadline)) {
      std::fprintf(stderr, "publisher %ld: not every publish completed in time\n", p);
      ++failures;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "publisher %ld: %s\n", p, e.what());
    ++failures;
  }
}

}  // namespace

int run_mqtt(const tools::Options& o) {
  MqttRun run;
  run.port = static_cast<int>(option(o, "mqtt-port", 1883));
  run.count = option(o, "count", 100000);
  run.sensors = std::max(1L, option(o, "sensors", 1000));
  run.qos = static_cast<int>(option(o, "qos", 1));
  run.publishers = std::max(1L, option(o, "publishers", 1));
  run.rate = option(o, "rate", 0);
  run.max_in_flight = std::max(1L, option(o, "max-in-flight", 1000));
  const long seconds = option(o, "seconds", 60);
  const std::string sink = text_option(o, "sink", "broker");
  if (sink != "broker" && sink != "subscriber") {
    std::fprintf(stderr, "--sink is broker or subscriber\n");
    return 64;
  }
  run.topic_prefix = sink == "broker" ? text_option(o, "topic-prefix", "sensors") : "bench";

  // The sink is ready before the first publish.
  mosquitto_lib_init();
  std::unique_ptr<MosquittoClient> subscriber;
  std::unique_ptr<tools::HttpConnection> metrics;
  long long before = 0;
  if (sink == "subscriber") {
    subscriber = std::make_unique<MosquittoClient>("databroker-loadgen-sink", run.port);
    subscriber->subscribe(run.topic_prefix + "/#", run.qos);
    if (!subscriber->drain(Clock::now() + std::chrono::seconds(10))) {
      std::fprintf(stderr, "the subscriber's SUBACK did not come\n");
      return 1;
    }
  } else {
    metrics = std::make_unique<tools::HttpConnection>(
        "127.0.0.1", static_cast<unsigned short>(option(o, "port", 8080)));
    before = mqtt_ingested(*metrics);
    if (before < 0) {
      std::fprintf(stderr, "no MQTT counter in /metrics: is MQTT ingest enabled?\n");
      return 1;
    }
  }

  const auto start = Clock::now();
  run.deadline = start + std::chrono::seconds(seconds);
  std::atomic<long> failures{0};
  std::vector<std::thread> threads;
  for (long p = 0; p < run.publishers; ++p)
    threads.emplace_back([&run, p, &failures] { publish_share(run, p, failures); });
  for (auto& t : threads) t.join();
  const double publish_seconds = std::chrono::duration<double>(Clock::now() - start).count();

  long long done = 0;
  auto finished = Clock::now();
  while (Clock::now() < run.deadline) {
    done = subscriber ? subscriber->received.load() : mqtt_ingested(*metrics) - before;
    finished = Clock::now();
    if (done >= run.count) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(sink == "subscriber" ? 1 : 5));
  }
  if (subscriber && done > 0)
    finished = Clock::time_point(Clock::duration(subscriber->last_arrival_ns.load()));
  const double elapsed = std::chrono::duration<double>(finished - start).count();
  subscriber.reset();
  const double rate = static_cast<double>(done) / elapsed;
  std::printf(
      "mqtt %s (QoS %d, %ld publishers, %zu-byte payloads): %lld of %ld messages in %.2f s = "
      "%.0f messages/s (publishing took %.2f s)\n",
      sink == "broker" ? "ingest into databroker" : "relay to a plain subscriber", run.qos,
      run.publishers, air_quality_payload(core::SystemClock{}.now_ms(), 0).size(), done, run.count,
      elapsed, rate, publish_seconds);
  std::printf("bench rate=%.0f done=%lld count=%ld publish_seconds=%.3f\n", rate, done, run.count,
              publish_seconds);
  mosquitto_lib_cleanup();
  return done >= run.count && failures == 0 ? 0 : 1;
}

}  // namespace databroker::loadgen
