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
