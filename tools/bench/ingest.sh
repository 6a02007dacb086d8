#!/usr/bin/env bash
# First ingest benchmark: HTTP batch ingest and MQTT QoS 1 ingest into the log, for both
# durability modes, against the release binary on loopback. Starts its own Mosquitto and broker
# on free ports in a temporary folder and removes them afterwards.
#
#   tools/bench/ingest.sh [seconds per HTTP run, default 10] [MQTT messages, default 200000]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-10}
messages=${2:-200000}
bin="$root/build/release/broker/server/databroker"
loadgen="$root/build/release/tools/loadgen/databroker-loadgen"
[ -x "$bin" ] && [ -x "$loadgen" ] || "$root/deploy/build.sh" release databroker databroker-loadgen

source "$root/tools/bench/lib.sh"
start_mosquitto

echo "machine: $(nproc) cores, $(uname -r); $(date -u +%Y-%m-%dT%H:%MZ)"
for durability in sync buffered; do
  http_port=$(free_port)
  sed "s/durability: sync/durability: $durability/" "$root/deploy/databroker.example.yaml" >"$work/databroker.yaml"
  cp "$root/deploy/sensors.example.yaml" "$root/deploy/policy.example.yaml" "$work/"
  export DATABROKER_DATA_DIR="$work/data-$durability" DATABROKER_HTTP_LISTEN="127.0.0.1:$http_port" \
         DATABROKER_MQTT_URI="tcp://127.0.0.1:$mqtt_port"
  key=$("$bin" keys create --profile sensor-gateway --config "$work/databroker.yaml" 2>/dev/null)
  "$bin" serve --config "$work/databroker.yaml" >"$work/broker-$durability.log" 2>&1 &
  broker=$!
  pids+=($broker)
  wait_port "$http_port"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null && break; sleep 0.1; done
  echo "== durability: $durability"
  "$loadgen" http --port "$http_port" --key "$key" --connections 4 --batch 1000 --seconds "$seconds" --sensors 1000
  "$loadgen" mqtt --port "$http_port" --mqtt-port "$mqtt_port" --count "$messages" --sensors 1000 --qos 1 --seconds 120
  kill -TERM "$broker"
  wait "$broker" || true
done
