#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the release binary, starts a local
# Mosquitto on 127.0.0.1:1883 (unless one already listens there) and runs the broker in the
# foreground with the example configuration. Ctrl-C stops the broker cleanly.
#
# With --demo (or DATABROKER_DEMO=1) it also builds the sensor simulator and, once the broker
# answers, starts it in the background: 24 simulated sensors around Leuven publish over MQTT in
# every format, replaying the last day at 120 times real speed (then keeping to real time), so
# data flows within seconds. The simulator stops when the broker stops.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${DATABROKER_CONFIG:-$root/deploy/databroker.example.yaml}
demo=${DATABROKER_DEMO:-0}
for arg in "$@"; do
  case "$arg" in
    --demo) demo=1 ;;
    *) echo "usage: deploy/run.sh [--demo]" >&2; exit 64 ;;
  esac
done

"$root/deploy/install-deps.sh"
if [ "$demo" = 1 ]; then
  "$root/deploy/build.sh" release databroker databroker-simulator
else
  "$root/deploy/build.sh" release databroker
fi
bin="$root/build/release/broker/server/databroker"
simulator="$root/build/release/tools/simulator/databroker-simulator"

cd "$root"
mkdir -p data /tmp/databroker-mosquitto
# Started as root, Mosquitto drops to its own user, which must be able to write its database.
chown mosquitto: /tmp/databroker-mosquitto 2>/dev/null || true
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  nohup mosquitto -c "$root/deploy/mosquitto.conf" >>data/mosquitto.log 2>&1 &
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break
    sleep 0.1
  done
  echo "databroker: started Mosquitto on 127.0.0.1:1883 (log: data/mosquitto.log)"
fi

cat <<TEXT

databroker is starting with $config
  REST API      http://127.0.0.1:8080/v1/streams   (health: /healthz, readiness: /readyz)
  MQTT ingest   mosquitto_pub -t sensors/air_quality/gent-aq-001 -q 1 -m '{"values":{"pm25":12.3}}'
  a key         $bin keys create --profile ops --config $config
                (profiles: city-dashboard reads everything, sensor-gateway ingests, ops administers)

TEXT
if [ "$demo" != 1 ]; then
  exec "$bin" serve --config "$config"
fi

cat <<TEXT
  demo          24 simulated sensors around Leuven publish over MQTT in every format, the last
                day replayed at 120x (log: data/simulator.log). Watch them arrive:
                curl -s http://127.0.0.1:8080/v1/streams
                curl -N http://127.0.0.1:8080/v1/subscribe

TEXT
"$bin" serve --config "$config" &
broker=$!
# Background jobs of a script ignore Ctrl-C; pass it on as the clean stop it is in the foreground.
trap 'kill -TERM "$broker" 2>/dev/null || true' INT TERM
for _ in $(seq 300); do
  (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break
  kill -0 "$broker" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$broker" 2>/dev/null; then
  "$simulator" --transport mqtt --format mixed --sensors 24 --rate 8 --speed 120 --duration 0 \
    --port 8080 --mqtt-port 1883 >>data/simulator.log 2>&1 &
  sim=$!
fi
status=0
while :; do
  wait "$broker" && status=0 || status=$?
  kill -0 "$broker" 2>/dev/null || break # a trapped signal interrupted the wait
done
if [ -n "${sim:-}" ]; then
  kill -TERM "$sim" 2>/dev/null || true
  wait "$sim" 2>/dev/null || true
fi
exit "$status"
