// The real binary, started as the README starts it (`databroker serve --config
// deploy/databroker.example.yaml`), with only the per-host settings overridden from the
// environment: a free HTTP port, the test's Mosquitto, a temporary data directory.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "broker/core/time.h"
#include "tests/e2e/broker_process.h"
#include "tests/support/http_client.h"
#include "tests/support/mosquitto.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"
#include "tests/support/webhook_receiver.h"

using namespace databroker;
using namespace databroker::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string noise_batch(int first, int count, core::TimestampMs ts) {
  json batch = json::array();
  for (int i = first; i < first + count; ++i) {
    batch.push_back({{"sensor", "e2e-noise-" + std::to_string(i % 7)},
                     {"kind", "noise"},
                     {"ts", ts},
                     {"values", {{"laeq", i % 150}, {"battery", 90}}}});
  }
  return batch.dump();
}

}  // namespace

TEST_CASE("the broker ingests over HTTP and MQTT and serves the readings to the dashboard",
          "[e2e]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  broker.start();
  REQUIRE(broker.wait_ready());
  const std::string dashboard = broker.create_key("city-dashboard");  // while it runs

  HttpClient client(broker.port());
  auto posted = client.post(
      "/v1/sensors/air_quality/gent-aq-001/readings",
      R"({"ts":"2026-11-28T10:15:00Z","values":{"pm25":12.3,"no2":31},"location":{"lat":51.054,"lon":3.717}})",
      bearer(gateway));
  INFO(posted.body);
  REQUIRE(posted.status == 202);
  CHECK(json::parse(posted.body)["accepted"] == 1);

  REQUIRE(
      run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q", "1", "-t",
                   "sensors/noise/gent-noise-7", "-m", R"({"values":{"laeq":61.5,"lamax":78}})"},
                  10s) == 0);
  bool arrived = wait_until(
      [&] {
        return client.get("/v1/streams/gent-noise-7/latest", bearer(dashboard)).status == 200;
      },
      10s);
  INFO(broker.log());
  REQUIRE(arrived);
  auto latest = json::parse(client.get("/v1/streams/gent-noise-7/latest", bearer(dashboard)).body);
  CHECK(latest["values"]["laeq"] == 61.5);
  CHECK(latest["kind"] == "noise");

  auto streams = json::parse(client.get("/v1/streams", bearer(dashboard)).body)["streams"];
  std::vector<std::string> ids;
  for (auto& s : streams) ids.push_back(s["id"]);
  CHECK(std::find(ids.begin(), ids.end(), "gent-aq-001") != ids.end());
  CHECK(std::find(ids.begin(), ids.end(), "gent-noise-7") != ids.end());

  // The example policy: air quality is open data through its open view; bins are not.
  auto open = client.get("/v1/streams/gent-aq-001/latest");
  REQUIRE(open.status == 200);
  CHECK(json::parse(open.body)["location"]["lat"] == 51.054);  // rounded to 4 decimals
  REQUIRE(client
              .post("/v1/sensors/waste_bin/gent-bin-vrijdagmarkt-03/readings",
                    R"({"values":{"fill_level":70}})", bearer(gateway))
              .status == 202);
  CHECK(client.get("/v1/streams/gent-bin-vrijdagmarkt-03").status == 404);
  CHECK(client.get("/v1/streams/gent-bin-vrijdagmarkt-03", bearer(gateway)).status == 404);
  CHECK(client.get("/v1/streams/gent-bin-vrijdagmarkt-03", bearer(dashboard)).status == 200);

  // A key revoked from the command line while the server runs is refused from the next request.
  auto [list_code, listing] = broker.cli({"keys", "list"});
  REQUIRE(list_code == 0);
  CHECK(listing.find("dbk_") == std::string::npos);  // never a secret
  std::string dashboard_id = dashboard.substr(4, 12);
  CHECK(broker.cli({"keys", "revoke", dashboard_id}).first == 0);
  CHECK(client.get("/v1/streams", bearer(dashboard)).status == 401);

  CHECK(broker.stop(SIGTERM) == 0);
  CHECK(broker.log().find("stopped cleanly") != std::string::npos);
}

TEST_CASE(
    "SenML, The Things Stack and ChirpStack payloads from mosquitto_pub and HTTP are "
    "read back with their values, time and sensor id",
    "[e2e][formats]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  const std::string dashboard = broker.create_key("city-dashboard");
  broker.start();
  REQUIRE(broker.wait_ready());
  HttpClient client(broker.port());
  // Recent times: the example policy's rule retention would remove readings from two years ago.
  const core::TimestampMs base = (core::SystemClock().now_ms() / 1000 - 3600) * 1000;
  const std::string at = core::format_rfc3339(base), later = core::format_rfc3339(base + 60'000);
  const std::string bt = std::to_string(base / 1000);
  const auto pub = [&](const std::string& topic, const std::string& payload) {
    return run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q", "1",
                        "-t", topic, "-m", payload},
                       10s) == 0;
  };
  const auto latest = [&](const std::string& id) -> json {
    json out;
    wait_until(
        [&] {
          auto reply = client.get("/v1/streams/" + id + "/latest", bearer(dashboard));
          if (reply.status == 200) out = json::parse(reply.body);
          return reply.status == 200;
        },
        10s);
    INFO(broker.log());
    REQUIRE_FALSE(out.is_null());
    return out;
  };

  REQUIRE(pub("senml/noise/e2e-noise-1",
              R"([{"bn":"urn:dev:ops:e2e-noise-1:","bt":)" + bt +
                  R"(,"n":"LAeq","u":"dB",)"
                  R"("v":61.5},{"n":"LAmax","u":"dB","v":78},{"n":"lat","u":"lat","v":51.05},)"
                  R"({"n":"lon","u":"lon","v":3.72}])"));
  auto noise = latest("e2e-noise-1");
  CHECK(noise["kind"] == "noise");
  CHECK(noise["ts"] == at);
  CHECK(noise["values"]["laeq"] == 61.5);
  CHECK(noise["values"]["lamax"] == 78);
  CHECK(noise["location"]["lat"] == 51.05);

  REQUIRE(pub("v3/city-air@demo/devices/e2e-aq-9/up",
              R"({"end_device_ids":{"device_id":"e2e-aq-9","dev_eui":"70B3D57ED0041234"},)"
              R"("received_at":")" +
                  at +
                  R"(","uplink_message":{"decoded_payload":)"
                  R"({"pm2_5":8.4,"pm10":14.9,"no2":21.3,"temperature":11.6,"humidity":0.785},)"
                  R"("locations":{"user":{"latitude":50.88,"longitude":4.7}}}})"));
  auto air = latest("e2e-aq-9");
  CHECK(air["ts"] == at);
  CHECK(air["values"]["pm25"] == 8.4);
  CHECK(air["values"]["humidity"] == 78.5);

  REQUIRE(pub("application/6f1c2a9e-4b7d-4e0a-9c55-2d3b8f7a1e10/device/0004a30b00f1e2d3/event/up",
              R"({"time":")" + later +
                  R"(","deviceInfo":{"deviceName":"e2e-spot-3",)"
                  R"("devEui":"0004a30b00f1e2d3"},"object":{"occupied":true,"battery_v":3.6}})"));
  auto spot = latest("e2e-spot-3");
  CHECK(spot["kind"] == "parking");
  CHECK(spot["ts"] == later);
  CHECK(spot["values"] == json{{"occupied", true}});

  const std::string uplink =
      R"({"end_device_ids":{"device_id":"e2e-bin-4"},"uplink_message":{"received_at":)"
      R"(")" +
      at +
      R"(","decoded_payload":{"level":"830 mm","full":false,"fire":false,)"
      R"("tilt":false,"battery":false,"angle":"0 °","temperature":"19 ℃"}}})";
  auto posted = client.post("/v1/ingest/tts-waste", uplink, bearer(gateway));
  INFO(posted.body);
  REQUIRE(posted.status == 202);
  auto bin = latest("e2e-bin-4");
  CHECK(bin["values"]["fill_level"] == 37);
  CHECK(bin["values"]["temperature"] == 19);
  CHECK(client.post("/v1/ingest/chirpstack-waste?event=status", "{}", bearer(gateway)).status ==
        204);

  // Hostile payloads are refused and counted; the broker stays up.
  REQUIRE(pub("senml/noise/e2e-noise-1", R"([{"n":"LAeq","u":"Cel","v":1}])"));
  REQUIRE(pub("v3/city-waste@demo/devices/e2e-bin-4/up",
              R"({"end_device_ids":{"device_id":"e2e-bin-4"},"uplink_message":{}})"));
  REQUIRE(pub("senml/noise/e2e-noise-1", std::string(5000, '[')));
  bool counted = wait_until(
      [&] {
        auto metrics = client.get("/metrics").body;
        return metrics.find(
                   "databroker_mqtt_messages_rejected_total{reason=\"unit_mismatch\"} 1") !=
                   std::string::npos &&
               metrics.find("reason=\"missing_decoded_payload\"} 1") != std::string::npos &&
               metrics.find("reason=\"malformed_json\"} 1") != std::string::npos;
      },
      10s);
  INFO(client.get("/metrics").body);
  CHECK(counted);
  CHECK(client.get("/healthz").status == 200);
  CHECK(latest("e2e-noise-1")["values"]["laeq"] == 61.5);
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE("every reading acknowledged with 202 survives SIGKILL with the same seq",
          "[e2e][crash]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  for (const char* durability : {"sync", "buffered"}) {
    DYNAMIC_SECTION("durability " << durability) {
      TempDir config_dir;
      std::string config_text = read_file(kExampleConfig);
      auto pos = config_text.find("durability: sync");
      REQUIRE(pos != std::string::npos);
      config_text.replace(pos, 16, std::string("durability: ") + durability);
      // The example's sensors file is relative to the config: copy both.
      std::string config_path = config_dir.file("databroker.yaml");
      write_file(config_path, config_text);
      for (const char* beside : {"sensors.example.yaml", "policy.example.yaml"}) {
        write_file(config_dir.file(beside),
                   read_file(std::string(DATABROKER_SOURCE_DIR) + "/deploy/" + beside));
      }

      Broker broker(mosquitto, config_path);
      const std::string gateway = broker.create_key("sensor-gateway");
      const std::string dashboard = broker.create_key("city-dashboard");
      std::map<std::uint64_t, std::pair<std::string, int>> acknowledged;  // seq → (sensor, laeq)
      int next_value = 0;
      // 20 in the suite; the documented long run sets DATABROKER_CRASH_KILLS=100.
      const char* kills_env = std::getenv("DATABROKER_CRASH_KILLS");
      const int kKills = kills_env != nullptr ? std::max(1, std::atoi(kills_env)) : 20;
      std::vector<double> ready_ms;  // restart (process start) to /readyz 200
      for (int round = 0; round < kKills; ++round) {
        const auto started = std::chrono::steady_clock::now();
        broker.start();
        REQUIRE(broker.wait_ready());
        ready_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count());
        std::atomic<bool> stop{false};
        std::mutex mutex;
        std::thread writer([&] {
          std::optional<HttpClient> client;
          while (!stop) {
            int first = next_value;
            HttpReply reply;
            try {
              if (!client) client.emplace(broker.port());
              reply =
                  client->post("/v1/readings", noise_batch(first, 10, core::SystemClock{}.now_ms()),
                               bearer(gateway));
            } catch (const std::exception&) {
              break;  // killed under us
            }
            if (reply.status != 202) break;  // killed under us: this batch is not acknowledged
            auto body = json::parse(reply.body);
            std::lock_guard lock(mutex);
            std::uint64_t seq = body["first_seq"];
            for (int i = first; i < first + 10; ++i) {
              acknowledged[seq++] = {"e2e-noise-" + std::to_string(i % 7), i % 150};
            }
            next_value = first + 10;
          }
        });
        std::size_t before = acknowledged.size();
        wait_until(
            [&] {
              std::lock_guard lock(mutex);
              return acknowledged.size() >= before + 200;
            },
            20s);
        broker.stop(SIGKILL);
        stop = true;
        writer.join();
      }
      broker.start();
      auto stored = read_all(broker.port(), dashboard);
      INFO(broker.log());
      REQUIRE(acknowledged.size() >= static_cast<std::size_t>(kKills) * 200);
      std::size_t missing = 0, different = 0;
      for (const auto& [seq, expected] : acknowledged) {
        auto it = stored.find(seq);
        if (it == stored.end()) {
          ++missing;
          continue;
        }
        if (it->second["sensor"] != expected.first ||
            it->second["values"]["laeq"] != expected.second) {
          ++different;
        }
      }
      CHECK(missing == 0);
      CHECK(different == 0);
      // seqs only grow: the restarted broker continues after the highest stored seq.
      CHECK(stored.rbegin()->first >= acknowledged.rbegin()->first);
      CHECK(broker.stop(SIGTERM) == 0);
      std::sort(ready_ms.begin(), ready_ms.end());
      std::printf(
          "crash loop (%s): %d SIGKILLs under HTTP ingest, %zu readings acknowledged, %zu "
          "missing; restart to ready: min %.0f ms, median %.0f ms, max %.0f ms\n",
          durability, kKills, acknowledged.size(), missing, ready_ms.front(),
          ready_ms[ready_ms.size() / 2], ready_ms.back());
    }
  }
}

TEST_CASE("configuration problems stop the start with file:line reasons and exit status 2",
          "[e2e][config]") {
  TempDir dir;
  std::string config = dir.file("bad.yaml");
  write_file(config, "http:\n  port: 99999\n  thread: 2\nstorage:\n  durability: sometimes\n");
  std::string out = dir.file("out.log");
  auto child = ChildProcess::start({kBinary, "serve", "--config", config}, {}, out);
  auto code = child.wait(20s);
  auto output = read_file(out);
  INFO(output);
  CHECK(code == 2);
  CHECK(output.find(config + ":2:") != std::string::npos);
  CHECK(output.find(config + ":3:") != std::string::npos);
  CHECK(output.find(config + ":5:") != std::string::npos);
}

TEST_CASE("every command answers --help and the version", "[e2e][cli]") {
  for (auto args : std::vector<std::vector<std::string>>{{"--help"},
                                                         {"serve", "--help"},
                                                         {"keys", "--help"},
                                                         {"version", "--help"},
                                                         {"version"}}) {
    std::vector<std::string> argv{kBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = ChildProcess::start(argv, {}, "/dev/null");
    CHECK(child.wait(10s) == 0);
  }
  auto unknown = ChildProcess::start({kBinary, "frobnicate"}, {}, "/dev/null");
  CHECK(unknown.wait(10s) == 64);
  auto bad_option =
      ChildProcess::start({kBinary, "serve", "--no-such-option", "x"}, {}, "/dev/null");
  CHECK(bad_option.wait(10s) == 64);
}

TEST_CASE("policy check and explain work from the command line", "[e2e][cli][policy]") {
  TempDir dir;
  const std::string deploy = std::string(DATABROKER_SOURCE_DIR) + "/deploy/";
  const auto run = [&](std::vector<std::string> args) {
    std::string out = dir.file("out-" + std::to_string(args.size()) + args[1] + ".log");
    std::vector<std::string> argv{kBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--config");
    argv.push_back(kExampleConfig);
    auto child = ChildProcess::start(argv, {}, out);
    return std::pair{child.wait(20s).value_or(-1), read_file(out)};
  };
  auto [valid_code, valid] = run({"policy", "check", deploy + "policy.example.yaml"});
  INFO(valid);
  CHECK(valid_code == 0);
  CHECK(valid.find("valid") != std::string::npos);

  const std::string broken = dir.file("broken.yaml");
  write_file(broken, "rules:\n  - name: a\n    match: {kind: volcano}\n    class: open\n");
  auto [broken_code, problems] = run({"policy", "check", broken});
  INFO(problems);
  CHECK(broken_code == 1);
  CHECK(problems.find(broken + ":3: error:") != std::string::npos);

  auto [explain_code, explained] =
      run({"policy", "explain", "--stream", "gent-parking-ledeberg-ev-01", "--profile",
           "mobility-partner", "--at", "2026-11-28T12:00:00Z"});
  INFO(explained);
  CHECK(explain_code == 0);
  CHECK(explained.find("on-street parking, shared for the circulation plan") != std::string::npos);
  CHECK(explained.find("class: shared") != std::string::npos);
  CHECK(explained.find("does not match") != std::string::npos);
}

namespace {

// The streams a caller can reach, path by path; each path must agree with the others.
struct Seen {
  std::set<std::string> listed, metadata, latest, history, feed;
};

Seen seen_by(std::uint16_t port, const std::string& key, const std::vector<std::string>& streams) {
  HttpClient client(port);
  const HeaderList auth = key.empty() ? HeaderList{} : bearer(key);
  Seen seen;
  auto list = json::parse(client.get("/v1/streams", auth).body);
  for (const auto& s : list["streams"]) {
    // Declared sensors without readings are listed too; only the streams under test count.
    const auto id = s["id"].get<std::string>();
    if (std::find(streams.begin(), streams.end(), id) != streams.end()) seen.listed.insert(id);
  }
  for (const auto& id : streams) {
    if (client.get("/v1/streams/" + id, auth).status == 200) seen.metadata.insert(id);
    if (client.get("/v1/streams/" + id + "/latest", auth).status == 200) seen.latest.insert(id);
    if (client.get("/v1/streams/" + id + "/readings", auth).status == 200) seen.history.insert(id);
  }
  auto feed = json::parse(client.get("/v1/readings?limit=1000", auth).body);
  for (const auto& r : feed["readings"]) seen.feed.insert(r["sensor"].get<std::string>());
  return seen;
}

void check_sees_exactly(const Seen& seen, const std::set<std::string>& expected) {
  CHECK(seen.listed == expected);
  CHECK(seen.metadata == expected);
  CHECK(seen.latest == expected);
  CHECK(seen.history == expected);
  CHECK(seen.feed == expected);
}

}  // namespace

TEST_CASE("with a realistic policy every caller sees exactly its allowance on every read path",
          "[e2e][policy]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  TempDir config_dir;
  const std::string deploy = std::string(DATABROKER_SOURCE_DIR) + "/deploy/";
  write_file(config_dir.file("databroker.yaml"), read_file(kExampleConfig));
  write_file(config_dir.file("sensors.example.yaml"), read_file(deploy + "sensors.example.yaml"));
  // The mobility partner's grant ends a few seconds from now: it must stop by itself.
  const core::TimestampMs grant_end = core::SystemClock{}.now_ms() + 8000;
  const auto policy_text = [&](const char* air_class) {
    return std::string(
               "rules:\n"
               "  - name: night-life noise stays closed\n"
               "    match: {kind: noise, tags: [nightlife]}\n"
               "    class: closed\n"
               "  - name: air quality\n"
               "    match: {kind: air_quality}\n"
               "    class: ") +
           air_class + "\n" +
           (std::string(air_class) == "open"
                ? "    open_view: {round_location: 3, drop: [battery]}\n"
                : "") +
           "  - name: on-street parking for the mobility plan\n"
           "    match: {kind: parking}\n"
           "    class: shared\n"
           "    grants:\n"
           "      - {profile: mobility-partner, purpose: circulation plan, legal_basis: agreement "
           "2026/114, until: \"" +
           core::format_rfc3339(grant_end) +
           "\", view: {drop: [rssi]}}\n"
           "  - name: IVAGO bins for the contractor\n"
           "    match: {kind: waste_bin, owner: IVAGO}\n"
           "    class: shared\n"
           "    grants:\n"
           "      - {profile: waste-contractor, purpose: collection rounds, legal_basis: "
           "concession 2024/33, until: 2099-12-31}\n";
  };
  const std::string policy_path = config_dir.file("policy.example.yaml");
  write_file(policy_path, policy_text("open"));

  Broker broker(mosquitto, config_dir.file("databroker.yaml"));
  const std::string gateway = broker.create_key("sensor-gateway");
  const std::string dashboard = broker.create_key("city-dashboard");
  const std::string mobility = broker.create_key("mobility-partner");
  const std::string contractor = broker.create_key("waste-contractor");
  const std::string ops = broker.create_key("ops");
  broker.start();

  HttpClient client(broker.port());
  const std::string air = "gent-aq-korenmarkt", parking = "gent-parking-ledeberg-ev-01",
                    bin = "gent-bin-vrijdagmarkt-03", noise = "gent-noise-overpoort";
  const auto now = core::SystemClock{}.now_ms();
  const std::string batch =
      json::array(
          {{{"sensor", air},
            {"kind", "air_quality"},
            {"ts", now},
            {"values", {{"pm25", 11.5}, {"battery", 80}}},
            {"location", {{"lat", 51.05512}, {"lon", 3.72177}}}},
           {{"sensor", parking},
            {"kind", "parking"},
            {"ts", now},
            {"values", {{"occupied", true}, {"rssi", -97}}}},
           {{"sensor", bin},
            {"kind", "waste_bin"},
            {"ts", now},
            {"values", {{"fill_level", 64}, {"temperature", 18}}}},
           {{"sensor", noise}, {"kind", "noise"}, {"ts", now}, {"values", {{"laeq", 71.2}}}}})
          .dump();
  REQUIRE(client.post("/v1/readings", batch, bearer(gateway)).status == 202);
  const std::vector<std::string> all{air, parking, bin, noise};

  check_sees_exactly(seen_by(broker.port(), "", all), {air});
  check_sees_exactly(seen_by(broker.port(), mobility, all), {air, parking});
  check_sees_exactly(seen_by(broker.port(), contractor, all), {air, bin});
  check_sees_exactly(seen_by(broker.port(), dashboard, all), {air, parking, bin, noise});

  // Through their views: open data without battery and with a coarse location; the partner's
  // parking data without rssi; the dashboard raw.
  auto open = json::parse(client.get("/v1/streams/" + air + "/latest").body);
  CHECK_FALSE(open["values"].contains("battery"));
  CHECK(open["location"]["lat"] == 51.055);
  auto shared =
      json::parse(client.get("/v1/streams/" + parking + "/latest", bearer(mobility)).body);
  CHECK_FALSE(shared["values"].contains("rssi"));
  auto raw = json::parse(client.get("/v1/streams/" + parking + "/latest", bearer(dashboard)).body);
  CHECK(raw["values"]["rssi"] == -97);

  // Each partner read of shared data is in the audit trail.
  bool audited = wait_until(
      [&] {
        auto reply = client.get("/v1/admin/audit?profile=mobility-partner&limit=1000", bearer(ops));
        if (reply.status != 200) return false;
        std::set<std::string> actions;
        const auto body = json::parse(reply.body);
        for (const auto& r : body["records"]) actions.insert(r["action"].get<std::string>());
        return actions.count("GET /v1/streams/{id}/latest") && actions.count("GET /v1/readings") &&
               actions.count("GET /v1/streams/{id}/readings");
      },
      10s);
  CHECK(audited);

  // A grant past its end stops by itself.
  INFO("grant ends at " << core::format_rfc3339(grant_end));
  CHECK(wait_until(
      [&] { return client.get("/v1/streams/" + parking, bearer(mobility)).status == 404; }, 20s));
  check_sees_exactly(seen_by(broker.port(), mobility, all), {air});

  // A tightening reload (SIGHUP) applies at once, to history too.
  write_file(policy_path, policy_text("closed"));
  broker.signal(SIGHUP);
  CHECK(wait_until([&] { return client.get("/v1/streams/" + air + "/readings").status == 404; },
                   10s));
  check_sees_exactly(seen_by(broker.port(), "", all), {});
  check_sees_exactly(seen_by(broker.port(), contractor, all), {bin});
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE("curl subscribers receive live readings over SSE through their policy views",
          "[e2e][sse]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  const std::string dashboard = broker.create_key("city-dashboard");
  broker.start();
  REQUIRE(broker.wait_ready());
  const std::string base = "http://127.0.0.1:" + std::to_string(broker.port());

  // An anonymous subscriber to open noise data, and the dashboard's browser with its key in the
  // query (EventSource cannot set headers), both as curl would stream them.
  const std::string open_out = broker.dir().file("open.sse");
  const std::string internal_out = broker.dir().file("internal.sse");
  auto anonymous = ChildProcess::start(
      {"curl", "-sN", "--max-time", "8", base + "/v1/subscribe?kind=noise", "-o", open_out});
  auto internal = ChildProcess::start(
      {"curl", "-sN", "--max-time", "8",
       base + "/v1/subscribe?kind=waste_bin&access_token=" + dashboard, "-o", internal_out});
  HttpClient client(broker.port());
  REQUIRE(wait_until(
      [&] {
        return client.get("/metrics").body.find("databroker_sse_subscribers 2") !=
               std::string::npos;
      },
      10s));
  // The hub counts them as followers of the log, by type.
  CHECK(client.get("/metrics").body.find("databroker_hub_subscribers{type=\"sse\"} 2\n") !=
        std::string::npos);

  REQUIRE(client
              .post("/v1/sensors/noise/gent-noise-7/readings",
                    R"({"values":{"laeq":63.5,"battery":91}})", bearer(gateway))
              .status == 202);
  REQUIRE(run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q", "1",
                       "-t", "sensors/waste_bin/gent-bin-vrijdagmarkt-03", "-m",
                       R"({"values":{"fill_level":81}})"},
                      10s) == 0);
  anonymous.wait(15s);
  internal.wait(15s);

  const std::string open_events = read_file(open_out);
  INFO(open_events);
  CHECK(open_events.find("event: reading") != std::string::npos);
  CHECK(open_events.find("\"laeq\":63.5") != std::string::npos);
  CHECK(open_events.find("battery") == std::string::npos);  // the open view drops it
  CHECK(open_events.find("fill_level") == std::string::npos);
  const std::string internal_events = read_file(internal_out);
  INFO(internal_events);
  CHECK(internal_events.find("\"fill_level\":81") != std::string::npos);
  // The key travelled in the query; it must not reach the broker's log.
  CHECK(broker.log().find(dashboard) == std::string::npos);
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE("npm eventsource and ws clients consume the live stream and resume after a disconnect",
          "[e2e][sse][websocket]") {
  const std::string script =
      std::string(DATABROKER_SOURCE_DIR) + "/tests/e2e/node/live_clients.mjs";
  const std::string modules = std::string(DATABROKER_SOURCE_DIR) + "/tests/e2e/node/node_modules";
  INFO("the npm clients are installed by deploy/test.sh (npm ci in tests/e2e/node)");
  REQUIRE(std::filesystem::exists(modules + "/eventsource"));
  REQUIRE(std::filesystem::exists(modules + "/ws"));
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  const std::string dashboard = broker.create_key("city-dashboard");
  broker.start();
  REQUIRE(broker.wait_ready());

  const std::string out = broker.dir().file("node.log");
  auto node =
      ChildProcess::start({"node", script},
                          {{"DATABROKER_URL", "http://127.0.0.1:" + std::to_string(broker.port())},
                           {"GATEWAY_KEY", gateway},
                           {"DASHBOARD_KEY", dashboard}},
                          out);
  const auto code = node.wait(90s);
  std::printf("%s", read_file(out).c_str());  // what the clients saw, for the test log
  INFO(read_file(out));
  CHECK(code == 0);
  CHECK(read_file(out).find("PASS") != std::string::npos);
  // The dashboard's key travelled in query strings; it must not reach the broker's log.
  CHECK(broker.log().find(dashboard) == std::string::npos);
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE(
    "npm @mapbox/geojsonhint accepts the GeoJSON of the real binary, placed like JSON and "
    "NGSI-LD",
    "[e2e][formats]") {
  const std::string node_dir = std::string(DATABROKER_SOURCE_DIR) + "/tests/e2e/node";
  INFO("the npm packages are installed by deploy/test.sh (npm ci in tests/e2e/node)");
  REQUIRE(std::filesystem::exists(node_dir + "/node_modules/@mapbox/geojsonhint"));
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  broker.start();
  REQUIRE(broker.wait_ready());
  HttpClient client(broker.port());
  const auto now = core::TimestampMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  // Open data in the example policy (air quality, location rounded to 4 decimals).
  for (int i = 0; i < 3; ++i) {
    const json reading = {{"ts", now - 60'000 + i * 1000},
                          {"values", {{"pm25", 10 + i}, {"humidity", 70}}},
                          {"location", {{"lat", 51.054321}, {"lon", 3.717654}}}};
    REQUIRE(
        client.post("/v1/sensors/air_quality/e2e-geo-1/readings", reading.dump(), bearer(gateway))
            .status == 202);
  }
  const std::string out = broker.dir().file("geojson.log");
  auto node =
      ChildProcess::start({"node", node_dir + "/geojson_check.mjs"},
                          {{"DATABROKER_URL", "http://127.0.0.1:" + std::to_string(broker.port())},
                           {"SENSOR", "e2e-geo-1"}},
                          out);
  const auto code = node.wait(60s);
  std::printf("%s", read_file(out).c_str());
  INFO(read_file(out));
  CHECK(code == 0);
  CHECK(read_file(out).find("PASS") != std::string::npos);
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE("/metrics passes Prometheus's own parser (promtool check metrics) after real traffic",
          "[e2e][metrics]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  broker.start();
  REQUIRE(broker.wait_ready());
  HttpClient client(broker.port());
  const auto now = core::TimestampMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  // Traffic that fills every family with labels: HTTP and MQTT ingest, a refused reading, a
  // key that does not authenticate, reads of several routes.
  REQUIRE(client.post("/v1/readings", noise_batch(0, 50, now - 1000), bearer(gateway)).status ==
          202);
  REQUIRE(client
              .post("/v1/sensors/noise/e2e-metrics-1/readings", R"({"values":{"laeq":190}})",
                    bearer(gateway))
              .status == 400);  // out of range: refused with the reason
  REQUIRE(client.get("/v1/streams", bearer("dbk_not-a-key")).status == 401);
  REQUIRE(client.get("/v1/streams").status == 200);
  REQUIRE(run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q", "1",
                       "-t", "sensors/noise/e2e-metrics-2", "-m", R"({"values":{"laeq":61.5}})"},
                      10s) == 0);
  REQUIRE(wait_until(
      [&] {
        return client.get("/metrics")
                   .body.find("databroker_readings_ingested_total{path=\"mqtt\"} 1\n") !=
               std::string::npos;
      },
      10s));

  const std::string metrics = client.get("/metrics").body;
  for (const char* family :
       {"databroker_log_commit_duration_seconds_bucket{le=\"0.001\"}",
        "databroker_log_commit_readings_bucket{le=\"64\"}", "databroker_log_size_bytes ",
        "databroker_policy_info{version=\"",
        "databroker_policy_reloads_total{result=\"installed\"} 1",
        "databroker_http_authentication_failures_total 1",
        "databroker_http_request_duration_seconds_bucket{route=\"/v1/readings\"",
        "databroker_readings_rejected_total{reason=\"", "databroker_mqtt_connected 1"}) {
    INFO(family);
    CHECK(metrics.find(family) != std::string::npos);
  }
  // Two group commits at least (the batch and the MQTT reading): the histograms counted them.
  CHECK(metrics.find("databroker_log_commit_readings_count 0\n") == std::string::npos);

  const std::string file = broker.dir().file("metrics.txt");
  {
    std::FILE* out = std::fopen(file.c_str(), "w");
    REQUIRE(out != nullptr);
    std::fwrite(metrics.data(), 1, metrics.size(), out);
    std::fclose(out);
  }
  const std::string report = broker.dir().file("promtool.log");
  auto promtool = ChildProcess::start({"sh", "-c", "promtool check metrics < " + file}, {}, report);
  const auto code = promtool.wait(30s);
  INFO(read_file(report));
  // promtool exits 0 for a well-formed exposition; lint remarks (names, HELP) also fail it.
  CHECK(code == 0);
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE("the fan-out load tool runs against the real binary and sees no loss",
          "[e2e][sse][tools]") {
  // A seconds-long run of tools/bench/fanout.sh's tool, so the benchmark keeps working; it exits
  // non-zero when any subscriber misses a reading. No timing is asserted.
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  broker.start();
  REQUIRE(broker.wait_ready());
  const std::string out = broker.dir().file("fanout.log");
  auto fanout = ChildProcess::start(
      {DATABROKER_FANOUT, "--port", std::to_string(broker.port()), "--ingest-key", gateway,
       "--subscribers", "5", "--rate", "500", "--seconds", "2", "--sensors", "10"},
      {}, out);
  const auto code = fanout.wait(60s);
  std::printf("%s", read_file(out).c_str());
  INFO(read_file(out));
  CHECK(code == 0);
  CHECK(read_file(out).find("lost 0, duplicates 0") != std::string::npos);
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE(
    "with republish on, mosquitto_sub on open/# gets open readings through the open view, "
    "and a restart resumes without repeating",
    "[e2e][republish]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  TempDir config_dir;
  std::string config_text = read_file(kExampleConfig);
  const std::string off = "  republish:\n    enabled: false";
  auto pos = config_text.find(off);
  REQUIRE(pos != std::string::npos);
  config_text.replace(pos, off.size(), "  republish:\n    enabled: true");
  const std::string config_path = config_dir.file("databroker.yaml");
  write_file(config_path, config_text);
  for (const char* beside : {"sensors.example.yaml", "policy.example.yaml"}) {
    write_file(config_dir.file(beside),
               read_file(std::string(DATABROKER_SOURCE_DIR) + "/deploy/" + beside));
  }
  Broker broker(mosquitto, config_path);
  const std::string gateway = broker.create_key("sensor-gateway");
  broker.start();
  REQUIRE(broker.wait_ready());
  HttpClient client(broker.port());
  REQUIRE(wait_until(
      [&] {
        return client.get("/metrics").body.find("databroker_mqtt_republish_connected 1") !=
               std::string::npos;
      },
      10s));

  const std::string received = broker.dir().file("open.txt");
  auto dashboard =
      ChildProcess::start({"mosquitto_sub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q",
                           "1", "-v", "-t", "open/#", "-i", "e2e-dashboard"},
                          {}, received);
  REQUIRE(mosquitto.wait_for_log("Received SUBSCRIBE from e2e-dashboard", 10s));
  const auto lines = [&] {
    std::vector<std::string> out;
    std::string text = read_file(received);
    for (std::size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos;
         start = end + 1) {
      out.push_back(text.substr(start, end - start));
    }
    return out;
  };
  const auto post = [&](const std::string& path, const std::string& body) {
    REQUIRE(client.post(path, body, bearer(gateway)).status == 202);
  };

  post("/v1/sensors/air_quality/gent-aq-001/readings",
       R"({"values":{"pm25":12.3,"rssi":-70},"location":{"lat":51.054321,"lon":3.717654}})");
  post("/v1/sensors/waste_bin/gent-bin-vrijdagmarkt-03/readings",
       R"({"values":{"fill_level":70}})");
  post("/v1/sensors/noise/gent-noise-7/readings", R"({"values":{"laeq":61.5}})");
  REQUIRE(wait_until([&] { return lines().size() >= 2; }, 10s));
  REQUIRE(wait_until(
      [&] {
        return client.get("/metrics")
                   .body.find("databroker_mqtt_republish_acknowledged_seq{target=\"open\"} 3") !=
               std::string::npos;
      },
      10s));
  auto first = lines();
  INFO(read_file(received));
  REQUIRE(first.size() == 2);
  CHECK(first[0].rfind("open/air_quality/gent-aq-001 {", 0) == 0);
  CHECK(first[0].find("\"lat\":51.0543,") != std::string::npos);  // round_location: 4
  CHECK(first[0].find("rssi") == std::string::npos);              // dropped by the open view
  CHECK(first[1].rfind("open/noise/gent-noise-7 {", 0) == 0);
  CHECK(client.get("/metrics")
            .body.find("databroker_mqtt_republish_events_total{target=\"open\"} 2") !=
        std::string::npos);

  // The cursor saved at shutdown: a restart publishes only what is new.
  CHECK(broker.stop(SIGTERM) == 0);
  broker.start();
  REQUIRE(broker.wait_ready());
  post("/v1/sensors/noise/gent-noise-7/readings", R"({"values":{"laeq":62.5}})");
  REQUIRE(wait_until([&] { return lines().size() >= 3; }, 10s));
  REQUIRE(wait_until(
      [&] {
        return client.get("/metrics")
                   .body.find("databroker_mqtt_republish_acknowledged_seq{target=\"open\"} 4") !=
               std::string::npos;
      },
      10s));
  auto after = lines();
  REQUIRE(after.size() == 3);
  CHECK(after[2].find("\"laeq\":62.5") != std::string::npos);
  CHECK(broker.log().find("after seq 3 (saved cursor)") != std::string::npos);
  CHECK(broker.stop(SIGTERM) == 0);
  dashboard.stop(SIGTERM, 5s);
}

TEST_CASE(
    "a real EventSource resumes across a broker restart with Last-Event-ID, nothing missed "
    "or repeated",
    "[e2e][sse]") {
  const std::string node_dir = std::string(DATABROKER_SOURCE_DIR) + "/tests/e2e/node";
  REQUIRE(std::filesystem::exists(node_dir + "/node_modules/eventsource"));
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  broker.start();
  REQUIRE(broker.wait_ready());
  const auto post = [&](int count) {
    HttpClient client(broker.port());
    const auto reply =
        client.post("/v1/readings", noise_batch(0, count, 1'764'000'000'000), bearer(gateway));
    REQUIRE(reply.status == 202);
  };
  post(3);  // seqs 1..3

  const std::string seqs_file = broker.dir().file("seqs.txt");
  const std::string out = broker.dir().file("collect.log");
  auto collector =
      ChildProcess::start({"node", node_dir + "/collect_sse.mjs"},
                          {{"SSE_URL", "http://127.0.0.1:" + std::to_string(broker.port()) +
                                           "/v1/subscribe?kind=noise&after_seq=0"},
                           {"OUT_FILE", seqs_file},
                           {"UNTIL_SEQ", "10"}},
                          out);
  const auto lines = [&] {
    const std::string text = read_file(seqs_file);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  };
  REQUIRE(wait_until([&] { return lines() == 3; }, 20s));

  // The broker goes away and comes back on the same port; readings arrive before and after
  // the EventSource has reconnected.
  REQUIRE(broker.stop(SIGTERM) == 0);
  broker.start();
  REQUIRE(broker.wait_ready());
  post(4);  // 4..7, most likely before the EventSource is back (it retries every 3 s)
  REQUIRE(wait_until([&] { return lines() >= 7; }, 30s));
  post(3);  // 8..10, live
  const auto code = collector.wait(60s);
  std::printf("%s", read_file(out).c_str());
  INFO(read_file(out));
  REQUIRE(code == 0);
  CHECK(read_file(seqs_file) == "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
  CHECK(read_file(out).find("connection 2") != std::string::npos);  // it did reconnect
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE("a webhook resumes from its durable cursor after a restart of the broker",
          "[e2e][webhook]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  const std::string ops = broker.create_key("ops");
  broker.start();
  REQUIRE(broker.wait_ready());
  WebhookReceiver receiver;
  REQUIRE(receiver.start());
  const std::string secret = "e2e-webhook-secret-0123456789";

  HttpClient client(broker.port());
  const auto created = client.post(
      "/v1/admin/webhooks",
      json{{"profile", "city-dashboard"}, {"url", receiver.url()}, {"secret", secret}}.dump(),
      bearer(ops));
  INFO(created.body);
  REQUIRE(created.status == 201);
  const std::string id = json::parse(created.body)["id"];
  const auto received = [&] {
    std::set<std::uint64_t> seqs;
    for (const auto& e : receiver.accepted_events()) seqs.insert(e["seq"].get<std::uint64_t>());
    return seqs;
  };
  const auto status = [&] {
    return json::parse(client.get("/v1/admin/webhooks/" + id, bearer(ops)).body);
  };

  REQUIRE(client.post("/v1/readings", noise_batch(0, 50, 1795000000000), bearer(gateway)).status ==
          202);
  REQUIRE(wait_until([&] { return received().size() == 50; }, 20s));
  REQUIRE(wait_until([&] { return status()["cursor"] == 50; }, 10s));

  // The receiver goes down; 30 more readings wait in the log; the broker restarts meanwhile.
  receiver.stop();
  REQUIRE(client.post("/v1/readings", noise_batch(50, 30, 1795000001000), bearer(gateway)).status ==
          202);
  REQUIRE(wait_until([&] { return status()["failures"].get<int>() >= 1; }, 10s));
  CHECK(broker.stop(SIGTERM) == 0);
  broker.start();
  REQUIRE(broker.wait_ready());
  HttpClient after(broker.port());
  const json restarted = json::parse(after.get("/v1/admin/webhooks/" + id, bearer(ops)).body);
  CHECK(restarted["cursor"] == 50);  // durable: neither back to 0 nor forward to the head
  CHECK(restarted["lag"] == 30);
  CHECK(restarted["state"] == "retrying");

  REQUIRE(receiver.start(receiver.port()));
  REQUIRE(after.post("/v1/readings", noise_batch(80, 20, 1795000002000), bearer(gateway)).status ==
          202);
  REQUIRE(wait_until([&] { return received().size() == 100; }, 30s));
  std::set<std::uint64_t> expected;
  for (std::uint64_t s = 1; s <= 100; ++s) expected.insert(s);
  CHECK(received() == expected);
  // Nothing before the cursor came again: every event arrived once.
  CHECK(receiver.accepted_events().size() == 100);
  for (const auto& d : receiver.deliveries()) CHECK(signature_ok(d, secret));
  CHECK(after.get("/metrics").body.find("databroker_webhook_deliveries_total") !=
        std::string::npos);
  CHECK(broker.log().find(secret) == std::string::npos);
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE("the served OpenAPI document passes npm swagger-parser's validation", "[e2e][openapi]") {
  const std::string node_dir = std::string(DATABROKER_SOURCE_DIR) + "/tests/e2e/node";
  INFO("the validator is installed by deploy/test.sh (npm ci in tests/e2e/node)");
  REQUIRE(std::filesystem::exists(node_dir + "/node_modules/@apidevtools/swagger-parser"));
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  broker.start();
  REQUIRE(broker.wait_ready());

  const std::string out = broker.dir().file("openapi.log");
  auto node = ChildProcess::start(
      {"node", node_dir + "/validate_openapi.mjs"},
      {{"DATABROKER_URL", "http://127.0.0.1:" + std::to_string(broker.port())}}, out);
  const auto code = node.wait(60s);
  std::printf("%s", read_file(out).c_str());
  INFO(read_file(out));
  CHECK(code == 0);
  CHECK(read_file(out).find("PASS") != std::string::npos);
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE("backup while ingesting, wipe, restore: every read answers as before, and exports match",
          "[e2e][backup]") {
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());
  Broker broker(mosquitto);
  const std::string gateway = broker.create_key("sensor-gateway");
  const std::string dashboard = broker.create_key("city-dashboard");
  const std::string ops = broker.create_key("ops");
  broker.start();
  HttpClient client(broker.port());
  const auto now = core::SystemClock{}.now_ms();
  for (int i = 0; i < 20; ++i) {
    REQUIRE(client.post("/v1/readings", noise_batch(i * 10, 10, now - 60'000 + i), bearer(gateway))
                .status == 202);
  }
  // What a dashboard reads: the stream list, each stream's latest and history, the feed.
  const auto reads = [&](HttpClient& reader) {
    std::map<std::string, std::string> out;
    auto streams = reader.get("/v1/streams?limit=1000", bearer(dashboard));
    REQUIRE(streams.status == 200);
    const auto listed = json::parse(streams.body);
    for (const auto& stream : listed["streams"]) {
      const std::string id = stream["id"];
      if (!id.starts_with("e2e-noise-")) continue;
      out["stream " + id] = stream.dump();
      for (std::string target :
           {"/v1/streams/" + id + "/latest", "/v1/streams/" + id + "/readings?limit=1000",
            "/v1/streams/" + id + "/readings?limit=1000&format=csv"}) {
        auto reply = reader.get(target, bearer(dashboard));
        REQUIRE(reply.status == 200);
        out[target] = reply.body;
      }
    }
    return out;
  };
  const auto before = reads(client);
  REQUIRE(before.size() == 7 * 4);
  const auto before_feed = read_all(broker.port(), dashboard);
  REQUIRE(before_feed.size() == 200);

  // Another stream keeps being written while the backup is taken.
  std::atomic<bool> stop{false};
  std::set<std::uint64_t> busy_acknowledged;  // read after the writer has joined
  std::atomic<int> busy_count{0};
  std::thread writer([&] {
    HttpClient busy(broker.port());
    for (int i = 0; i < 2000 && !stop; ++i) {
      json batch = json::array({{{"sensor", "e2e-busy"},
                                 {"kind", "noise"},
                                 {"ts", core::SystemClock{}.now_ms()},
                                 {"values", {{"laeq", i % 100}}}}});
      auto reply = busy.post("/v1/readings", batch.dump(), bearer(gateway));
      if (reply.status != 202) break;
      busy_acknowledged.insert(json::parse(reply.body)["first_seq"].get<std::uint64_t>());
      ++busy_count;
    }
  });
  wait_until([&] { return busy_count >= 20; }, 10s);

  TempDir backups;
  auto [refused, refused_output] = broker.cli({"backup", backups.file("b0")});
  CHECK(refused == 1);  // running, and no admin key given
  CHECK(refused_output.find("admin key") != std::string::npos);
  broker.set_env("DATABROKER_ADMIN_KEY", ops);
  auto [code, output] = broker.cli({"backup", backups.file("b1")});
  INFO(output);
  REQUIRE(code == 0);
  CHECK(output.find("by the running broker") != std::string::npos);
  stop = true;
  writer.join();
  const auto manifest = json::parse(read_file(backups.file("b1/backup.json")));
  const std::uint64_t covered = manifest["last_seq"];
  CHECK(covered >= 200);

  // An export of a stream while the broker runs equals its history.
  auto [exported, export_output] = broker.cli({"export", "--stream", "e2e-noise-3", "--format",
                                               "jsonl", "--output", backups.file("noise-3.jsonl")});
  INFO(export_output);
  REQUIRE(exported == 0);
  {
    const auto history = json::parse(before.at("/v1/streams/e2e-noise-3/readings?limit=1000"));
    std::vector<json> lines;
    std::istringstream in(read_file(backups.file("noise-3.jsonl")));
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    REQUIRE(lines.size() == history["readings"].size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      CHECK(lines[i]["seq"] == history["readings"][i]["seq"]);
      CHECK(lines[i]["values"] == history["readings"][i]["values"]);
    }
  }
  // By hand, in a terminal, to a file: a progress bar on standard error.
  auto [in_terminal, terminal_output] = broker.cli_in_terminal(
      {"export", "--stream", "e2e-noise-3", "--output", backups.file("noise-3.csv")});
  INFO(terminal_output);
  CHECK(in_terminal == 0);
  CHECK(terminal_output.find("[##############################] 100%") != std::string::npos);
  CHECK(read_file(backups.file("noise-3.csv")).starts_with("seq,sensor,kind,ts"));
  CHECK_FALSE(std::filesystem::exists(backups.file("noise-3.csv.partial")));
  for (const auto& entry : std::filesystem::directory_iterator(broker.data_dir())) {
    CHECK_FALSE(entry.path().filename().string().starts_with("export-"));  // cleaned up
  }

  auto [busy_restore, busy_output] = broker.cli({"restore", backups.file("b1")});
  CHECK(busy_restore == 1);  // never under a running broker
  CHECK(busy_output.find("stop it before restoring") != std::string::npos);

  REQUIRE(broker.stop(SIGTERM) == 0);
  std::filesystem::remove_all(broker.data_dir());
  auto [restored, restore_output] = broker.cli({"restore", backups.file("b1")});
  INFO(restore_output);
  REQUIRE(restored == 0);
  broker.start();
  REQUIRE(broker.wait_ready());
  HttpClient after_client(broker.port());
  const auto after = reads(after_client);
  for (const auto& [target, body] : before) {
    INFO(target);
    CHECK(after.at(target) == body);
  }
  // The feed holds the busy stream too, up to where the backup was taken.
  const auto stored = read_all(broker.port(), dashboard);
  for (const auto& [seq, reading] : before_feed) CHECK(stored.at(seq) == reading);
  std::size_t busy_missing = 0;
  for (auto seq : busy_acknowledged) {
    if (seq <= covered && !stored.contains(seq)) ++busy_missing;
  }
  CHECK(busy_missing == 0);
  // The restored keys still work, and the log goes on after the restored seqs.
  auto next = after_client.post("/v1/readings", noise_batch(0, 1, now), bearer(gateway));
  REQUIRE(next.status == 202);
  CHECK(json::parse(next.body)["first_seq"].get<std::uint64_t>() > stored.rbegin()->first);
  CHECK(broker.stop(SIGTERM) == 0);
}

TEST_CASE("GDPR canary: marker strings planted in closed streams appear on no open surface",
          "[e2e][canary]") {
  const std::string modules = std::string(DATABROKER_SOURCE_DIR) + "/tests/e2e/node/node_modules";
  INFO("the npm clients are installed by deploy/test.sh (npm ci in tests/e2e/node)");
  REQUIRE(std::filesystem::exists(modules + "/ws"));
  MosquittoServer mosquitto;
  REQUIRE(mosquitto.start());

  // Unique per run, so no earlier run or other test can put them anywhere.
  const std::string run = std::to_string(core::SystemClock{}.now_ms() % 100'000'000);
  const std::string closed = "gdpr-closed-" + run;  // the closed stream's id
  const std::string open = "canary-open-air-" + run;
  const std::vector<std::string> markers = {
      "Qz7ValueHttp" + run,     "Qz7ValueMqtt" + run, "Qz7ValueBatch" + run,
      "Qz7ValueRejected" + run, "Qz7Name" + run,      "Qz7Zone" + run,
      "Qz7Owner" + run,         "Qz7Steward" + run,   "Qz7TagResident" + run};

  TempDir config_dir;
  std::string config_text = read_file(kExampleConfig);
  for (auto [from, to] : {std::pair<std::string, std::string>{"republish:\n    enabled: false",
                                                              "republish:\n    enabled: true"},
                          {"partners: []", "partners: [mobility-partner]"}}) {
    const auto pos = config_text.find(from);
    REQUIRE(pos != std::string::npos);
    config_text.replace(pos, from.size(), to);
  }
  write_file(config_dir.file("databroker.yaml"), config_text);
  write_file(config_dir.file("sensors.example.yaml"),
             "- id: " + open +
                 "\n  kind: air_quality\n  name: Open station\n  zone: centrum\n"
                 "  location: {lat: 51.05, lon: 3.72}\n"
                 "- id: " +
                 closed + "\n  kind: noise\n  name: " + markers[4] + "\n  zone: " + markers[5] +
                 "\n  owner: " + markers[6] + "\n  steward: " + markers[7] +
                 "\n  tags: [nightlife, " + markers[8] +
                 "]\n  location: {lat: 51.0512345, lon: 3.7298765}\n");
  // Noise is open data, except the nightlife monitors: the closed rule must win for them on
  // every surface, the open one for everything else of that kind.
  write_file(config_dir.file("policy.example.yaml"), R"(
catalog:
  base_url: https://data.example.org
  title: Canary city
  description: Sensor data
  publisher: {name: Canary city, email: open@example.org, url: https://example.org}
  license: https://creativecommons.org/licenses/by/4.0/
  keywords: [sensors]
rules:
  - name: nightlife noise stays closed
    match: {kind: noise, tags: [nightlife]}
    class: closed
  - name: noise and air are open data
    match: {kind: [noise, air_quality]}
    class: open
    open_view: {drop: [battery]}
    dataset: {identifier: air-noise, title: Air and noise}
  - name: parking for the mobility partner
    match: {kind: parking}
    class: shared
    grants:
      - {profile: mobility-partner, purpose: plan, legal_basis: agreement 1, until: 2099-12-31}
)");

  Broker broker(mosquitto, config_dir.file("databroker.yaml"));
  const std::string gateway = broker.create_key("sensor-gateway");
  const std::string dashboard = broker.create_key("city-dashboard");
  const std::string partner = broker.create_key("mobility-partner");
  broker.start();
  REQUIRE(broker.wait_ready());
  const std::string base = "http://127.0.0.1:" + std::to_string(broker.port());
  HttpClient client(broker.port());

  // Live surfaces, listening before anything is ingested: anonymous SSE and WebSocket, the
  // partner's SSE, and every MQTT topic but the sensors' own input.
  const std::string sse_out = broker.dir().file("public.sse");
  const std::string partner_sse_out = broker.dir().file("partner.sse");
  const std::string ws_out = broker.dir().file("public.ws");
  const std::string mqtt_out = broker.dir().file("mqtt.txt");
  auto sse = ChildProcess::start(
      {"curl", "-sN", "--max-time", "8", base + "/v1/subscribe?after_seq=0", "-o", sse_out});
  auto partner_sse = ChildProcess::start(
      {"curl", "-sN", "--max-time", "8", base + "/v1/subscribe?after_seq=0&access_token=" + partner,
       "-o", partner_sse_out});
  auto ws = ChildProcess::start(
      {"node", std::string(DATABROKER_SOURCE_DIR) + "/tests/e2e/node/collect_ws.mjs"},
      {{"WS_URL", "ws://127.0.0.1:" + std::to_string(broker.port()) + "/v1/ws"},
       {"OUT_FILE", ws_out},
       {"SECONDS", "7"}});
  auto mqtt = ChildProcess::start(
      {"mosquitto_sub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-t", "#", "-v", "-W", "9"},
      {}, mqtt_out);
  REQUIRE(wait_until(
      [&] {
        const auto metrics = client.get("/metrics").body;
        return metrics.find("databroker_sse_subscribers 2") != std::string::npos &&
               metrics.find("databroker_websocket_subscribers 1") != std::string::npos;
      },
      10s));
  std::this_thread::sleep_for(500ms);  // mosquitto_sub has subscribed by now

  // The plants: values over HTTP, MQTT and a batch, metadata from the sensors file, and a
  // rejected reading that carries one too.
  const auto now = core::SystemClock{}.now_ms();
  REQUIRE(client
              .post("/v1/sensors/noise/" + closed + "/readings",
                    json{{"values", {{"laeq", 77.5}, {"note", markers[0]}}}}.dump(),
                    bearer(gateway))
              .status == 202);
  REQUIRE(run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q", "1",
                       "-t", "sensors/noise/" + closed, "-m",
                       json{{"values", {{"laeq", 66.25}, {"comment", markers[1]}}}}.dump()},
                      10s) == 0);
  REQUIRE(client
              .post("/v1/readings",
                    json::array({{{"sensor", closed},
                                  {"kind", "noise"},
                                  {"ts", now},
                                  {"values", {{"laeq", 55.5}, {"remark", markers[2]}}}},
                                 {{"sensor", open},
                                  {"kind", "air_quality"},
                                  {"ts", now},
                                  {"values", {{"pm25", 9.75}}}}})
                        .dump(),
                    bearer(gateway))
              .status == 202);
  const auto rejected =
      client.post("/v1/sensors/noise/" + closed + "/readings",
                  json{{"values", {{"laeq", markers[3]}}}}.dump(), bearer(gateway));
  CHECK(rejected.status / 100 == 4);
  REQUIRE(
      run_command({"mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q", "1", "-t",
                   "sensors/air_quality/" + open, "-m", json{{"values", {{"pm25", 8.5}}}}.dump()},
                  10s) == 0);
  // The plants took: the city's own dashboard sees them.
  REQUIRE(wait_until(
      [&] {
        return client.get("/v1/streams/" + closed + "/readings", bearer(dashboard))
                   .body.find(markers[1]) != std::string::npos;
      },
      10s));
  const auto internal_view = client.get("/v1/streams/" + closed, bearer(dashboard)).body;
  CHECK(internal_view.find(markers[4]) != std::string::npos);

  sse.wait(15s);
  partner_sse.wait(15s);
  ws.wait(15s);
  mqtt.wait(15s);

  // Every surface a caller without the internal right can reach.
  std::map<std::string, std::string> surfaces;  // name → what it showed
  surfaces["SSE (anonymous)"] = read_file(sse_out);
  surfaces["SSE (partner)"] = read_file(partner_sse_out);
  surfaces["WebSocket (anonymous)"] = read_file(ws_out);
  {
    std::string topics;
    std::istringstream lines(read_file(mqtt_out));
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("sensors/")) topics += line + "\n";  // the sensors' own input
    }
    surfaces["MQTT (all republished topics)"] = topics;
  }
  const std::vector<std::string> listings = {
      "/v1/streams",
      "/v1/streams?format=csv",
      "/v1/streams?format=geojson",
      "/v1/streams/" + open,
      "/v1/streams/" + open + "/latest",
      "/v1/streams/" + open + "/readings",
      "/v1/readings?after_seq=0",
      "/v1/readings?after_seq=0&format=csv",
      "/ngsi-ld/v1/entities?type=NoiseLevelObserved",
      "/ngsi-ld/v1/entities?type=AirQualityObserved",
      "/ngsi-ld/v1/types",
      "/v1/catalog",
      "/v1/catalog?format=turtle",
      "/v1/me",
      "/metrics",
      "/readyz",
  };
  // Refusals name the id the caller asked for; they must show nothing else of the stream.
  const std::vector<std::string> refusals = {
      "/v1/streams/" + closed,
      "/v1/streams/" + closed + "/latest",
      "/v1/streams/" + closed + "/readings",
      "/v1/streams/" + closed + "/readings?format=csv",
      "/ngsi-ld/v1/entities/urn:ngsi-ld:NoiseLevelObserved:" + closed,
      "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:NoiseLevelObserved:" + closed,
  };
  for (const auto& [who, key] :
       {std::pair<std::string, std::string>{"anonymous", ""}, {"partner", partner}}) {
    const HeaderList headers = key.empty() ? HeaderList{} : bearer(key);
    for (const auto& target : listings) {
      if (target == "/v1/me" && key.empty()) continue;
      const auto reply = client.get(target, headers);
      CHECK(reply.status == 200);
      surfaces["GET " + target + " (" + who + ")"] = reply.body;
    }
    for (const auto& target : refusals) {
      const auto reply = client.get(target, headers);
      CHECK(reply.status == 404);
      std::string body = reply.body;
      for (auto pos = body.find(closed); pos != std::string::npos; pos = body.find(closed))
        body.erase(pos, closed.size());
      surfaces["refusal of GET " + target + " (" + who + ")"] = body;
    }
  }
  REQUIRE(broker.stop(SIGTERM) == 0);
  surfaces["the broker's log (info level)"] = broker.log();

  // The surfaces worked: the open stream is on each live one and in the listings.
  for (const char* name : {"SSE (anonymous)", "SSE (partner)", "WebSocket (anonymous)",
                           "MQTT (all republished topics)"}) {
    INFO(name << ":\n" << surfaces[name]);
    CHECK(surfaces[name].find(open) != std::string::npos);
  }
  CHECK(surfaces["GET /v1/readings?after_seq=0 (anonymous)"].find("9.75") != std::string::npos);
  CHECK(surfaces["GET /v1/catalog (anonymous)"].find("air-noise") != std::string::npos);

  std::size_t searched = 0;
  for (const auto& [surface, text] : surfaces) {
    searched += text.size();
    for (const auto& marker : markers) {
      INFO(surface << " shows " << marker);
      CHECK(text.find(marker) == std::string::npos);
    }
    // The closed stream's id itself: nowhere but in the log and the refusals (stripped above).
    if (surface != "the broker's log (info level)") {
      INFO(surface << " names the closed stream:\n" << text);
      CHECK(text.find(closed) == std::string::npos);
    }
  }
  std::printf("GDPR canary: %zu markers and the closed id searched in %zu surfaces (%zu bytes)\n",
              markers.size(), surfaces.size(), searched);
}
