// Outages with the real binary and a real Mosquitto, while a sensor keeps publishing QoS 1
// readings at a steady rate (libmosquitto, as many gateways do):
//  - Mosquitto stopped with SIGTERM and with SIGKILL for a few seconds: /readyz reports it, the
//    broker reconnects, and with SIGTERM every reading Mosquitto acknowledged arrives;
//  - databroker stopped for a minute: Mosquitto holds the backlog for its persistent session,
//    and after the restart it drains faster than it came in, with nothing lost.
// The figures are printed (docs/reliability.md), not asserted: only loss is.
#include <mosquitto.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "broker/core/time.h"
#include "tests/e2e/broker_process.h"

using namespace databroker;
using namespace databroker::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One sensor publishing reading i with ts = base + i at `rate` per second, QoS 1. `acked` holds
// the i Mosquitto acknowledged (PUBACK); libmosquitto reconnects by itself after an outage.
class Sensor {
 public:
  Sensor(std::uint16_t port, std::string id, int rate) : id_(std::move(id)), rate_(rate) {
    mosquitto_lib_init();
    handle_ = mosquitto_new(("e2e-" + id_).c_str(), true, this);
    REQUIRE(handle_ != nullptr);
    mosquitto_publish_callback_set(
        handle_, [](mosquitto*, void* self, int mid) { static_cast<Sensor*>(self)->on_ack(mid); });
    mosquitto_reconnect_delay_set(handle_, 1, 2, false);
    REQUIRE(mosquitto_connect(handle_, "127.0.0.1", port, 10) == MOSQ_ERR_SUCCESS);
    REQUIRE(mosquitto_loop_start(handle_) == MOSQ_ERR_SUCCESS);
    thread_ = std::thread([this] { run(); });
  }
  ~Sensor() {
    stop();
    mosquitto_disconnect(handle_);
    mosquitto_loop_stop(handle_, true);
    mosquitto_destroy(handle_);
  }

  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  std::set<int> acked() const {
    std::lock_guard lock(mutex_);
    return acked_;
  }
  std::size_t acked_count() const {
    std::lock_guard lock(mutex_);
    return acked_.size();
  }
  core::TimestampMs base() const { return base_; }
  const std::string& id() const { return id_; }

 private:
  void run() {
    const auto period = std::chrono::microseconds(1'000'000 / rate_);
    auto next = std::chrono::steady_clock::now();
    for (int i = 0; running_ && i < 1'000'000; ++i) {
      const std::string payload =
          json{{"ts", base_ + i}, {"values", {{"laeq", 40 + i % 50}}}}.dump();
      {
        // Held across the publish so that its acknowledgement cannot be handled before the mid
        // is recorded.
        std::lock_guard lock(mutex_);
        int mid = 0;
        if (mosquitto_publish(handle_, &mid, ("sensors/noise/" + id_).c_str(),
                              static_cast<int>(payload.size()), payload.data(), 1,
                              false) == MOSQ_ERR_SUCCESS) {
          pending_[mid] = i;
        }
      }
      next += period;
      std::this_thread::sleep_until(next);
    }
  }
  void on_ack(int mid) {
    std::lock_guard lock(mutex_);
    if (auto it = pending_.find(mid); it != pending_.end()) {
      acked_.insert(it->second);
      pending_.erase(it);
    }
  }

  const std::string id_;
  const int rate_;
  const core::TimestampMs base_ = core::SystemClock{}.now_ms() - 3'600'000;
  mosquitto* handle_ = nullptr;
  mutable std::mutex mutex_;
  std::map<int, int> pending_;  // mid → i
  std::set<int> acked_;
  std::atomic<bool> running_{true};
  std::thread thread_;
};

// The i of every reading of `sensor` in the log (ts - base), read as the dashboard.
std::set<int> stored(const Broker& broker, const std::string& dashboard, const Sensor& sensor) {
  std::set<int> out;
  for (const auto& [seq, reading] : read_all(broker.port(), dashboard)) {
    if (reading["sensor"] != sensor.id()) continue;
    const auto ts = core::parse_rfc3339(reading["ts"].get<std::string>());
    REQUIRE(ts);
    out.insert(static_cast<int>(*ts - sensor.base()));
  }
  return out;
}

std::size_t missing(const std::set<int>& acked, const std::set<int>& arrived) {
  std::size_t n = 0;
  for (int i : acked) n += arrived.count(i) == 0 ? 1 : 0;
  return n;
}

// Waits until every reading in `acked` is stored (true) or `deadline` passes; `arrived` holds
// what was stored at the last look.
bool wait_stored(const Broker& broker, const std::string& dashboard, const Sensor& sensor,
                 const std::set<int>& acked, std::chrono::milliseconds deadline,
                 std::set<int>& arrived) {
  return wait_until(
      [&] {
        arrived = stored(broker, dashboard, sensor);
        return missing(acked, arrived) == 0;
      },
      deadline, std::chrono::milliseconds(100));
}

}  // namespace

TEST_CASE(
    "a Mosquitto outage shows in /readyz, the broker reconnects, and with SIGTERM loses nothing",
    "[e2e][outage]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string dashboard = broker.create_key("city-dashboard");
  broker.start();
  REQUIRE(broker.wait_ready());

  for (const int signal : {SIGTERM, SIGKILL}) {
    const char* name = signal == SIGTERM ? "SIGTERM" : "SIGKILL";
    DYNAMIC_SECTION("Mosquitto stopped with " << name) {
      Sensor sensor(mosquitto.port(), std::string("e2e-outage-") + name, 100);
      std::this_thread::sleep_for(1500ms);
      const auto down = std::chrono::steady_clock::now();
      mosquitto.stop(signal);
      CHECK(wait_until([&] { return probe(broker.port(), "/readyz") == 503; }, 10s));
      const double noticed = seconds_since(down);
      std::this_thread::sleep_until(down + 4s);
      CHECK(probe(broker.port(), "/readyz") == 503);
      CHECK(probe(broker.port(), "/healthz") == 200);  // alive, only not ready
      REQUIRE(mosquitto.start());
      const auto up = std::chrono::steady_clock::now();
      CHECK(wait_until([&] { return probe(broker.port(), "/readyz") == 200; }, 20s, 20ms));
      const double reconnected = seconds_since(up);
      std::this_thread::sleep_for(1500ms);
      sensor.stop();

      const auto acked = sensor.acked();
      std::set<int> arrived;
      const bool complete =
          wait_stored(broker, dashboard, sensor, acked, signal == SIGTERM ? 30s : 10s, arrived);
      std::printf(
          "Mosquitto %s for 4 s: /readyz 503 after %.2f s, ready again %.2f s after "
          "Mosquitto was back; %zu readings acknowledged by Mosquitto, %zu stored, %zu "
          "lost\n",
          name, noticed, reconnected, acked.size(), arrived.size(), missing(acked, arrived));
      CHECK(acked.size() > 200);
      if (signal == SIGTERM) CHECK(complete);
    }
  }
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE(
    "a broker outage: Mosquitto holds the backlog, which drains faster than it came, and "
    "nothing is lost",
    "[e2e][outage]") {
  const char* seconds_env = std::getenv("DATABROKER_OUTAGE_SECONDS");
  const int outage_s = seconds_env != nullptr ? std::max(1, std::atoi(seconds_env)) : 60;
  constexpr int kRate = 200;  // readings per second from the sensor
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string dashboard = broker.create_key("city-dashboard");
  broker.start();
  REQUIRE(broker.wait_ready());

  Sensor sensor(mosquitto.port(), "e2e-broker-outage", kRate);
  std::this_thread::sleep_for(2s);
  REQUIRE(broker.stop(SIGTERM) == 0);
  const std::size_t before = sensor.acked_count();
  std::this_thread::sleep_for(std::chrono::seconds(outage_s));
  const std::size_t backlog = sensor.acked_count() - before;

  const auto restart = std::chrono::steady_clock::now();
  broker.start();
  const auto target = sensor.acked();  // everything acknowledged up to the restart
  std::set<int> arrived;
  const bool drained =
      wait_stored(broker, dashboard, sensor, target, std::chrono::seconds(60 + outage_s), arrived);
  const double drain_s = seconds_since(restart);
  sensor.stop();
  const auto acked = sensor.acked();
  CHECK(wait_stored(broker, dashboard, sensor, acked, 30s, arrived));
  std::printf(
      "databroker stopped for %d s under %d readings/s: backlog %zu readings, all stored "
      "%.2f s after the restart (process start included): %.0f readings/s, %.1f x the "
      "incoming rate; %zu acknowledged in all, %zu lost\n",
      outage_s, kRate, backlog, drain_s, backlog / drain_s, backlog / drain_s / kRate, acked.size(),
      missing(acked, arrived));
  CHECK(drained);
  CHECK(backlog > static_cast<std::size_t>(outage_s * kRate / 2));
  CHECK(missing(acked, arrived) == 0);
  CHECK(broker.stop(SIGTERM) == 0);
}

namespace {

// A tmpfs of `megabytes` on `path`, unmounted when the object dies. Needs root (CI runs as
// root); `mounted()` says whether it worked.
class SmallDisk {
 public:
  SmallDisk(std::string path, int megabytes) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    mounted_ = run_command({"mount", "-t", "tmpfs", "-o", "size=" + std::to_string(megabytes) + "m",
                            "tmpfs", path_},
                           10s) == 0;
  }
  ~SmallDisk() {
    if (mounted_) (void)run_command({"umount", "-l", path_}, 10s);
  }
  bool mounted() const { return mounted_; }
  bool grow(int megabytes) {
    return run_command({"mount", "-o", "remount,size=" + std::to_string(megabytes) + "m", path_},
                       10s) == 0;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

std::string metric_line(std::uint16_t port, const std::string& name) {
  const auto body = HttpClient(port).get("/metrics").body;
  const auto pos = body.find("\n" + name + " ");
  return pos == std::string::npos ? "" : body.substr(pos + 1, body.find('\n', pos + 1) - pos - 1);
}

}  // namespace

TEST_CASE(
    "disk full: ingest answers 503, reads go on, nothing acknowledged is lost, and "
    "ingest resumes by itself once space is freed",
    "[e2e][disk]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  // The example configuration with a reserve of 48 MiB, on a 160 MiB file system of its own.
  TempDir config_dir;
  std::string config_text = read_file(kExampleConfig);
  const auto pos = config_text.find("min_free_mb: 128");
  REQUIRE(pos != std::string::npos);
  config_text.replace(pos, 16, "min_free_mb: 48");
  write_file(config_dir.file("databroker.yaml"), config_text);
  for (const char* beside : {"sensors.example.yaml", "policy.example.yaml"}) {
    write_file(config_dir.file(beside),
               read_file(std::string(DATABROKER_SOURCE_DIR) + "/deploy/" + beside));
  }
  Broker broker(mosquitto, config_dir.file("databroker.yaml"));
  SmallDisk disk(broker.data_dir(), 160);
  if (!disk.mounted()) {
    // Only root may mount; the README's test command runs as root, as CI does.
    REQUIRE(::getuid() != 0);
    WARN("not root: cannot mount a small tmpfs, the disk-full test is not run");
    return;
  }
  const std::string gateway = broker.create_key("sensor-gateway");
  const std::string dashboard = broker.create_key("city-dashboard");
  broker.start();
  REQUIRE(broker.wait_ready());
  // Another program fills the disk to a few MiB above the reserve.
  struct statvfs fs {};
  REQUIRE(::statvfs(broker.data_dir().c_str(), &fs) == 0);
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  REQUIRE(free_bytes > (56ull << 20));
  const std::string filler = broker.data_dir() + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(1 << 20, 'f');
    for (std::uint64_t written = 0; written + (56ull << 20) < free_bytes; written += block.size())
      out << block;
  }

  HttpClient client(broker.port());
  std::map<std::uint64_t, int> acknowledged;  // seq → laeq
  const auto ingest_batch = [&](int tag) {
    json batch = json::array();
    for (int i = 0; i < 1000; ++i) {
      batch.push_back({{"sensor", "e2e-full-" + std::to_string(i % 20)},
                       {"kind", "noise"},
                       {"values", {{"laeq", (tag + i) % 100}, {"note", std::string(200, 'x')}}}});
    }
    HttpReply reply;
    try {
      reply = client.post("/v1/readings", batch.dump(), bearer(gateway));
    } catch (const std::exception& e) {
      const std::string log = broker.log();
      FAIL("the broker stopped answering ("
           << e.what() << "); the end of its log:\n"
           << log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
    }
    if (reply.status == 202) {
      std::uint64_t seq = json::parse(reply.body)["first_seq"];
      for (int i = 0; i < 1000; ++i) acknowledged[seq++] = (tag + i) % 100;
    }
    return reply;
  };
  unsigned refusal = 0;
  int batches = 0;
  for (; batches < 500 && refusal == 0; ++batches) {
    const auto reply = ingest_batch(batches);
    if (reply.status != 202) {
      refusal = reply.status;
      INFO(reply.body);
      CHECK(reply.header("Content-Type") == "application/problem+json");
    }
  }
  INFO(broker.log());
  REQUIRE(refusal == 503);  // the reserve was reached before 500 batches
  const std::size_t before_full = acknowledged.size();
  // Full: ingest refused, not ready, the metric says why; reads and health go on.
  CHECK(ingest_batch(1000).status == 503);
  CHECK(probe(broker.port(), "/readyz") == 503);
  CHECK(probe(broker.port(), "/healthz") == 200);
  CHECK(metric_line(broker.port(), "databroker_log_writable") == "databroker_log_writable 0");
  CHECK(client.get("/v1/streams/e2e-full-3/latest", bearer(dashboard)).status == 200);
  CHECK(client.get("/v1/streams/e2e-full-3/readings?limit=100", bearer(dashboard)).status == 200);

  // MQTT readings published meanwhile are held back (not acknowledged to Mosquitto), not lost.
  const core::TimestampMs mqtt_ts = core::SystemClock{}.now_ms() - 60'000;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q", "1",
                         "-t", "sensors/noise/e2e-full-mqtt", "-m",
                         json{{"ts", mqtt_ts + i}, {"values", {{"laeq", 60 + i}}}}.dump()},
                        10s) == 0);
  }
  std::this_thread::sleep_for(500ms);
  CHECK(metric_line(broker.port(), "databroker_mqtt_messages_lost_total") ==
        "databroker_mqtt_messages_lost_total 0");

  // Space is freed: ready again and ingest resumes, without a restart.
  std::filesystem::remove(filler);
  const auto freed = std::chrono::steady_clock::now();
  REQUIRE(wait_until([&] { return probe(broker.port(), "/readyz") == 200; }, 10s, 20ms));
  const double ready_after = seconds_since(freed);
  CHECK(metric_line(broker.port(), "databroker_log_writable") == "databroker_log_writable 1");
  CHECK(ingest_batch(7).status == 202);
  // The held MQTT readings arrive.
  CHECK(wait_until(
      [&] {
        const auto reply =
            client.get("/v1/streams/e2e-full-mqtt/readings?limit=100", bearer(dashboard));
        return reply.status == 200 && json::parse(reply.body)["readings"].size() == 5;
      },
      20s, 100ms));
  CHECK(metric_line(broker.port(), "databroker_mqtt_messages_lost_total") ==
        "databroker_mqtt_messages_lost_total 0");

  const auto stored = read_all(broker.port(), dashboard);
  std::size_t missing = 0, different = 0;
  for (const auto& [seq, laeq] : acknowledged) {
    auto it = stored.find(seq);
    if (it == stored.end()) {
      ++missing;
    } else if (it->second["values"]["laeq"] != laeq) {
      ++different;
    }
  }
  std::printf(
      "disk full: %zu readings acknowledged before the reserve was reached (%d batches), "
      "then 503; ready %.2f s after space was freed, ingest resumed without a restart; "
      "%zu missing, %zu different\n",
      before_full, batches, ready_after, missing, different);
  CHECK(missing == 0);
  CHECK(different == 0);
  CHECK(broker.stop(SIGTERM) == 0);
}
