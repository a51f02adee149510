#!/usr/bin/env bash
# Benchmark: switchyard against the raw floors (bare NATS, minimal hand-written gateway) and against
# Moleculer, in one run. Bootstraps first: nats-server, node_modules, and wrk (the HTTP load
# generator; apt-get as root or through sudo; when it cannot be installed, autocannon is used).
#   npm run bench -- [--duration S] [--runtimes deno,bun,node] [--scenarios a,b] [--load wrk|autocannon] [--out FILE]
#   npm run bench:smoke
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for arg in "$@"; do
  # an explicit autocannon run needs no wrk: skip its install
  case "$arg" in --load=autocannon | autocannon) export SWITCHYARD_BENCH_LOAD=autocannon ;; esac
done
# shellcheck source=bootstrap.sh
source "$root/scripts/bootstrap.sh"
cd "$root"
exec node bench/run.ts "$@"
