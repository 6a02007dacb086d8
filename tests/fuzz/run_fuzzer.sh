#!/usr/bin/env bash
# The suite's short run of one libFuzzer target: the committed seeds (read only) plus a work
# corpus in the build folder, for SECONDS seconds. A crash, a leak, a sanitizer report or a
# timeout fails the test and leaves the input in WORK/artifacts/ (reproduce: TARGET FILE).
#   run_fuzzer.sh TARGET SEEDS WORK SECONDS
set -euo pipefail
target=$1 seeds=$2 work=$3 seconds=$4
name=$(basename "$target")
[ -n "$(ls -A "$seeds" 2>/dev/null)" ] || { echo "$name: no seeds in $seeds" >&2; exit 1; }
mkdir -p "$work/corpus" "$work/artifacts"
log="$work/last-run.log"
status=0
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$log" 2>&1 || status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
echo "$name: ${runs:-?} executions in ${seconds} s, coverage ${cov:-?} edges, peak RSS ${peak:-?} MB, exit status $status"
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log"
  ls -l "$work/artifacts" >&2
  exit 1
fi
