#!/usr/bin/env bash
# Runs every benchmark beside its baseline and prints benchstat's comparison, with the
# baseline (impl=chan, or impl=goroutine for idle memory) against the actor in one table.
# Usage: bench/run.sh [count]   (default 6 runs; run on a quiet machine)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-6}
out=${BENCH_OUT:-bench/latest.txt}
go test -run '^$' -bench . -benchmem -count "$count" . | tee "$out"
go run golang.org/x/perf/cmd/benchstat@latest -col /impl "$out"
