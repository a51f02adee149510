#!/usr/bin/env bash
# Type-checks the whole project (src, plugins, test, bench) with the strict tsconfig.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
echo "check: tsc -p tsconfig.json" >&2
tsc -p tsconfig.json
