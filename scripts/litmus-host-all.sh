#!/usr/bin/env bash
# Runs every litmus test of the repository (tests/Kiov.Tests/Litmus/*.jsonl and the litmus examples in
# docs/examples) on the host kernel N times (default 10000) with `kiov litmus --host N`, records each
# histogram as NAME.host-histogram.jsonl beside the test, and keeps each report in OUT (default
# /tmp/kiov-litmus). Then prints the table of docs/litmus-results.md from the recorded histograms
# (scripts/litmus-table.sh does that part alone). A test that fails or hangs is reported and the rest still run.
#   scripts/litmus-host-all.sh [N] [OUT]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10000}
out=${2:-/tmp/kiov-litmus}
kiov=${KIOV:-$root/kiov}  # e.g. a copy of the build, so that editing sources meanwhile does not rebuild it
mkdir -p "$out"
for test in "$root"/tests/Kiov.Tests/Litmus/*.jsonl "$root"/docs/examples/litmus-*.jsonl; do
    case $test in *.host-histogram.jsonl) continue ;; esac
    name=$(basename "$test" .jsonl)
    start=$(date +%s)
    $kiov litmus "$test" --host "$runs" --save-histogram "${test%.jsonl}.host-histogram.jsonl" >"$out/$name.txt" 2>&1
    status=$?
    echo "$name: exit $status, $(( $(date +%s) - start )) s, $(grep -c '' "${test%.jsonl}.host-histogram.jsonl") host outcome(s)"
done
"$root/scripts/litmus-table.sh"
