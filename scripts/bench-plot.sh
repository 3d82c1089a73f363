#!/usr/bin/env sh
# Regenerates docs/bench.svg, the picture README.md shows, with `kiov bench` on this machine, and
# docs/bench.txt, the table of the same run. Takes about a minute (every side is warmed first).
set -eu
cd "$(dirname "$0")/.."
mkdir -p docs
./kiov bench --plot docs/bench.svg > docs/bench.txt
cat docs/bench.txt
