#!/usr/bin/env bash
# The production deploy files, checked with what Debian has (no container engine runs here):
#
# 1. deploy/systemd/databroker.service: `systemd-analyze verify` and its exposure score from
#    `systemd-analyze security --offline` (must stay "OK", i.e. at most 2.0 of 10).
# 2. deploy/docker/compose.yaml and databroker.yaml: YAML that passes yamllint's default rules
#    (lines up to 100 characters, no `---` required).
# 3. deploy/mosquitto.production.conf with deploy/mosquitto.acl.example, run by a real Mosquitto
#    (only its paths and port replaced): anonymous clients are refused, and the databroker
#    started with deploy/docker/databroker.yaml laid out as the image lays it out in
#    /etc/databroker connects as user `databroker`, becomes ready, and stores what the user
#    `sensor-gateway` publishes; a dashboard may not read sensors/#.
#
#   tests/e2e/deploy_check.sh SOURCE_DIR DATABROKER_BINARY
set -euo pipefail
src=$1
bin=$2
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "deploy check: $*" >&2
  for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- $log" >&2; tail -20 "$log" >&2; }; done
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS COMMAND...: retries the command every 0.1 s
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# 1. systemd
sed "s#/usr/local/bin/databroker#$bin#" "$src/deploy/systemd/databroker.service" >"$work/databroker.service"
systemd-analyze verify "$work/databroker.service" || fail "systemd-analyze verify refused the unit"
systemd-analyze security --offline=yes --threshold=20 "$work/databroker.service" >"$work/security.txt" ||
  fail "the unit's exposure is above 2.0: $(tail -1 "$work/security.txt")"
echo "systemd: $(grep 'Overall exposure' "$work/security.txt")"

# 2. YAML of the container deployment
yamllint --strict -d '{extends: default, rules: {line-length: {max: 100}, document-start: disable}}' \
  "$src/deploy/docker/compose.yaml" "$src/deploy/docker/databroker.yaml" ||
  fail "yamllint"
echo "yamllint: compose.yaml and databroker.yaml well-formed"

# 3. Mosquitto's production configuration, users and ACL, with the container's databroker config
mqtt_port=$(free_port)
http_port=$(free_port)
mkdir -p "$work/mosquitto/data" "$work/etc" "$work/data"
touch "$work/mosquitto/passwd"
chmod 0700 "$work/mosquitto/passwd"
for user in databroker sensor-gateway city-dashboard; do
  mosquitto_passwd -b "$work/mosquitto/passwd" "$user" "secret-$user"
done
cp "$src/deploy/mosquitto.acl.example" "$work/mosquitto/databroker.acl"
sed -e "s#^listener 1883\$#listener $mqtt_port 127.0.0.1#" \
  -e "s#/mosquitto/config/#$work/mosquitto/#" -e "s#/mosquitto/data/#$work/mosquitto/data/#" \
  "$src/deploy/mosquitto.production.conf" >"$work/mosquitto.conf"
grep -q "^listener $mqtt_port 127.0.0.1\$" "$work/mosquitto.conf" || fail "no listener line to replace"
# Started as root, Mosquitto drops to its own user, which must reach its files.
if [ "$(id -u)" -eq 0 ]; then
  chmod 0755 "$work"
  chown -R mosquitto: "$work/mosquitto" 2>/dev/null || true
fi
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$mqtt_port" || fail "Mosquitto did not listen"
echo "mosquitto: the production configuration runs"

if mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -q 1 -t sensors/noise/x -m '{}' 2>"$work/anon.txt"; then
  fail "an anonymous client could publish"
fi
grep -qi "not authori" "$work/anon.txt" || fail "anonymous publish failed, not for lack of authorisation: $(cat "$work/anon.txt")"
echo "mosquitto: anonymous clients are refused"

cp "$src/deploy/docker/databroker.yaml" "$work/etc/databroker.yaml"
cp "$src/deploy/policy.example.yaml" "$work/etc/policy.yaml"
cp "$src/deploy/sensors.example.yaml" "$work/etc/sensors.example.yaml"
DATABROKER_MQTT_URI="tcp://127.0.0.1:$mqtt_port" DATABROKER_HTTP_LISTEN="127.0.0.1:$http_port" \
  DATABROKER_DATA_DIR="$work/data" DATABROKER_MQTT_PASSWORD=secret-databroker \
  "$bin" serve --config "$work/etc/databroker.yaml" >"$work/databroker.log" 2>&1 &
pids+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$http_port/readyz" || fail "the databroker did not become ready"
echo "databroker: ready with deploy/docker/databroker.yaml, connected as user databroker"

# The dashboard may not read raw sensor topics: Mosquitto drops the subscription silently, so
# nothing arrives within the wait.
mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -u city-dashboard -P secret-city-dashboard \
  -t 'sensors/#' -C 1 -W 3 >"$work/dashboard.txt" 2>&1 &
dashboard=$!
mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -u city-dashboard -P secret-city-dashboard \
  -t 'open/#' -C 1 -W 10 >"$work/open.txt" 2>&1 &
open_sub=$!
sleep 0.5
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u sensor-gateway -P secret-sensor-gateway -q 1 \
  -t sensors/noise/deploy-check-1 -m '{"values":{"laeq":55.5}}' || fail "sensor-gateway could not publish"
wait_for 10 bash -c "curl -fsS http://127.0.0.1:$http_port/metrics | grep -q '^databroker_readings_ingested_total{path=\"mqtt\"} 1\$'" ||
  fail "the published reading was not stored"
echo "databroker: stored the reading sensor-gateway published"
wait "$open_sub" || fail "the dashboard did not receive the open republish on open/#"
grep -q deploy-check-1 "$work/open.txt" || grep -q 55.5 "$work/open.txt" || fail "open/# delivered something else: $(cat "$work/open.txt")"
echo "mosquitto: city-dashboard reads open/#"
if wait "$dashboard" && [ -s "$work/dashboard.txt" ]; then
  fail "city-dashboard read sensors/#: $(cat "$work/dashboard.txt")"
fi
echo "mosquitto: city-dashboard cannot read sensors/#"
echo "deploy check: passed"
