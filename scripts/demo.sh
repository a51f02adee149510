#!/usr/bin/env bash
# The demo: installs what is missing (npm packages, nats-server), then runs `switchyard dev`:
# an embedded nats-server, the router on :8080 and every plugin under ./plugins.
#   npm run demo                                   # under bun (SWITCHYARD_RUNTIME=deno|node to switch)
#   npm run demo -- --port 9090                    # extra flags go to `switchyard dev`
#   npm run demo -- --config demo.config.yaml      # router settings and plugin options from a file
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# File flags name paths from where the command was typed (`npm run` starts in the package root
# and keeps that directory in INIT_CWD); dev itself runs in the root, beside ./plugins.
caller="${INIT_CWD:-$PWD}"
args=()
expect_path=""
for arg in "$@"; do
  if [ -n "$expect_path" ]; then
    case "$arg" in /*) ;; *) arg="$caller/$arg" ;; esac
    expect_path=""
  else
    case "$arg" in
      --config | --plugins) expect_path=1 ;;
      --config=/* | --plugins=/*) ;;
      --config=* | --plugins=*) arg="${arg%%=*}=$caller/${arg#*=}" ;;
    esac
  fi
  args+=("$arg")
done
cd "$ROOT"
# shellcheck source=bootstrap.sh
source "$ROOT/scripts/bootstrap.sh" || exit 1
export SWITCHYARD_RUNTIME="${SWITCHYARD_RUNTIME:-bun}"
echo "demo: starting switchyard dev under $SWITCHYARD_RUNTIME (Ctrl-C stops everything)" >&2
exec "$ROOT/bin/switchyard" dev "${args[@]}"
