#!/usr/bin/env bash
# Regenerates tests/Kiov.Tests/Traces/*.expected.jsonl by running every trace on the running
# Linux kernel (`kiov replay --host`): the host kernel is the judge of what a trace prints.
# Usage: scripts/regen-expected.sh [TRACE.jsonl ...]   (default: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Kiov.Cli -c Debug -v quiet -nologo >/dev/null
kiov=(dotnet src/Kiov.Cli/bin/Debug/net10.0/Kiov.Cli.dll)
if [ $# -eq 0 ]; then
    set -- $(ls tests/Kiov.Tests/Traces/*.jsonl | grep -v '\.expected\.jsonl$')
fi
for trace in "$@"; do
    expected="${trace%.jsonl}.expected.jsonl"
    "${kiov[@]}" replay --host "$trace" > "$expected.tmp"
    mv "$expected.tmp" "$expected"
    echo "$expected"
done
