#!/usr/bin/env python3
"""Prints the table of tools/bench/run.sh from its raw results.

    table.py RESULTS CPU_SMALL_STREAMS CPU_LARGE_STREAMS CPU_LARGE_RULES [--require-all]

RESULTS has one measurement per line: scenario, run, key, value (tab-separated). Each row of
the table is one scenario of docs/benchmarks.md: the ceiling measured beside it (when it has
one), databroker's figure, their ratio, and the target. Figures are the median of the runs with
min–max in brackets; a ratio is computed per run (figure and ceiling of the same run), then its
median is taken. A scenario with no results (not run, or its run failed) says so; with
--require-all (the smoke run of the test suite) that is an error, exit status 1.
"""
import statistics
import sys
from collections import defaultdict


def load(path):
    values = defaultdict(dict)  # (scenario, key) -> {run: value}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4 or parts[3] == "":
                continue
            scenario, run, key, value = parts
            try:
                values[(scenario, key)][run] = float(value)
            except ValueError:
                continue
    return values


def spread(xs, unit="", digits=0):
    if not xs:
        return "no result"
    fmt = f"{{:,.{digits}f}}"
    median = fmt.format(statistics.median(xs))
    if len(xs) == 1:
        return median + unit
    return f"{median}{unit} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def main():
    args = [a for a in sys.argv[1:] if a != "--require-all"]
    if len(args) != 4:
        sys.exit(__doc__)
    values = load(args[0])
    small, large, rules_large = args[1], args[2], args[3]

    def series(scenario, key):
        return values.get((scenario, key), {})

    def runs(scenario, key):
        return list(series(scenario, key).values())

    def ratios(num_scenario, num_key, den_scenario, den_key):
        num, den = series(num_scenario, num_key), series(den_scenario, den_key)
        return [num[r] / den[r] if den[r] > 0 else float("nan") for r in num if r in den]

    def one(scenario, key, default="?"):
        xs = runs(scenario, key)
        return f"{int(xs[0]):,}" if xs else default

    rows = []

    def rate_row(label, scenario, ceiling_scenario, ceiling_key, ceiling_label, target):
        rs = ratios(scenario, "figure", ceiling_scenario, ceiling_key)
        ok = bool(rs) and statistics.median(rs) >= target
        rows.append([label, f"{ceiling_label}: {spread(runs(ceiling_scenario, ceiling_key))}",
                     spread(runs(scenario, "figure")), spread(rs, " ×", 2), f"≥ {target} ×",
                     verdict(rs, ok)])

    def verdict(xs, ok):
        return "—" if not xs else ("met" if ok else "not met")

    rate_row("MQTT ingest, QoS 1, `buffered` (msg/s)", "mqtt-buffered-qos1", "mqtt-qos1",
             "ceiling", "Mosquitto 1→1 QoS 1", 0.9)
    rate_row("MQTT ingest, QoS 1, `sync` (msg/s)", "mqtt-sync-qos1", "mqtt-qos1", "ceiling",
             "Mosquitto 1→1 QoS 1", 0.8)
    rate_row("MQTT ingest, QoS 0, `buffered` (msg/s)", "mqtt-buffered-qos0", "mqtt-qos0",
             "ceiling", "Mosquitto 1→1 QoS 0", 0.6)
    rate_row("MQTT ingest QoS 1 with open-data republish on (msg/s)", "republish", "republish",
             "ceiling", "the same without republish", 0.7)
    for mode, target in (("buffered", 500_000), ("sync", 250_000)):
        xs = runs(f"http-batch-{mode}", "figure")
        ok = bool(xs) and statistics.median(xs) >= target
        rows.append([f"HTTP batch ingest, 1,000 per request, `{mode}` (readings/s)", "—",
                     spread(xs), "—", f"≥ {target:,}", verdict(xs, ok)])
    rate_row("HTTP single-reading POSTs, keep-alive, 64 connections (requests/s)",
             "http-single", "http-single", "ceiling", "nginx `204`", 0.5)
    for rate, target in (("10000", 10.0), ("1000", None)):
        p99, lost = runs(f"fanout-{rate}", "p99_ms"), runs(f"fanout-{rate}", "lost")
        ok = bool(p99) and sum(lost) == 0 and (target is None or statistics.median(p99) <= target)
        goal = f"p99 ≤ {target:g} ms, no loss" if target else "no loss; p99 reported"
        rows.append([f"fan-out, {one(f'fanout-{rate}', 'subscribers')} SSE subscribers at "
                     f"{int(rate):,} readings/s", "—",
                     f"p99 {spread(p99, ' ms', 2)}, lost {int(sum(lost)) if lost else '?'}",
                     "—", goal, verdict(p99, ok)])
    p99 = runs("latest", "p99_ms")
    rows.append([f"latest value of one of {one('latest', 'streams')} streams, 64 clients "
                 f"({spread(runs('latest', 'rate'))} requests/s)", "—",
                 f"p99 {spread(p99, ' ms', 3)}", "—", "p99 ≤ 1 ms",
                 verdict(p99, bool(p99) and statistics.median(p99) <= 1.0)])
    p99 = runs("history", "p99_ms")
    rows.append(["a history page of 1,000 readings", "—", f"p99 {spread(p99, ' ms', 2)}", "—",
                 "p99 ≤ 10 ms", verdict(p99, bool(p99) and statistics.median(p99) <= 10.0)])
    for scenario, low, high, what in (("cpu-streams", small, large, "streams"),
                                      ("cpu-rules", "10", rules_large, "policy rules")):
        rs = ratios(scenario, high, scenario, low)
        rows.append([f"CPU per reading, {int(low):,} → {int(high):,} {what} (µs/reading)",
                     f"{int(low):,}: {spread(runs(scenario, low), ' µs', 2)}",
                     f"{int(high):,}: {spread(runs(scenario, high), ' µs', 2)}",
                     spread(rs, " ×", 2), "flat within 25 % (≤ 1.25 ×)",
                     verdict(rs, bool(rs) and statistics.median(rs) <= 1.25)])
    rss = runs("memory", "rss_mb")
    rows.append([f"resident memory, {one('memory', 'streams')} streams and "
                 f"{one('memory', 'subscribers')} SSE subscribers", "—", spread(rss, " MB"), "—",
                 "≤ 256 MB beyond the RocksDB cache",
                 verdict(rss, bool(rss) and statistics.median(rss) <= 256)])

    header = ["scenario", "ceiling (same run)", "databroker", "ratio", "target", ""]
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" for _ in header) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if "--require-all" in sys.argv:
        missing = [row[0] for row in rows if any("no result" in cell or "?" in cell for cell in row)]
        for label in missing:
            print(f"no result: {label}", file=sys.stderr)
        sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
