#!/usr/bin/env bash
# Runs every benchmark and writes docs/benchmarks.md:
#   - decision latency of policies (cargo bench --bench decision; needs plugins/build.sh),
#   - game modules in the host's engine and the game paths (cargo bench --features webrtc --bench game),
#   - transport side by side with MUG (benches/side_by_side.py; pip installs MUG),
#   - cohort bots at scale (benches/scale.py; as root for the open-file limit).
# Release build; takes about 10 minutes on 2 cores after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f plugins/c-fifo/policy.wasm ] || plugins/build.sh
mkdir -p target/bench
cargo build --release
COHORT_BENCH_REPORT=target/bench/decision.md cargo bench --bench decision -- --warm-up-time 1 --measurement-time 3 "$@"
cargo bench --features webrtc --bench game > target/bench/game.md
python3 -m pip install --quiet --disable-pip-version-check -r benches/requirements.txt
python3 benches/side_by_side.py --cohort-bin target/release/cohort --out target/bench/side.json >/dev/null
python3 benches/scale.py --cohort-bin target/release/cohort --idle "${COHORT_BENCH_IDLE:-10000,19000}" --out target/bench/scale.json >/dev/null
python3 benches/report.py target/bench > docs/benchmarks.md
echo "wrote docs/benchmarks.md"
