#!/usr/bin/env bash
# Tests policy.c natively (no WebAssembly) against a fake host: test/fake_host.c
# stands in for the bindings and cohort's host functions.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# With the address and undefined-behaviour sanitizers where the compiler has them.
sanitize=""
if echo 'int main(void) { return 0; }' | cc -fsanitize=address,undefined -x c - -o "$tmp/probe" 2>/dev/null; then
  sanitize="-fsanitize=address,undefined"
fi
cc -std=c11 -Wall -Werror -g $sanitize -Ibindings -Itest -o "$tmp/test" policy.c test/fake_host.c test/test_policy.c
"$tmp/test"
