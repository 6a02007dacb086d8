# shellcheck shell=bash disable=SC2154,SC2034  # root and bin come from the sourcing script
# Shared by the benchmark scripts (sourced, not run): a temporary work folder removed on exit
# with every process started through `pids`, free loopback ports, and a Mosquitto on one.
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# Starts Mosquitto on a free port, sized not to drop during a benchmark; sets mqtt_port.
start_mosquitto() {
  mqtt_port=$(free_port)
  cat >"$work/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
max_inflight_messages 0
CONF
  mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
  pids+=($!)
  wait_port "$mqtt_port"
}

# start_broker NAME [sed arguments]: a release broker on a free HTTP port, talking to the
# Mosquitto of start_mosquitto, with the example configuration edited by the sed arguments
# (e.g. -e 's/durability: sync/durability: buffered/'), the example sensors, and the policy in
# $policy (default: the example policy); its data in $work/data-NAME, its log in
# $work/broker-NAME.log. Waits until /readyz answers 200. Sets http_port, broker (the pid) and
# gateway (a sensor-gateway key).
start_broker() {
  local name=$1
  shift
  http_port=$(free_port)
  sed -e '' "$@" "$root/deploy/databroker.example.yaml" >"$work/databroker-$name.yaml"
  cp "$root/deploy/sensors.example.yaml" "$work/"
  cp "${policy:-$root/deploy/policy.example.yaml}" "$work/policy.example.yaml"
  export DATABROKER_DATA_DIR="$work/data-$name" DATABROKER_HTTP_LISTEN="127.0.0.1:$http_port" \
         DATABROKER_MQTT_URI="tcp://127.0.0.1:${mqtt_port:-1883}"
  gateway=$("$bin" keys create --profile sensor-gateway --config "$work/databroker-$name.yaml" 2>/dev/null)
  "$bin" serve --config "$work/databroker-$name.yaml" >"$work/broker-$name.log" 2>&1 &
  broker=$!
  pids+=("$broker")
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "broker $name did not become ready: $(tail -3 "$work/broker-$name.log")" >&2
  return 1
}

# stop_broker: SIGTERM to the broker of start_broker, and wait for it.
stop_broker() {
  kill -TERM "$broker" 2>/dev/null || true
  wait "$broker" 2>/dev/null || true
}

# metric PORT NAME: the value of one sample of the broker's /metrics (NAME with its labels).
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 == name {print $2}'; }
