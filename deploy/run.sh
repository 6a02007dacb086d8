#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the release binary, starts a local
# Mosquitto on 127.0.0.1:1883 (unless one already listens there) and runs the broker in the
# foreground with the example configuration. Ctrl-C stops the broker cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${DATABROKER_CONFIG:-$root/deploy/databroker.example.yaml}

"$root/deploy/install-deps.sh"
"$root/deploy/build.sh" release databroker
bin="$root/build/release/broker/server/databroker"

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
exec "$bin" serve --config "$config"
