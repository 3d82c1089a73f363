#!/usr/bin/env bash
# Prints the markdown table of docs/litmus-results.md: for every litmus test of the repository, the outcomes the
# model allows and the outcomes its recorded host histogram (NAME.host-histogram.jsonl, from
# scripts/litmus-host-all.sh) showed, checked with `kiov litmus NAME.jsonl --recorded NAME.host-histogram.jsonl`.
#   scripts/litmus-table.sh
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
kiov=${KIOV:-$root/kiov}
max_runs=${MAX_RUNS:-20000}  # the model's exhaustive budget per test (kiov litmus --max-runs)
echo "| test | model: outcomes allowed | host: runs, outcome (count) | allowed, never seen on the host | verdict |"
echo "|---|---|---|---|---|"
for test in "$root"/tests/Kiov.Tests/Litmus/*.jsonl "$root"/docs/examples/litmus-*.jsonl; do
    case $test in *.host-histogram.jsonl) continue ;; esac
    histogram=${test%.jsonl}.host-histogram.jsonl
    name=$(basename "$test" .jsonl)
    [ -f "$histogram" ] || { echo "| $name | | no recorded histogram | | |"; continue; }
    $kiov litmus "$test" --recorded "$histogram" --max-runs "$max_runs" 2>&1 | awk -v name="$name" '
        / the model allows / { model = $5 " (all schedules, " substr($(NF-1), 2) " runs)" }
        / the model reached / { model = $5 " (within the bound: " substr($(NF-6), 2) " runs, not every schedule)" }
        / the host showed / { runs = $(NF-1) }
        /^  m[0-9]+: [0-9]+$/ { host = host (host ? ", " : "") $1 " " $2 }
        /^  m[0-9]+: allowed, never seen/ { never = never (never ? ", " : "") substr($1, 1, length($1) - 1) }
        /^  host-only/ { sub(/^  /, ""); host = host (host ? ", " : "") $0 }
        /^  NOT ALLOWED: / { host = host (host ? ", " : "") "**not allowed** " $3 }
        /: ok: / { verdict = "ok" }
        /: FAIL: / { verdict = "**FAIL**" }
        /: the host runs stopped/ { verdict = "**hung**" }
        END { printf "| %s | %s | %s: %s | %s | %s |\n", name, model, runs, host, (never ? never : "-"), verdict }'
done
