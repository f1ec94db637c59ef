#!/usr/bin/env bash
# Renders every report format and explain's text and SVG for every fixture and corpus trace, plus
# the md5 of each format on a synthetic capture, into DIR: run it with an old and a new build and
# `diff -r` the two directories to show that a change kept the outputs byte-identical. The Zeek
# log's #open and #close lines (the time it was written) are left out.
#
#   bench/equivalence.sh TEARDOWN_BINARY SYNTH_BINARY DIR [PACKETS]
set -uo pipefail
teardown=$1 synth=$2 out=$3 packets=${4:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
inputs=("$root"/fixtures/pcap/*/*.pcap "$root"/fixtures/derived/* "$root"/fixtures/malformed/*)
[ -d "$root/../shared/corpus/traces" ] && inputs+=("$root"/../shared/corpus/traces/*)
for input in "${inputs[@]}"; do
    name=$(echo "${input#"$root"/}" | tr '/' '_')
    for format in text json jsonl summary zeek; do
        (cd "$root" && "$teardown" analyze --format "$format" "$input" 2>"$out/$name.$format.err" | grep -av '^#open\|^#close' >"$out/$name.$format"
         echo "exit ${PIPESTATUS[0]}" >>"$out/$name.$format.err")
    done
    (cd "$root" && "$teardown" explain --color never --svg "$out/$name.svg" "$input" >"$out/$name.explain" 2>"$out/$name.explain.err"
     echo "exit $?" >>"$out/$name.explain.err")
    # Several SVGs are named STEM-ID.svg; the messages naming them differ only by the directory.
    sed -i "s#$out#OUT#g" "$out/$name.explain.err"
done
# Named the same in every run (the file's name is part of the reports).
work=$(mktemp -d)
"$synth" "$work/synthetic.pcap" "$packets" --seed 1 >/dev/null
for format in text json jsonl summary zeek; do
    (cd "$work" && "$teardown" analyze --format "$format" synthetic.pcap | grep -av '^#open\|^#close' | md5sum | cut -d' ' -f1) >"$out/synthetic-$packets.$format.md5"
done
rm -rf "$work"
