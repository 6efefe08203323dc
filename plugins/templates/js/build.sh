#!/usr/bin/env bash
# Builds policy.wasm from policy.js (needs `npm install` here first). `--sync`: cohort
# calls policies synchronously, so the component must not use async exports.
set -euo pipefail
cd "$(dirname "$0")"
qjs=node_modules/.bin/componentize-qjs
[ -x "$qjs" ] || { echo "build.sh: run 'npm install' in $(pwd) first" >&2; exit 1; }
"$qjs" --wit matchmaker.wit --world policy --js policy.js --sync -o policy.wasm
echo "built $(pwd)/policy.wasm"
