// databroker-simulator: a city's sensors (air quality, noise, waste bins, parking) publishing
// realistic readings to a databroker over MQTT or HTTP. See tools/simulator/README.md.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "broker/config/config.h"
#include "broker/core/text.h"
#include "broker/core/time.h"
#include "tools/common/options.h"
#include "tools/simulator/clock.h"
#include "tools/simulator/fleet.h"
#include "tools/simulator/payloads.h"
#include "tools/simulator/transport.h"

namespace {

using namespace databroker;
using namespace databroker::simulator;
using Steady = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: databroker-simulator [--option value]...

  --transport mqtt|http     how to reach the broker (mqtt)
  --format F                native, senml, tts, chirpstack or mixed (native); mixed spreads each
                            kind over every format that carries it
  --sensors N               sensors, spread over the kinds the format carries (24)
  --rate R                  readings per second over all sensors (10)
  --duration D              stop after D real time (60s; 0: until SIGINT or SIGTERM)
  --count N                 stop after N readings (no limit)
  --speed S                 simulated seconds per real second (1)
  --start T                 simulated start: now, -24h (before now) or RFC 3339
                            (now at speed 1, else -24h); the clock never passes real time
  --seed N                  seed of the values (1)
  --host H                  broker host, for MQTT and HTTP (127.0.0.1)
  --port P                  the databroker's HTTP port (8080): HTTP ingest, and /metrics for the
                            MQTT summary
  --mqtt-port P             the MQTT broker's port (1883)
  --qos 0|1|2               MQTT QoS (1)
  --client-id ID            MQTT client id (databroker-simulator-<pid>)
  --key K                   ingest key for HTTP (or DATABROKER_SIMULATOR_KEY)
  --batch N                 native readings per HTTP POST (rate / 4, at least 1)
  --declarations yaml       write the fleet's entries for a sensors file and exit
  --print N                 write N payloads ("<topic or route> <body>" lines) to stdout and exit,
                            without a network
  --print-readings N        write the N readings those payloads should become, one native JSON
                            object (with sensor and kind) per line, and exit (for checks)
)";

volatile std::sig_atomic_t g_stop = 0;
extern "C" void request_stop(int) { g_stop = 1; }

struct Run {
  std::string transport = "mqtt";
  std::optional<Format> format;  // nothing: mixed
  std::string format_name = "native";
  std::size_t sensors = 24;
  double rate = 10;
  double duration_s = 60;
  std::optional<std::uint64_t> count;
  double speed = 1;
  core::TimestampMs start = 0;
  std::uint64_t seed = 1;
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  int mqtt_port = 1883;
  int qos = 1;
  std::string client_id;
  std::string key;
  std::size_t batch = 0;
  std::optional<std::uint64_t> print;
  bool print_readings = false;  // --print-readings: what the broker should store, not the payload
  bool declarations = false;
};

template <class T>
bool read_number(const tools::Options& o, const std::string& name, T& out, double low,
                 double high) {
  auto it = o.find(name);
  if (it == o.end()) return true;
  auto value = core::parse_finite_number(it->second);
  if (!value || *value < low || *value > high) {
    std::fprintf(stderr, "databroker-simulator: --%s must be a number from %g to %g\n",
                 name.c_str(), low, high);
    return false;
  }
  out = static_cast<T>(*value);
  return true;
}

std::optional<Run> parse_run(int argc, char** argv, core::TimestampMs now) {
  const auto o = tools::parse_options(argc, argv, 1);
  const auto unknown = tools::unknown_options(
      o, {"transport", "format", "sensors", "rate", "duration", "count", "speed", "start", "seed",
          "host", "port", "mqtt-port", "qos", "client-id", "key", "batch", "print",
          "print-readings", "declarations"});
  const auto leftover = tools::leftover_words(argc, argv, 1);
  if (!unknown.empty() || !leftover.empty()) {
    std::fprintf(stderr, "databroker-simulator: unknown option or missing value: %s\n%s",
                 (unknown.empty() ? leftover : unknown).front().c_str(), kUsage);
    return std::nullopt;
  }
  Run run;
  run.transport = tools::text_option(o, "transport", "mqtt");
  if (run.transport != "mqtt" && run.transport != "http") {
    std::fprintf(stderr, "databroker-simulator: --transport must be mqtt or http\n");
    return std::nullopt;
  }
  run.format_name = tools::text_option(o, "format", "native");
  if (run.format_name != "mixed") {
    run.format = parse_format(run.format_name);
    if (!run.format) {
      std::fprintf(stderr,
                   "databroker-simulator: --format must be native, senml, tts, chirpstack or "
                   "mixed\n");
      return std::nullopt;
    }
  }
  double count = 0, print = 0, seed = 1;
  if (!read_number(o, "sensors", run.sensors, 1, 100000) ||
      !read_number(o, "rate", run.rate, 0.001, 100000) ||
      !read_number(o, "speed", run.speed, 1, 1e6) || !read_number(o, "seed", seed, 0, 9e15) ||
      !read_number(o, "port", run.port, 1, 65535) ||
      !read_number(o, "mqtt-port", run.mqtt_port, 1, 65535) ||
      !read_number(o, "qos", run.qos, 0, 2) || !read_number(o, "batch", run.batch, 1, 10000) ||
      !read_number(o, "count", count, 1, 9e15) || !read_number(o, "print", print, 1, 9e15) ||
      !read_number(o, "print-readings", print, 1, 9e15)) {
    return std::nullopt;
  }
  run.seed = static_cast<std::uint64_t>(seed);
  if (o.count("count")) run.count = static_cast<std::uint64_t>(count);
  if (o.count("print") && o.count("print-readings")) {
    std::fprintf(stderr, "databroker-simulator: --print and --print-readings exclude each other\n");
    return std::nullopt;
  }
  if (o.count("print") || o.count("print-readings")) run.print = static_cast<std::uint64_t>(print);
  run.print_readings = o.count("print-readings") > 0;
  if (o.count("duration")) {
    auto d = config::parse_duration(o.at("duration"));
    if (!d) {
      std::fprintf(stderr, "databroker-simulator: --duration must be like 30s, 10m or 0\n");
      return std::nullopt;
    }
    run.duration_s = static_cast<double>(d->count()) / 1000.0;
  } else if (run.count) {
    run.duration_s = 0;  // a count alone bounds the run
  }
  auto start = parse_start(tools::text_option(o, "start"), now, run.speed);
  if (!start) {
    std::fprintf(stderr,
                 "databroker-simulator: --start must be now, -<duration> or an RFC 3339 time "
                 "not in the future\n");
    return std::nullopt;
  }
  run.start = *start;
  if (o.count("declarations")) {
    if (o.at("declarations") != "yaml") {
      std::fprintf(stderr, "databroker-simulator: --declarations takes the word yaml\n");
      return std::nullopt;
    }
    run.declarations = true;
  }
  run.host = tools::text_option(o, "host", run.host);
  run.client_id =
      tools::text_option(o, "client-id", "databroker-simulator-" + std::to_string(::getpid()));
  const char* env_key = std::getenv("DATABROKER_SIMULATOR_KEY");
  run.key = tools::text_option(o, "key", env_key ? env_key : "");
  if (run.batch == 0) run.batch = static_cast<std::size_t>(std::max(1.0, run.rate / 4));
  return run;
}

int print_payloads(const Run& run, std::vector<SimSensor>& fleet, const Schedule& schedule) {
  for (std::uint64_t k = 0; k < *run.print; ++k) {
    auto& sensor = fleet[k % fleet.size()];
    const Message m = encode(sensor.info(), sensor.sample(schedule.sim_time(k)));
    if (run.print_readings) {
      std::printf("%s\n", native_json(m.expected, true).c_str());
    } else if (run.transport == "http") {
      const bool native = sensor.info().format == Format::Native;
      std::printf("%s %s\n", m.http_target.c_str(),
                  (native ? native_json(m.expected, true) : m.body).c_str());
    } else {
      std::printf("%s %s\n", m.topic.c_str(), m.body.c_str());
    }
  }
  return 0;
}

void print_summary(const Run& run, std::size_t sensors, const Summary& s, double seconds,
                   core::TimestampMs first, core::TimestampMs last,
                   const std::optional<MqttCounters>& before,
                   const std::optional<MqttCounters>& after) {
  std::printf(
      "databroker-simulator: %zu sensors, %s over %s, %.1f s; simulated %s .. %s\n"
      "  sent          %llu readings\n"
      "  acknowledged  %llu (%s)\n",
      sensors, run.format_name.c_str(), run.transport.c_str(), seconds,
      core::format_rfc3339(first).c_str(), core::format_rfc3339(last).c_str(),
      static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.acknowledged),
      run.transport == "http" ? "202 from the broker"
      : run.qos == 0          ? "written to the MQTT broker, QoS 0"
                              : "by the MQTT broker");
  std::printf("  refused       %llu", static_cast<unsigned long long>(s.refused_total()));
  for (const auto& [reason, count] : s.refused) {
    std::printf(" %s=%llu", reason.c_str(), static_cast<unsigned long long>(count));
  }
  std::printf("\n");
  if (run.transport != "mqtt") return;
  if (!before || !after) {
    std::printf(
        "  (the databroker's /metrics on port %u did not answer: stored and refused by "
        "the broker unknown)\n",
        run.port);
    return;
  }
  std::printf(
      "  broker stored %llu, refused",
      static_cast<unsigned long long>(after->stored - std::min(after->stored, before->stored)));
  std::uint64_t refused = 0;
  std::string reasons;
  for (const auto& [reason, count] : after->refused) {
    auto it = before->refused.find(reason);
    const std::uint64_t delta = count - (it == before->refused.end() ? 0 : it->second);
    if (delta == 0) continue;
    refused += delta;
    reasons += " " + reason + "=" + std::to_string(delta);
  }
  std::printf(" %llu%s (its /metrics, over the run, all MQTT clients)\n",
              static_cast<unsigned long long>(refused), reasons.c_str());
}

int simulate(const Run& run) {
  auto fleet = make_fleet(run.sensors, run.format, run.seed);
  const core::TimestampMs real_start = core::SystemClock{}.now_ms();
  const Schedule schedule(run.rate, run.speed, run.start, real_start);
  if (run.print) return print_payloads(run, fleet, schedule);
  if (run.declarations) {
    std::fputs(declarations_yaml(fleet).c_str(), stdout);
    return 0;
  }

  auto publisher = run.transport == "http"
                       ? connect_http({run.host, run.port, run.key, run.batch})
                       : connect_mqtt({run.host, run.mqtt_port, run.qos, run.client_id});
  if (!publisher) {
    std::fprintf(stderr, "databroker-simulator: %s\n", publisher.error().message.c_str());
    return 1;
  }
  std::optional<MqttCounters> before;
  if (run.transport == "mqtt") before = read_mqtt_counters(run.host, run.port);
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);

  const auto t0 = Steady::now();
  core::TimestampMs first = schedule.sim_time(0), last = first;
  std::uint64_t k = 0;
  for (; !g_stop; ++k) {
    if (run.count && k >= *run.count) break;
    const double due = schedule.due_seconds(k);
    if (run.duration_s > 0 && due >= run.duration_s) break;
    const auto due_at =
        t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(due));
    // Short sleeps, so a signal stops the run promptly.
    while (!g_stop && Steady::now() < due_at) {
      std::this_thread::sleep_for(
          std::min<Steady::duration>(due_at - Steady::now(), std::chrono::milliseconds(100)));
    }
    if (g_stop) break;
    auto& sensor = fleet[k % fleet.size()];
    last = schedule.sim_time(k);
    (*publisher)->publish(encode(sensor.info(), sensor.sample(last)));
  }
  (*publisher)->finish(std::chrono::seconds(10));
  const Summary summary = (*publisher)->summary();
  std::optional<MqttCounters> after;
  if (before) {
    // The databroker stores what the MQTT broker forwards a moment later; wait for it to settle.
    const auto until = Steady::now() + std::chrono::seconds(3);
    do {
      after = read_mqtt_counters(run.host, run.port);
      if (!after) break;
      std::uint64_t seen = after->stored - before->stored;
      for (const auto& [reason, count] : after->refused) {
        auto it = before->refused.find(reason);
        seen += count - (it == before->refused.end() ? 0 : it->second);
      }
      if (seen >= summary.acknowledged) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (Steady::now() < until);
  }
  const double seconds = std::chrono::duration<double>(Steady::now() - t0).count();
  print_summary(run, fleet.size(), summary, seconds, first, last, before, after);
  return summary.refused_total() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  auto run = parse_run(argc, argv, core::SystemClock{}.now_ms());
  if (!run) return 64;
  try {
    return simulate(*run);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "databroker-simulator: %s\n", e.what());
    return 1;
  }
}
