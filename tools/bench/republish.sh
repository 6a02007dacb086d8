#!/usr/bin/env bash
# MQTT ingest with MQTT republish off and on: what republishing every reading to open/# costs
# ingest, and how fast the republished stream reaches a subscriber. Release binary on loopback;
# starts its own Mosquitto and broker on free ports in a temporary folder, with the example
# configuration and policy (the load generator's noise readings are open data there).
#
#   tools/bench/republish.sh [MQTT messages, default 100000] [durability, default sync]
#                            [mqtt.republish.max_in_flight, default 100]
# With PERF_OUT=file, the republish run is profiled (perf record -g on the broker).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
messages=${1:-100000}
durability=${2:-sync}
in_flight=${3:-100}
bin="$root/build/release/broker/server/databroker"
loadgen="$root/build/release/tools/loadgen/databroker-loadgen"
[ -x "$bin" ] && [ -x "$loadgen" ] || "$root/deploy/build.sh" release databroker databroker-loadgen

source "$root/tools/bench/lib.sh"
now() { date +%s.%N; }
start_mosquitto

echo "machine: $(nproc) cores, $(uname -r); $(date -u +%Y-%m-%dT%H:%MZ); $messages messages, durability $durability, max_in_flight $in_flight"
for republish in false true; do
  start_broker "$republish" -e "s/durability: sync/durability: $durability/" \
    -e "/^  republish:/,/enabled:/ s/enabled: false/enabled: $republish/" \
    -e "s/max_in_flight: 100/max_in_flight: $in_flight/"
  echo "== republish: $republish"
  if [ "$republish" = true ]; then
    mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -q 1 -t 'open/#' -i bench-dashboard >"$work/received.txt" &
    sub=$!
    pids+=("$sub")
    if [ -n "${PERF_OUT:-}" ]; then
      perf record -g -o "$PERF_OUT" -p "$broker" >/dev/null 2>&1 &
      perf_pid=$!
    fi
    sleep 0.5
  fi
  start=$(now)
  "$loadgen" mqtt --port "$http_port" --mqtt-port "$mqtt_port" --count "$messages" --sensors 1000 --qos 1 --seconds 120
  if [ "$republish" = true ]; then
    last=$(metric "$http_port" databroker_log_last_seq)
    for _ in $(seq 1200); do
      acked=$(metric "$http_port" 'databroker_mqtt_republish_acknowledged_seq{target="open"}')
      [ "${acked:-0}" -ge "$last" ] && break
      sleep 0.1
    done
    done_at=$(now)
    for _ in $(seq 100); do [ "$(wc -l <"$work/received.txt")" -ge "$messages" ] && break; sleep 0.1; done
    received=$(wc -l <"$work/received.txt")
    python3 -c "import sys; s,e,n=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); print(f'republish: {n} readings acknowledged on open/# {e-s:.2f} s after the first publish = {n/(e-s):.0f} readings/s end to end')" "$start" "$done_at" "$acked"
    echo "subscriber on open/#: $received messages received"
    echo "failures: $(metric "$http_port" 'databroker_mqtt_republish_failures_total{target="open"}')"
    kill "$sub" 2>/dev/null || true
    if [ -n "${perf_pid:-}" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  fi
  stop_broker
  grep -E " (warn|error) " "$work/broker-$republish.log" | head -5 || true
done
