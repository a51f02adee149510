#!/usr/bin/env bash
# Benchmark: switchyard against the raw floors (bare NATS, minimal hand-written gateway) in one run.
#   npm run bench -- [--duration S] [--runtimes deno,bun,node] [--scenarios a,b] [--out FILE]
#   npm run bench:smoke
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/node_modules/.bin:$PATH"
cd "$root"
exec node bench/run.ts "$@"
