#!/usr/bin/env bash
# Runs the decision-latency benchmark and writes docs/benchmarks.md.
# Needs the example policies (plugins/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f plugins/c-fifo/policy.wasm ] || plugins/build.sh
COHORT_BENCH_REPORT=docs/benchmarks.md cargo bench --bench decision -- --warm-up-time 1 --measurement-time 3 "$@"
