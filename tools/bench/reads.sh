#!/usr/bin/env bash
# Read throughput with and without the audit trail: one partner key reads 100-reading history
# pages of two noise streams holding the same readings, one open (no audit record) and one
# shared with it by a grant (one audit record per request), both through the same view, against
# the release binary on loopback.
#
#   tools/bench/reads.sh [seconds per run, default 10]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-10}
bin="$root/build/release/broker/server/databroker"
loadgen="$root/build/release/tools/loadgen/databroker-loadgen"
[ -x "$bin" ] && [ -x "$loadgen" ] || "$root/deploy/build.sh" release databroker databroker-loadgen

work=$(mktemp -d)
broker=""
cleanup() {
  [ -n "$broker" ] && kill "$broker" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
sed -e 's/^  enabled: true/  enabled: false/' -e 's/^policy_file: .*/policy_file: policy.yaml/' \
  "$root/deploy/databroker.example.yaml" >"$work/databroker.yaml"
cp "$root/deploy/sensors.example.yaml" "$work/"
cat >"$work/policy.yaml" <<'POLICY'
rules:
  - name: one noise stream is open data
    match: {sensor: bench-open}
    class: open
    open_view: {drop: [battery]}
  - name: the other is shared with the mobility partner
    match: {sensor: bench-shared}
    class: shared
    grants:
      - {profile: mobility-partner, purpose: benchmark, legal_basis: none, until: 2099-12-31,
         view: {drop: [battery]}}
POLICY
export DATABROKER_DATA_DIR="$work/data" DATABROKER_HTTP_LISTEN="127.0.0.1:$http_port"
gateway=$("$bin" keys create --profile sensor-gateway --config "$work/databroker.yaml" 2>/dev/null)
partner=$("$bin" keys create --profile mobility-partner --config "$work/databroker.yaml" 2>/dev/null)
"$bin" serve --config "$work/databroker.yaml" >"$work/broker.log" 2>&1 &
broker=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http_port/healthz" >/dev/null && break; sleep 0.1; done

now=$(($(date +%s) * 1000))
for sensor in bench-open:noise:laeq bench-shared:noise:laeq; do
  IFS=: read -r id kind measurement <<<"$sensor"
  body="["
  for i in $(seq 0 99); do
    [ "$i" -gt 0 ] && body+=","
    body+="{\"ts\":$((now - 100000 + i * 1000)),\"values\":{\"$measurement\":$((i % 50)),\"battery\":90}}"
  done
  body+="]"
  curl -sf -X POST "http://127.0.0.1:$http_port/v1/sensors/$kind/$id/readings" \
    -H "Authorization: Bearer $gateway" -H 'Content-Type: application/json' -d "$body" >/dev/null
done

echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
"$loadgen" read --port "$http_port" --key "$partner" --connections 4 --seconds "$seconds" \
  --target "/v1/streams/bench-open/readings?limit=100"
"$loadgen" read --port "$http_port" --key "$partner" --connections 4 --seconds "$seconds" \
  --target "/v1/streams/bench-shared/readings?limit=100"
curl -s "http://127.0.0.1:$http_port/metrics" | grep '^databroker_audit_records_total' || true
