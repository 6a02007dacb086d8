#!/usr/bin/env bash
# Profiles the release broker under one load: starts Mosquitto and a broker (tools/bench/lib.sh),
# records `perf record -g` of the broker while COMMAND runs, and leaves the profile in
# $PERF_OUT (default /tmp/perf.data). COMMAND is evaluated with $loadgen, $http_port, $mqtt_port
# and $gateway set:
#
#   tools/bench/profile.sh '$loadgen mqtt --port $http_port --mqtt-port $mqtt_port --count 300000 --qos 0'
#   perf report -i /tmp/perf.data --sort dso,sym -g none
#
# DURABILITY=sync|buffered (default buffered); EXTRA_SED='sed expression' edits the example
# configuration further. Needs perf (Debian's linux-perf) and the release build.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${DATABROKER_BENCH_BUILD:-$root/build/release}
bin=$build/broker/server/databroker
loadgen=$build/tools/loadgen/databroker-loadgen
[ $# -eq 1 ] || { echo "usage: $0 'COMMAND'" >&2; exit 64; }
command -v perf >/dev/null || { echo "profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
# shellcheck source=tools/bench/lib.sh
source "$root/tools/bench/lib.sh"
start_mosquitto
start_broker profile -e "s/durability: sync/durability: ${DURABILITY:-buffered}/" ${EXTRA_SED:+-e "$EXTRA_SED"}
perf record -F 999 -g -o "${PERF_OUT:-/tmp/perf.data}" -p "$broker" >"$work/perf.log" 2>&1 &
perf_pid=$!
sleep 0.3
eval "$1"
kill -INT "$perf_pid"
wait "$perf_pid" || true
stop_broker
echo "profile of the broker in ${PERF_OUT:-/tmp/perf.data}" >&2
