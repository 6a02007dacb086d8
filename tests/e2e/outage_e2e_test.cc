// Outages with the real binary and a real Mosquitto, while a sensor keeps publishing QoS 1
// readings at a steady rate (libmosquitto, as many gateways do):
//  - Mosquitto stopped with SIGTERM and with SIGKILL for a few seconds: /readyz reports it, the
//    broker reconnects, and with SIGTERM every reading Mosquitto acknowledged arrives;
//  - databroker stopped for a minute: Mosquitto holds the backlog for its persistent session,
//    and after the restart it drains faster than it came in, with nothing lost.
// The figures are printed (docs/reliability.md), not asserted: only loss is.
#include <mosquitto.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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
      const bool complete = wait_until(
          [&] {
            arrived = stored(broker, dashboard, sensor);
            return missing(acked, arrived) == 0;
          },
          signal == SIGTERM ? 30s : 10s, 200ms);
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
  const bool drained = wait_until(
      [&] {
        arrived = stored(broker, dashboard, sensor);
        return missing(target, arrived) == 0;
      },
      std::chrono::seconds(60 + outage_s), 100ms);
  const double drain_s = seconds_since(restart);
  sensor.stop();
  const auto acked = sensor.acked();
  CHECK(wait_until(
      [&] {
        arrived = stored(broker, dashboard, sensor);
        return missing(acked, arrived) == 0;
      },
      30s, 200ms));
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
