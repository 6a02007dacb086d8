#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything with AddressSanitizer
# and UndefinedBehaviorSanitizer, and runs the whole suite (unit, integration against a real
# Mosquitto and HTTP on loopback, end-to-end with the real binary) under ctest. Every server a
# test needs is started and stopped by the test itself on free ports. Then it builds the
# libFuzzer targets with clang (the fuzz preset) and runs each for a short while
# (tests/fuzz; DATABROKER_TEST_FUZZ=0 skips them). Arguments go to the main suite's ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${DATABROKER_TEST_PRESET:-asan-ubsan}

"$root/deploy/install-deps.sh"
"$root/deploy/build.sh" "$preset"
# The npm test clients, exactly as locked (package-lock.json); quiet unless it fails.
npm_log=$(mktemp)
if ! (cd "$root/tests/e2e/node" && npm ci --no-audit --no-fund) >"$npm_log" 2>&1; then
  cat "$npm_log" >&2
  echo "databroker: npm ci failed in tests/e2e/node" >&2
  exit 1
fi
rm -f "$npm_log"

cd "$root"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}
status=0
ctest --preset "$preset" -j "$(nproc)" "$@" || status=$?

if [ "${DATABROKER_TEST_FUZZ:-1}" != 0 ]; then
  "$root/deploy/build.sh" fuzz
  ctest --preset fuzz -j "$(nproc)" || status=$?
fi
exit "$status"
