#!/usr/bin/env bash
# Configures and builds one CMake preset (debug, release, asan-ubsan, fuzz) quietly; the compiler's
# output is shown only when the build fails. Usage: deploy/build.sh PRESET [TARGET...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${1:-release}
shift || true
cd "$root"
log="$root/build/$preset.build.log"
mkdir -p "$root/build"
if ! cmake --preset "$preset" >"$log" 2>&1; then
  cat "$log" >&2
  echo "databroker: cmake configure failed (preset $preset)" >&2
  exit 1
fi
jobs=$(nproc)
if ! cmake --build --preset "$preset" -j "$jobs" ${1:+--target "$@"} >>"$log" 2>&1; then
  grep -E "error|Error|FAILED" -A5 "$log" | head -80 >&2
  echo "databroker: build failed (preset $preset); full log in $log" >&2
  exit 1
fi
