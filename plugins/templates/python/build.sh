#!/usr/bin/env bash
# Builds policy.wasm from app.py (needs `pip install componentize-py`).
set -euo pipefail
cd "$(dirname "$0")"
command -v componentize-py >/dev/null || { echo "build.sh: pip install componentize-py" >&2; exit 1; }
componentize-py -d matchmaker.wit -w policy componentize app -o policy.wasm
echo "built $(pwd)/policy.wasm"
