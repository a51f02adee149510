#!/usr/bin/env bash
# The demo: installs what is missing (npm packages, nats-server), then runs `switchyard dev`:
# an embedded nats-server, the router on :8080 and every plugin under ./plugins.
#   npm run demo                       # under bun (SWITCHYARD_RUNTIME=deno|node to switch)
#   npm run demo -- --port 9090        # extra flags go to `switchyard dev`
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=bootstrap.sh
source "$ROOT/scripts/bootstrap.sh" || exit 1
export SWITCHYARD_RUNTIME="${SWITCHYARD_RUNTIME:-bun}"
echo "demo: starting switchyard dev under $SWITCHYARD_RUNTIME (Ctrl-C stops everything)" >&2
exec "$ROOT/bin/switchyard" dev "$@"
