#!/usr/bin/env bash
# --continuous at full size (issue 23): a synthetic capture of PACKETS packets (default 1 M) cut
# into pieces of 1 000 packets by editcap; the pieces read as one, in name order and shuffled,
# must give the whole file's JSON Lines (the `files` member aside). Prints the wall times.
#
#   bench/continuous.sh [PACKETS]     (release build first: swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
bin=.build/release
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin/teardown-synth" "$dir/whole.pcap" "$packets" --seed 1 --concurrent 2000 >/dev/null
mkdir "$dir/pieces"
editcap -F nsecpcap -c 1000 "$dir/whole.pcap" "$dir/pieces/piece.pcap"
strip_files() { sed 's/,"files":\[[^]]*\]}$/}/'; }
time_of() { local start=$(date +%s%N); "$@"; echo "$(( ($(date +%s%N) - start) / 1000000 )) ms" >&2; }
echo "whole file:" >&2
time_of "$bin/teardown" analyze --format jsonl "$dir/whole.pcap" > "$dir/whole.jsonl"
echo "$(ls "$dir/pieces" | wc -l) pieces, --continuous, name order:" >&2
time_of "$bin/teardown" analyze --continuous --format jsonl "$dir"/pieces/* > "$dir/stitched.raw"
echo "shuffled:" >&2
ls "$dir"/pieces/* | shuf --random-source=<(yes) > "$dir/order"
time_of xargs -a "$dir/order" "$bin/teardown" analyze --continuous --format jsonl > "$dir/shuffled.raw"
cmp "$dir/whole.jsonl" <(strip_files < "$dir/stitched.raw")
cmp "$dir/whole.jsonl" <(strip_files < "$dir/shuffled.raw")
echo "identical: $(wc -l < "$dir/whole.jsonl") connections" >&2
