#!/usr/bin/env bash
# Installs the Debian 12 packages databroker builds and tests with. Idempotent and quiet: it
# asks apt only for what is missing, and prints apt's output only when something fails.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libboost-url1.81-dev
  libpaho-mqttpp-dev libpaho-mqtt-dev
  nlohmann-json3-dev librocksdb-dev libyaml-cpp-dev libssl-dev libexpected-dev libsimdjson-dev
  catch2 clang-format
  # the fuzz targets (tests/fuzz): clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev
  mosquitto mosquitto-clients libmosquitto-dev curl
  # the benchmark's ceilings (tools/bench/run.sh): a server answering 204, and its HTTP driver
  nginx-light wrk
  # the deploy files' checks (tests/e2e/deploy_check.sh): systemd-analyze and yamllint
  systemd yamllint
  # Prometheus's own parser checks /metrics in the suite (promtool check metrics); its service
  # is not started (see policy-rc.d below)
  prometheus
)

# Node.js runs the test clients that nobody here wrote (npm eventsource, ws). A machine that
# already has node and npm (e.g. from another vendor's package) keeps them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "databroker: missing Debian packages: ${missing[*]}" >&2
  echo "databroker: run as root, or install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "databroker: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
# Debian's nginx and prometheus packages start services (ports 80, 9090) when installed; the
# benchmark and the tests start their own on free ports, so no service is wanted: a policy-rc.d that refuses starts, for the
# duration of this install only (an existing one is left alone).
policy_rc=/usr/sbin/policy-rc.d
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy_rc" && chmod +x "$policy_rc"
  trap 'rm -f "$log" "$policy_rc"' EXIT
fi
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "databroker: package installation failed" >&2
  exit 1
fi
