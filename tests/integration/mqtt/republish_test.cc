// MQTT republish against a real Mosquitto: sensors publish on sensors/..., MQTT ingest hands the
// readings to a real ingest pipeline (over an in-memory log), and the republisher publishes them
// again through the policy; plain mosquitto_sub clients, as a dashboard or a partner would run
// them, say what reached which topic. The second test runs Mosquitto with the ACL of
// deploy/mosquitto.acl.example and a user per partner.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "adapters/codecs/native_json.h"
#include "adapters/mqtt/mqtt_ingest.h"
#include "adapters/mqtt/paho_publisher.h"
#include "adapters/mqtt/republisher.h"
#include "broker/hub/follower.h"
#include "broker/hub/recent_readings.h"
#include "broker/ingest/pipeline.h"
#include "broker/registry/sensor_registry.h"
#include "policies/engine.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_meta_store.h"
#include "tests/support/fake_reading_log.h"
#include "tests/support/mosquitto.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace databroker::mqtt {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::MosquittoServer;
using testing::wait_until;

constexpr auto kDeadline = 10s;
// Only to show that something does *not* arrive, after everything was acknowledged.
constexpr auto kQuiet = 500ms;

constexpr const char* kPolicy = R"(
rules:
  - name: a private air quality sensor stays closed
    match: {sensor: "aq-private-*"}
    class: closed
  - name: air quality is open, coarsened
    match: {kind: air_quality}
    class: open
    open_view: {round_location: 2, drop: [rssi]}
  - name: noise is open
    match: {kind: noise}
    class: open
  - name: parking for the mobility plan
    match: {kind: parking}
    class: shared
    grants:
      - profile: mobility-partner
        purpose: evaluation of the circulation plan
        legal_basis: agreement 2026/114
        until: 2099-12-31
        view: {drop: [battery]}
  - name: bins for the collection contractor
    match: {kind: waste_bin}
    class: shared
    grants:
      - profile: waste-contractor
        purpose: collection rounds
        legal_basis: contract 2026/7
        until: 2099-12-31
)";

// After a complaint: air quality closed, the rest as before.
constexpr const char* kTighterPolicy = R"(
rules:
  - name: air quality closed for now
    match: {kind: air_quality}
    class: closed
  - name: noise is open
    match: {kind: noise}
    class: open
)";

std::shared_ptr<const policies::Policy> compile(std::string_view yaml) {
  auto compiled = policies::compile_policy(yaml, {"mobility-partner", "waste-contractor"},
                                           {"air_quality", "noise", "waste_bin", "parking"});
  if (!compiled) {
    for (const auto& p : compiled.error()) UNSCOPED_INFO(p.to_string("policy.yaml"));
  }
  REQUIRE(compiled);
  return *compiled;
}

void require_ok(const core::Status& status) {
  INFO((status ? std::string() : status.error().message));
  REQUIRE(status.has_value());
}

struct Credentials {
  std::string user;
  std::string password;
};

// The databroker's core in memory (log, registry, pipeline, followers), with its two real MQTT
// edges: ingest and republish.
struct Databroker {
  Databroker(const MosquittoServer& mosquitto, config::RepublishConfig republish,
             std::optional<Credentials> credentials = std::nullopt) {
    mqtt.uri = mosquitto.uri();
    mqtt.client_id = "databroker-it";
    mqtt.keepalive = 5s;
    mqtt.reconnect_min = 100ms;
    mqtt.reconnect_max = 1s;
    if (credentials) {
      mqtt.username = credentials->user;
      mqtt.password = credentials->password;
    }
    mqtt.republish = std::move(republish);
    mqtt.republish.enabled = true;
    policy.install(compile(kPolicy), clock.now_ms());
    publisher = make_paho_publisher(
        {.uri = mqtt.uri,
         .client_id = mqtt.client_id + "-out",
         .username = mqtt.username,
         .password = mqtt.password,
         .keepalive = mqtt.keepalive,
         .reconnect_min = mqtt.reconnect_min,
         .reconnect_max = mqtt.reconnect_max,
         .max_inflight = static_cast<int>(mqtt.republish.max_in_flight *
                                          (1 + mqtt.republish.partners.size()))});
    ingest = std::make_unique<MqttIngest>(mqtt, pipeline, clock);
    republisher =
        std::make_unique<Republisher>(mqtt.republish, context, signal, *publisher, &meta, nullptr);
  }

  void start() {
    require_ok(ingest->start());
    require_ok(republisher->start());
    REQUIRE(wait_until([&] { return ingest->is_connected() && republisher->stats().connected; },
                       kDeadline));
  }

  // Every target has published (and had acknowledged) everything it may see so far.
  bool caught_up() const {
    const core::Seq last = log.last_seq();
    for (const auto& target : republisher->stats().targets) {
      if (target.acknowledged != last || target.in_flight != 0) return false;
    }
    return true;
  }

  testing::FakeClock clock;
  core::KindCatalog kinds = core::KindCatalog::with_builtins();
  testing::FakeMetaStore meta;
  testing::FakeReadingLog log;
  std::unique_ptr<registry::SensorRegistry> registry =
      std::move(registry::SensorRegistry::open(meta, false).value());
  ingest::Validator validator{kinds, {}, registry.get()};
  hub::CommitSignal signal;
  hub::ReadingEncoder encode = [](const core::Reading& r) { return codecs::reading_json(r); };
  hub::RecentReadings recent{1024, encode};
  hub::HubMetrics metrics;
  policies::PolicyEngine policy;
  hub::FollowerContext context{log, *registry, policy, clock, &recent, encode, &metrics};
  ingest::IngestPipeline pipeline{
      validator, log, *registry, clock, {.commit_signal = &signal, .recent = &recent}};
  config::MqttConfig mqtt;
  std::unique_ptr<MessagePublisher> publisher;
  std::unique_ptr<MqttIngest> ingest;
  std::unique_ptr<Republisher> republisher;  // last: stopped first
};

// A mosquitto_sub printing `topic payload` lines to a file, as a dashboard's or partner's
// client would receive them.
class Subscriber {
 public:
  Subscriber(const MosquittoServer& mosquitto, const std::string& id,
             const std::vector<std::string>& topics,
             std::optional<Credentials> credentials = std::nullopt)
      : output_(dir_.file("received.txt")) {
    std::vector<std::string> argv = {
        "mosquitto_sub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q", "1", "-v", "-i", id};
    for (const auto& topic : topics) {
      argv.push_back("-t");
      argv.push_back(topic);
    }
    if (credentials) {
      argv.insert(argv.end(), {"-u", credentials->user, "-P", credentials->password});
    }
    process_.emplace(ChildProcess::start(argv, {}, output_));
    REQUIRE(mosquitto.wait_for_log("Received SUBSCRIBE from " + id, kDeadline));
  }

  // Each `topic payload` line received so far.
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    const std::string text = testing::read_file(output_);
    std::size_t start = 0;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string::npos) break;  // a line still being written
      out.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return out;
  }
  std::vector<std::string> topics() const {
    std::vector<std::string> out;
    for (const auto& line : lines()) out.push_back(line.substr(0, line.find(' ')));
    return out;
  }
  bool wait_for_topic(const std::string& topic, std::size_t count = 1) const {
    return wait_until(
        [&] {
          auto received = topics();
          return static_cast<std::size_t>(std::count(received.begin(), received.end(), topic)) >=
                 count;
        },
        kDeadline);
  }
  // The payload of the first message on `topic`; "" when none.
  std::string payload_on(const std::string& topic) const {
    for (const auto& line : lines()) {
      if (line.rfind(topic + " ", 0) == 0) return line.substr(topic.size() + 1);
    }
    return "";
  }

 private:
  testing::TempDir dir_;
  std::string output_;
  std::optional<ChildProcess> process_;
};

bool publish(const MosquittoServer& mosquitto, const std::string& topic, const std::string& payload,
             std::optional<Credentials> credentials = std::nullopt) {
  std::vector<std::string> argv = {
      "mosquitto_pub", "-h", "127.0.0.1", "-p", mosquitto.port_text(), "-q", "1", "-t",
      topic,           "-m", payload};
  if (credentials) {
    argv.insert(argv.end(), {"-u", credentials->user, "-P", credentials->password});
  }
  return testing::run_command(argv, kDeadline) == 0;
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

constexpr const char* kAirPayload =
    R"({"values":{"pm25":12.5,"rssi":-80},"location":{"lat":51.05432,"lon":3.71765}})";

TEST_CASE(
    "a plain MQTT subscriber on open/# gets open streams only, through the open view, "
    "and a reload that closes a stream stops it",
    "[mqtt][republish]") {
  MosquittoServer mosquitto;
  require_ok(mosquitto.start());
  config::RepublishConfig republish;
  republish.retain = true;  // for the section below
  Databroker broker(mosquitto, republish);
  broker.start();
  Subscriber dashboard(mosquitto, "dashboard", {"open/#"});

  REQUIRE(publish(mosquitto, "sensors/air_quality/aq-1", kAirPayload));
  REQUIRE(publish(mosquitto, "sensors/air_quality/aq-private-1", R"({"values":{"pm25":40}})"));
  REQUIRE(publish(mosquitto, "sensors/parking/park-1", R"({"values":{"occupied":true}})"));
  REQUIRE(publish(mosquitto, "sensors/noise/noise-1", R"({"values":{"laeq":61.5}})"));
  REQUIRE(dashboard.wait_for_topic("open/noise/noise-1"));
  REQUIRE(wait_until([&] { return broker.caught_up(); }, kDeadline));
  CHECK_FALSE(wait_until([&] { return dashboard.lines().size() > 2; }, kQuiet));
  CHECK(dashboard.topics() ==
        std::vector<std::string>{"open/air_quality/aq-1", "open/noise/noise-1"});
  const std::string air = dashboard.payload_on("open/air_quality/aq-1");
  INFO(air);
  CHECK(contains(air, R"("sensor":"aq-1")"));
  CHECK(contains(air, R"("pm25":12.5)"));
  CHECK(contains(air, R"("lat":51.05,)"));  // round_location: 2
  CHECK_FALSE(contains(air, "51.054"));
  CHECK_FALSE(contains(air, "rssi"));  // dropped by the open view

  broker.policy.install(compile(kTighterPolicy), broker.clock.now_ms());
  REQUIRE(publish(mosquitto, "sensors/air_quality/aq-1", R"({"values":{"pm25":99}})"));
  REQUIRE(publish(mosquitto, "sensors/noise/noise-1", R"({"values":{"laeq":62}})"));
  REQUIRE(dashboard.wait_for_topic("open/noise/noise-1", 2));
  REQUIRE(wait_until([&] { return broker.caught_up(); }, kDeadline));
  CHECK_FALSE(wait_until([&] { return dashboard.lines().size() > 3; }, kQuiet));
  CHECK(dashboard.topics() == std::vector<std::string>{"open/air_quality/aq-1",
                                                       "open/noise/noise-1", "open/noise/noise-1"});
  for (const auto& line : dashboard.lines()) CHECK_FALSE(contains(line, "99"));

  SECTION("readings committed while Mosquitto is down are republished from the log") {
    mosquitto.stop();
    REQUIRE(wait_until([&] { return !broker.republisher->stats().connected; }, kDeadline));
    // Committed meanwhile: over HTTP in real life, straight to the ingest door here.
    core::Reading reading;
    reading.sensor_id = "noise-1";
    reading.kind = "noise";
    reading.ts = broker.clock.now_ms();
    reading.values = {{"laeq", 70.0, true}};
    std::promise<core::Result<ingest::Accepted>> done;
    auto committed = done.get_future();
    require_ok(broker.pipeline.try_submit(
        {reading}, ingest::IngestPath::Http,
        [&](core::Result<ingest::Accepted> result) { done.set_value(std::move(result)); }));
    REQUIRE(committed.get());
    CHECK_FALSE(broker.caught_up());

    require_ok(mosquitto.start());
    // Retained (this test's setting), so the late subscriber gets it whether it subscribes
    // before or after the republisher's catch-up.
    Subscriber late(mosquitto, "late-dashboard", {"open/noise/#"});
    REQUIRE(wait_until(
        [&] {
          for (const auto& line : late.lines()) {
            if (contains(line, R"("laeq":70)")) return true;
          }
          return false;
        },
        kDeadline));
    REQUIRE(wait_until([&] { return broker.caught_up(); }, kDeadline));
  }
}

TEST_CASE("with the example ACL each partner reads only its own prefix, through its grant's view",
          "[mqtt][republish]") {
  testing::TempDir dir;
  const std::string passwords = dir.file("passwd");
  const std::vector<Credentials> users = {{"databroker", "broker-secret"},
                                          {"sensor-gateway", "gateway-secret"},
                                          {"city-dashboard", "dashboard-secret"},
                                          {"mobility-partner", "mobility-secret"},
                                          {"waste-contractor", "waste-secret"}};
  for (std::size_t i = 0; i < users.size(); ++i) {
    std::vector<std::string> argv = {"mosquitto_passwd", "-b"};
    if (i == 0) argv.push_back("-c");
    argv.insert(argv.end(), {passwords, users[i].user, users[i].password});
    REQUIRE(testing::run_command(argv, kDeadline) == 0);
  }
  MosquittoServer mosquitto;
  mosquitto.use_access_control(
      passwords, std::string(DATABROKER_SOURCE_DIR) + "/deploy/mosquitto.acl.example");
  require_ok(mosquitto.start());

  config::RepublishConfig republish;
  republish.partners = {"mobility-partner", "waste-contractor"};
  Databroker broker(mosquitto, republish, users[0]);
  broker.start();

  // Each partner asks for more than its own prefix; the MQTT broker delivers only what the ACL
  // lets it read.
  Subscriber mobility(mosquitto, "mobility", {"shared/#", "open/#"}, users[3]);
  Subscriber waste(mosquitto, "waste", {"shared/#"}, users[4]);
  Subscriber snooper(mosquitto, "snooper", {"shared/mobility-partner/#"}, users[4]);
  Subscriber dashboard(mosquitto, "city-dashboard", {"open/#", "shared/#"}, users[2]);

  const auto& gateway = users[1];
  REQUIRE(publish(mosquitto, "sensors/parking/park-1",
                  R"({"values":{"occupied":true,"battery":90}})", gateway));
  REQUIRE(
      publish(mosquitto, "sensors/waste_bin/bin-1", R"({"values":{"fill_level":80}})", gateway));
  REQUIRE(
      publish(mosquitto, "sensors/air_quality/aq-private-1", R"({"values":{"pm25":40}})", gateway));
  REQUIRE(publish(mosquitto, "sensors/noise/noise-1", R"({"values":{"laeq":61.5}})", gateway));

  REQUIRE(mobility.wait_for_topic("shared/mobility-partner/parking/park-1"));
  REQUIRE(mobility.wait_for_topic("open/noise/noise-1"));
  REQUIRE(waste.wait_for_topic("shared/waste-contractor/waste_bin/bin-1"));
  REQUIRE(dashboard.wait_for_topic("open/noise/noise-1"));
  REQUIRE(wait_until([&] { return broker.caught_up(); }, kDeadline));
  CHECK_FALSE(wait_until(
      [&] {
        return mobility.lines().size() > 2 || waste.lines().size() > 1 ||
               !snooper.lines().empty() || dashboard.lines().size() > 1;
      },
      kQuiet));

  CHECK(mobility.topics() ==
        std::vector<std::string>{"shared/mobility-partner/parking/park-1", "open/noise/noise-1"});
  const std::string parking = mobility.payload_on("shared/mobility-partner/parking/park-1");
  INFO(parking);
  CHECK(contains(parking, R"("occupied":true)"));
  CHECK_FALSE(contains(parking, "battery"));  // the grant's view drops it
  CHECK(waste.topics() == std::vector<std::string>{"shared/waste-contractor/waste_bin/bin-1"});
  CHECK(snooper.lines().empty());
  CHECK(dashboard.topics() == std::vector<std::string>{"open/noise/noise-1"});
}

TEST_CASE("a burst wider than Paho's default buffer is republished whole, without failures",
          "[mqtt][republish]") {
  MosquittoServer mosquitto;
  require_ok(mosquitto.start());
  config::RepublishConfig republish;
  republish.max_in_flight = 1000;  // Paho refuses past 100 queued messages unless told otherwise
  Databroker broker(mosquitto, republish);
  broker.start();
  Subscriber dashboard(mosquitto, "burst-dashboard", {"open/#"});

  constexpr int kReadings = 3000;
  std::vector<core::Reading> batch;
  for (int i = 0; i < kReadings; ++i) {
    core::Reading reading;
    reading.sensor_id = "noise-" + std::to_string(i % 50);
    reading.kind = "noise";
    reading.ts = broker.clock.now_ms();
    reading.values = {{"laeq", 40.0 + i % 50, true}};
    batch.push_back(std::move(reading));
  }
  std::promise<core::Result<ingest::Accepted>> done;
  auto committed = done.get_future();
  require_ok(broker.pipeline.try_submit(
      std::move(batch), ingest::IngestPath::Http,
      [&](core::Result<ingest::Accepted> result) { done.set_value(std::move(result)); }));
  REQUIRE(committed.get());
  REQUIRE(wait_until([&] { return broker.caught_up(); }, kDeadline));
  REQUIRE(wait_until([&] { return dashboard.lines().size() == kReadings; }, kDeadline));
  const auto stats = broker.republisher->stats();
  CHECK(stats.targets.at(0).failures == 0);
  CHECK(stats.targets.at(0).published == kReadings);
}

}  // namespace
}  // namespace databroker::mqtt
