#!/usr/bin/env bash
# The benchmark: every scenario of docs/benchmarks.md against the release binary on loopback,
# each beside the ceiling it is measured against, measured in the same run with the same
# payloads (Mosquitto relaying 1→1 to a plain subscriber; nginx answering 204, driven by wrk);
# then one table of medians, min–max and ratios (tools/bench/table.py).
#
#   tools/bench/run.sh [--runs N] [--smoke] [--only SCENARIO[,SCENARIO…]] [--keep FILE]
#
#   --runs N     runs of every scenario (default 3); the table shows the median and min–max
#   --smoke      seconds-long sizes, one run: checks that every tool and scenario still works
#                (the test suite runs this; its figures mean nothing)
#   --only       a comma-separated subset: mqtt, republish, http-batch, http-single, fanout,
#                latest, history, cpu, memory
#   --keep FILE  also writes the raw results (one line per measurement) to FILE
#
# Starts its own Mosquitto, nginx and brokers on free ports in a temporary folder and removes
# them afterwards; every run is bounded in time and count. Needs what deploy/install-deps.sh
# installs (it runs it: wrk and nginx-light are on its list).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=3
smoke=false
only="mqtt,republish,http-batch,http-single,fanout,latest,history,cpu,memory"
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --smoke) smoke=true; runs=1; shift ;;
    --only) only=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--smoke] [--only LIST] [--keep FILE]" >&2; exit 64 ;;
  esac
done

build_dir=${DATABROKER_BENCH_BUILD:-$root/build/release}
bin="$build_dir/broker/server/databroker"
loadgen="$build_dir/tools/loadgen/databroker-loadgen"
fanout="$build_dir/tools/loadgen/databroker-fanout"
if [ ! -x "$bin" ] || [ ! -x "$loadgen" ] || [ ! -x "$fanout" ]; then
  "$root/deploy/build.sh" release databroker databroker-loadgen databroker-fanout
fi

"$root/deploy/install-deps.sh"  # wrk and nginx-light among the rest

source "$root/tools/bench/lib.sh"
results="$work/results"
: >"$results"
ulimit -n 16384

# Sizes: the full run, or a smoke run that only proves the tools work.
if $smoke; then
  mqtt_count=3000; seconds=1; populate_streams=2000; history_readings=2000; cpu_small=100
  cpu_large=1000; cpu_rules_large=100; fan_small=5; fan_large=20; memory_subscribers=20
else
  mqtt_count=300000; seconds=10; populate_streams=100000; history_readings=101000; cpu_small=1000
  cpu_large=1000000; cpu_rules_large=1000; fan_small=100; fan_large=1000; memory_subscribers=1000
fi

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$run" "$2" "$3" >>"$results"; }
bench_value() { sed -n 's/^bench .*\b'"$1"'=\([-0-9.]*\).*/\1/p' | tail -1; }
wants() { [[ ",$only," == *",$1,"* ]]; }
durability() { echo "s/durability: sync/durability: $1/"; }
# CPU time (user + system) of a process, in seconds.
cpu_seconds() { awk -v tck="$(getconf CLK_TCK)" '{print ($14 + $15) / tck}' "/proc/$1/stat"; }
resident_mb() { awk '/^VmRSS/ {print $2 / 1024}' "/proc/$1/status"; }

# nginx answering 204 to anything, with as many workers as the broker has HTTP threads (2).
start_nginx() {
  nginx_port=$(free_port)
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server { listen 127.0.0.1:$nginx_port; location / { return 204; } }
}
CONF
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  nginx_pid=$!
  pids+=("$nginx_pid")
  wait_port "$nginx_port"
}

# wrk's requests/s (and the count of answers that were not 2xx, which must be 0).
wrk_post() {
  local out
  out=$(DATABROKER_BENCH_KEY=${2:-} wrk -t2 -c64 -d"${seconds}s" -s "$root/tools/bench/post.lua" "http://127.0.0.1:$1/")
  echo "$out" | grep -E 'Requests/sec|Non-2xx|Socket errors' >&2
  if echo "$out" | grep -q 'Non-2xx'; then echo 0; return; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}

# A policy of N rules: N-1 that match no load sensor before the one that opens air quality, so a
# cold decision scans them all; decisions are cached per stream.
rules_policy() {
  {
    echo "rules:"
    for i in $(seq 1 $(($1 - 1))); do
      echo "  - {name: rule $i, match: {sensor: \"nomatch-$i-*\"}, class: open}"
    done
    echo "  - {name: air quality is open, match: {kind: air_quality}, class: open}"
  } >"$work/rules-$1.yaml"
  echo "$work/rules-$1.yaml"
}

echo "databroker benchmark: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ), $runs run(s)$($smoke && echo ', smoke sizes')"
start_mosquitto
wants http-single && start_nginx

for run in $(seq "$runs"); do
  echo "== run $run of $runs"
  if wants mqtt; then
    for qos in 1 0; do
      v=$("$loadgen" mqtt --mqtt-port "$mqtt_port" --sink subscriber --count "$mqtt_count" --qos "$qos" | tee /dev/stderr | bench_value rate)
      record "mqtt-qos$qos" ceiling "$v"
    done
    for mode in buffered-1 sync-1 buffered-0; do
      start_broker "mqtt-$mode-$run" -e "$(durability "${mode%-*}")"
      v=$("$loadgen" mqtt --port "$http_port" --mqtt-port "$mqtt_port" --count "$mqtt_count" --qos "${mode#*-}" --seconds 120 | tee /dev/stderr | bench_value rate)
      record "mqtt-${mode%-*}-qos${mode#*-}" figure "$v"
      stop_broker
    done
  fi
  if wants republish; then
    for republish in false true; do
      start_broker "republish-$republish-$run" -e "$(durability buffered)" \
        -e "/^  republish:/,/enabled:/ s/enabled: false/enabled: $republish/"
      sub=""
      if [ "$republish" = true ]; then
        mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -q 1 -t 'open/#' -i "bench-dashboard-$run" >/dev/null &
        sub=$!
        pids+=("$sub")
      fi
      v=$("$loadgen" mqtt --port "$http_port" --mqtt-port "$mqtt_port" --count "$mqtt_count" --qos 1 --seconds 120 | tee /dev/stderr | bench_value rate)
      record republish "$([ "$republish" = true ] && echo figure || echo ceiling)" "$v"
      [ -n "$sub" ] && kill "$sub" 2>/dev/null
      stop_broker
    done
  fi
  if wants http-batch; then
    for mode in buffered sync; do
      start_broker "http-$mode-$run" -e "$(durability "$mode")"
      v=$("$loadgen" http --port "$http_port" --key "$gateway" --connections 4 --batch 1000 --seconds "$seconds" --sensors 1000 | tee /dev/stderr | bench_value rate)
      record "http-batch-$mode" figure "$v"
      stop_broker
    done
  fi
  if wants http-single; then
    record http-single ceiling "$(wrk_post "$nginx_port")"
    start_broker "http-single-$run" -e "$(durability buffered)"
    record http-single figure "$(wrk_post "$http_port" "$gateway")"
    stop_broker
  fi
  if wants fanout; then
    for case in "$fan_small:10000" "$fan_large:1000"; do
      start_broker "fanout-${case%%:*}-$run" -e 's/max_connections: [0-9]*/max_connections: 4096/'
      out=$("$fanout" --port "$http_port" --ingest-key "$gateway" --subscribers "${case%%:*}" \
        --rate "${case##*:}" --seconds "$seconds" --sensors 100 | tee /dev/stderr)
      record "fanout-${case##*:}" p99_ms "$(echo "$out" | bench_value p99_ms)"
      record "fanout-${case##*:}" lost "$(echo "$out" | bench_value lost)"
      record "fanout-${case##*:}" subscribers "${case%%:*}"
      stop_broker
    done
  fi
  if wants latest || wants memory; then
    start_broker "streams-$run" -e "$(durability buffered)" -e 's/max_connections: [0-9]*/max_connections: 4096/'
    "$loadgen" http --port "$http_port" --key "$gateway" --connections 4 --batch 1000 \
      --sensors "$populate_streams" --count "$populate_streams" --seconds 120 >&2
    record latest streams "$populate_streams"
    if wants latest; then
      out=$("$loadgen" read --port "$http_port" --target '/v1/streams/{id}/latest' --ids "$populate_streams" \
        --connections 64 --seconds "$seconds" | tee /dev/stderr)
      record latest p99_ms "$(echo "$out" | bench_value p99_ms)"
      record latest rate "$(echo "$out" | bench_value rate)"
    fi
    if wants memory; then
      # Resident memory with every stream known and the subscribers connected, sampled while
      # readings flow to them.
      "$fanout" --port "$http_port" --ingest-key "$gateway" --subscribers "$memory_subscribers" \
        --rate 1000 --seconds "$seconds" --sensors 100 >&2 &
      fan=$!
      sleep $((seconds * 3 / 4 + 1))
      record memory rss_mb "$(resident_mb "$broker")"
      record memory subscribers "$memory_subscribers"
      record memory streams "$populate_streams"
      wait "$fan" || true
    fi
    stop_broker
  fi
  if wants history; then
    # 100 streams of about 1,000 readings each; pages of 1,000, oldest first.
    start_broker "history-$run" -e "$(durability buffered)"
    "$loadgen" http --port "$http_port" --key "$gateway" --connections 4 --batch 1000 \
      --sensors 100 --count "$history_readings" --seconds 120 >&2
    out=$("$loadgen" read --port "$http_port" --target '/v1/streams/{id}/readings?limit=1000' --ids 100 \
      --connections 4 --seconds "$seconds" | tee /dev/stderr)
    record history p99_ms "$(echo "$out" | bench_value p99_ms)"
    stop_broker
  fi
  if wants cpu; then
    # CPU per reading: one pass creates the streams, the second is measured, with one open SSE
    # subscriber so every reading is also decided by the policy and delivered.
    for cpu_case in "streams-$cpu_small:$cpu_small:10" "streams-$cpu_large:$cpu_large:10" \
                    "rules-10:$cpu_small:10" "rules-$cpu_rules_large:$cpu_small:$cpu_rules_large"; do
      IFS=: read -r label streams rules <<<"$cpu_case"
      policy=$(rules_policy "$rules") start_broker "cpu-$label-$run" -e "$(durability buffered)"
      count=$((streams > 200000 ? streams : 200000))
      $smoke && count=$((streams * 2))
      "$loadgen" http --port "$http_port" --key "$gateway" --sensors "$streams" --count "$count" --seconds 120 >/dev/null
      curl -sN "http://127.0.0.1:$http_port/v1/subscribe?kind=air_quality" >/dev/null &
      sse=$!
      pids+=("$sse")
      sleep 0.5
      before=$(cpu_seconds "$broker")
      accepted=$("$loadgen" http --port "$http_port" --key "$gateway" --sensors "$streams" --count "$count" --seconds 120 | tee /dev/stderr | bench_value accepted)
      after=$(cpu_seconds "$broker")
      record "cpu-${label%%-*}" "${label#*-}" "$(python3 -c "print(($after - $before) / $accepted * 1e6)")"
      kill "$sse" 2>/dev/null || true
      stop_broker
    done
  fi
done

[ -n "$keep" ] && cp "$results" "$keep"
table_args=("$results" "$cpu_small" "$cpu_large" "$cpu_rules_large")
$smoke && table_args+=(--require-all)
python3 "$root/tools/bench/table.py" "${table_args[@]}"
