#!/usr/bin/env bash
# Live-delivery benchmark: 1, 100 and 1,000 SSE subscribers on the release binary while readings
# are ingested over HTTP at a fixed rate; prints delivered events/s, loss and p50/p99 latency for
# each (databroker-fanout). Starts its own Mosquitto and broker on free ports in a temporary
# folder and removes them afterwards.
#
#   tools/bench/fanout.sh [seconds per run, default 10] [runs per case, default 3]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-10}
runs=${2:-3}
bin="$root/build/release/broker/server/databroker"
fanout="$root/build/release/tools/loadgen/databroker-fanout"
[ -x "$bin" ] && [ -x "$fanout" ] || "$root/deploy/build.sh" release databroker databroker-fanout

source "$root/tools/bench/lib.sh"
start_mosquitto

echo "machine: $(nproc) cores, $(uname -r); $(date -u +%Y-%m-%dT%H:%MZ)"
# subscribers:rate pairs, the cases of docs/benchmarks.md
for case in 1:10000 100:10000 1000:1000; do
  subscribers=${case%%:*}
  rate=${case##*:}
  for run in $(seq "$runs"); do
    ulimit -n 8192
    # 1,000 subscribers need more than the default connection cap headroom.
    start_broker "fanout-$subscribers-$run" -e 's/max_connections: [0-9]*/max_connections: 4096/'
    printf '%5s subscribers, %6s readings/s, run %s: ' "$subscribers" "$rate" "$run"
    "$fanout" --port "$http_port" --ingest-key "$gateway" --subscribers "$subscribers" --rate "$rate" \
      --seconds "$seconds" --sensors 100 ||
      echo "(run failed; broker log: $(tail -3 "$work/broker-fanout-$subscribers-$run.log"))"
    stop_broker
  done
done
