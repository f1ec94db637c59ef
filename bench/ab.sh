#!/usr/bin/env bash
# A/B timing of teardown builds on one capture, alternating the builds run by run (this machine's
# speed drifts by up to 2x from minute to minute, so only alternating comparisons are trusted).
# Prints the minimum and median wall time of each build.
#
#   bench/ab.sh FORMAT CAPTURE RUNS BINARY...
#   e.g. cp .build/release/teardown /tmp/teardown.a; (change, rebuild)
#        bench/ab.sh jsonl /tmp/synthetic.pcap 7 /tmp/teardown.a .build/release/teardown
set -euo pipefail
format=$1 capture=$2 runs=$3
shift 3
declare -A times
for _ in $(seq "$runs"); do
    for binary in "$@"; do
        start=$(date +%s%N)
        "$binary" analyze --format "$format" "$capture" > /dev/null
        times[$binary]+="$(( $(date +%s%N) - start )) "
    done
done
for binary in "$@"; do
    echo "${times[$binary]}" | tr ' ' '\n' | grep . | sort -n | awk -v name="$binary" \
        '{t[NR] = $1 / 1e9} END {printf "%-40s min %.3f s  median %.3f s  (%d runs)\n", name, t[1], t[int((NR + 1) / 2)], NR}'
done
