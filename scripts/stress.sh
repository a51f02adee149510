#!/usr/bin/env bash
# Runs the test suite while CPU hogs keep every core busy, as on a machine loaded with other work.
#   npm run test:stress                          # the whole suite (as `npm test`), under load
#   npm run test:stress -- test/e2e/x_test.ts    # only these files
# Env:
#   SWITCHYARD_STRESS_HOGS   busy-loop processes to run (default: one per core, `nproc`)
#   everything scripts/test.sh reads (SWITCHYARD_TEST_RUNTIMES, SWITCHYARD_SKIP_CHECK, ...);
#   SWITCHYARD_RUNTIME_TIMEOUT_S defaults to 3600 and SWITCHYARD_TEST_TIMEOUT_MS to 600000 here
#   (hang guards, not assertions), since a loaded machine runs slower.
# The hogs are started here and stopped on any exit, Ctrl-C included. The exit status is the suite's.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

hogs=()
suite=""
stop_all() {
  # test.sh stops its runner's whole process group on TERM.
  [ -n "$suite" ] && kill -TERM "$suite" 2>/dev/null && wait "$suite" 2>/dev/null
  [ ${#hogs[@]} -gt 0 ] && kill "${hogs[@]}" 2>/dev/null && wait "${hogs[@]}" 2>/dev/null
  hogs=()
  suite=""
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

count="${SWITCHYARD_STRESS_HOGS:-$(nproc 2>/dev/null || echo 2)}"
case "$count" in '' | *[!0-9]*) echo "stress: SWITCHYARD_STRESS_HOGS must be a number" >&2; exit 2 ;; esac
for ((i = 0; i < count; i++)); do
  # A subshell spinning in bash: one core's worth of work at normal priority, no output.
  (while :; do :; done) &
  hogs+=("$!")
done
echo "stress: $count CPU hog(s) running (pids ${hogs[*]}); load average now $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >&2

export SWITCHYARD_RUNTIME_TIMEOUT_S="${SWITCHYARD_RUNTIME_TIMEOUT_S:-3600}"
export SWITCHYARD_TEST_TIMEOUT_MS="${SWITCHYARD_TEST_TIMEOUT_MS:-600000}"
started=$SECONDS
# In the background, so that `wait` returns as soon as a signal arrives (Ctrl-C included) and the
# traps stop the suite and the hogs at once.
bash "$ROOT/scripts/test.sh" "$@" &
suite=$!
wait "$suite"
status=$?
suite=""
echo "stress: suite finished with exit $status after $((SECONDS - started)) s under $count CPU hog(s)" >&2
exit "$status"
