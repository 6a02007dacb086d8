// databroker-loadgen: drives a running databroker — or the ceiling it is measured against — on
// loopback and reports rates and latencies. Every mode ends its output with one `bench k=v …`
// line for tools/bench/run.sh.
//
//   databroker-loadgen http --port P --key K [--connections 4] [--batch 1000] [--seconds 10]
//                           [--sensors 100] [--count N]
//       POSTs cross-sensor batches of ~200-byte air-quality readings to /v1/readings over
//       keep-alive connections and counts the readings acknowledged with 202. Reading n belongs
//       to sensor load-{n % sensors}; --count stops after N readings (--count = --sensors
//       creates each stream once).
//   databroker-loadgen mqtt --mqtt-port M [--port P] [--sink broker|subscriber] [--count 100000]
//                           [--sensors 1000] [--qos 1] [--publishers 1] [--rate 0]
//                           [--max-in-flight 1000] [--seconds 60]
//       P publishers send the same ~200-byte readings (at --rate messages/s in all, 0 = as fast
//       as a window of --max-in-flight unacknowledged messages allows). With --sink broker they
//       go to sensors/air_quality/{sensor} and the run ends when databroker's /metrics counts
//       them all in the log; with --sink subscriber they go to bench/air_quality/{sensor} and
//       the run ends when one plain MQTT subscriber (same QoS) has received them all: the
//       ceiling of Mosquitto relaying 1→1. The rate is messages / (first publish → last stored
//       or received).
//   databroker-loadgen read --port P --target PATH [--ids N] [--key K] [--connections 4]
//                           [--seconds 10]
//       GETs PATH over keep-alive connections, every {id} in it replaced by a random sensor id
//       of the first N, and reports requests/s and latency percentiles.
//
// Bounded in time and count; loopback only (the host is always 127.0.0.1).
#include <cstdio>
#include <string>

#include "tools/common/options.h"
#include "tools/loadgen/http_load.h"
#include "tools/loadgen/mqtt_load.h"

int main(int argc, char** argv) {
  using namespace databroker;
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::puts(
        "usage: databroker-loadgen http|mqtt|read [--option value]... (see the source header)");
    return argc < 2 ? 64 : 0;
  }
  const auto stray = tools::leftover_words(argc, argv, 2);
  if (!stray.empty()) {
    std::fprintf(stderr, "databroker-loadgen: unexpected '%s'\n", stray.front().c_str());
    return 64;
  }
  const auto o = tools::parse_options(argc, argv, 2);
  const std::string mode = argv[1];
  const auto unknown =
      mode == "http" ? tools::unknown_options(o, {"port", "key", "connections", "batch", "seconds",
                                                  "sensors", "count"})
      : mode == "mqtt" ? tools::unknown_options(
                             o, {"port", "mqtt-port", "sink", "count", "sensors", "qos",
                                 "publishers", "rate", "max-in-flight", "seconds", "topic-prefix"})
      : mode == "read"
          ? tools::unknown_options(o, {"port", "key", "target", "ids", "connections", "seconds"})
          : std::vector<std::string>{};
  if (!unknown.empty()) {
    std::fprintf(stderr, "databroker-loadgen %s: unknown option --%s\n", mode.c_str(),
                 unknown.front().c_str());
    return 64;
  }
  try {
    if (mode == "http") return loadgen::run_http_ingest(o);
    if (mode == "mqtt") return loadgen::run_mqtt(o);
    if (mode == "read") return loadgen::run_read(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "databroker-loadgen: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "databroker-loadgen: unknown mode '%s'\n", mode.c_str());
  return 64;
}
