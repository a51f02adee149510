#!/usr/bin/env bash
# Runs the test suite on every runtime, side by side, and sums up the results.
#   bash scripts/test.sh [files...]      # default: every *_test.ts under test/, src/ and plugins/
#   npm test -- plugins/hello/hello_test.ts   # one plugin's tests (paths relative to where you are)
# Env:
#   SWITCHYARD_TEST_RUNTIMES  runtimes to use, in order (default "deno bun node")
#   SWITCHYARD_SKIP_CHECK=1   skip the tsc type-check
#   SWITCHYARD_TEST_TIMEOUT_MS per-test limit for node and bun (default 120000; bun's own is 5 s):
#                             a guard against a hang, raised by test:stress for a loaded machine
#   SWITCHYARD_BUN_TIMEOUT_MS per-test limit for bun alone (default SWITCHYARD_TEST_TIMEOUT_MS)
#   SWITCHYARD_RUNTIME_TIMEOUT_S hard limit for one runtime's whole run (default 900)
#   SWITCHYARD_TEST_SERIAL=1  one runtime after the other, its output shown as it runs (default:
#                             side by side, each runtime's result printed as it ends: the suite
#                             mostly waits on the processes it starts, and a loaded machine is
#                             what the tests must hold on anyway)
# A test file with a line "// Runs once: <why>" runs on one runtime only (node when it is listed,
# else the last one): it checks files, or runs every runtime itself.
#   SWITCHYARD_SKIP_PROMTOOL=1 do not install promtool (Debian's prometheus package) when missing
#   SWITCHYARD_SKIP_BENCH_SMOKE=1 skip the benchmark harness check (bench:smoke, ~2 min); it is
#                             also skipped when test files are named
#   SWITCHYARD_TEST_LOG_DIR   where the logs go (default .cache/test; a test that runs the suite sets its own)
# Each runtime's output is kept in .cache/test/<runtime>.log. The last line is "N passed, N failed",
# counted from each runner's own summary; the exit status is non-zero if any runtime failed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Files are named relative to where the command was typed (`npm run` starts scripts in the
# package root and keeps that directory in INIT_CWD).
caller="${INIT_CWD:-$PWD}"
cd "$ROOT"
# shellcheck source=bootstrap.sh
source "$ROOT/scripts/bootstrap.sh" || exit 1
_sy_install_promtool

if [ "${SWITCHYARD_SKIP_CHECK:-}" = 1 ]; then
  echo "test: type-check skipped (SWITCHYARD_SKIP_CHECK=1)" >&2
else
  bash "$ROOT/scripts/check.sh" || { echo "test: type-check failed" >&2; exit 1; }
fi

files=()
if [ $# -gt 0 ]; then
  for f in "$@"; do
    case "$f" in /*) ;; *) f="$caller/$f" ;; esac
    # Relative to the root when under it (shorter runner output), else absolute.
    files+=("$(realpath -m --relative-base="$ROOT" -- "$f")")
  done
else
  while IFS= read -r f; do files+=("$f"); done < <(
    find test src plugins -name '*_test.ts' -not -path '*/node_modules/*' 2>/dev/null | LC_ALL=C sort
  )
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "test: no *_test.ts files found" >&2
  exit 1
fi
read -r -a listed <<<"${SWITCHYARD_TEST_RUNTIMES:-deno bun node}"
runtimes=()
for r in "${listed[@]}"; do [[ " ${runtimes[*]} " == *" $r "* ]] || runtimes+=("$r"); done
once_runtime="${runtimes[${#runtimes[@]}-1]}"
for r in "${runtimes[@]}"; do [ "$r" = node ] && once_runtime=node; done
every=()
for f in "${files[@]}"; do grep -q '^// Runs once: ' "$f" 2>/dev/null || every+=("$f"); done

# files_for RUNTIME: sets $run_files, the files that runtime runs (bun wants ./ on relative paths).
files_for() {
  local f list=()
  if [ "$1" = "$once_runtime" ]; then list=("${files[@]}"); else list=("${every[@]}"); fi
  run_files=()
  for f in "${list[@]}"; do
    if [ "$1" = bun ]; then
      case "$f" in /* | ./* | ../*) run_files+=("$f") ;; *) run_files+=("./$f") ;; esac
    else
      run_files+=("$f")
    fi
  done
}

# Node keeps its compiled (and type-stripped) modules here: each of the hundreds of Node processes
# the suite starts then loads in about half the CPU time.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$ROOT/.cache/node-compile}"
logdir="${SWITCHYARD_TEST_LOG_DIR:-$ROOT/.cache/test}"
mkdir -p "$logdir"
summaries=()
runner=""
runners=()
stop_runner() {
  local pid
  for pid in $runner "${runners[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  exit "$1"
}
trap 'stop_runner 130' INT
trap 'stop_runner 143' TERM HUP

# run_limited SECONDS LOG show|quiet CMD...: runs CMD under `timeout` with its output in LOG (and on
# the terminal with "show"); sets $rc. `timeout` runs in a process group of its own, which a
# terminal's Ctrl-C does not reach: the traps above forward it to that group (the runner and the
# processes the tests started).
run_limited() {
  local limit="$1" out="$2" mode="$3" tailer=""
  shift 3
  : >"$out"
  timeout --kill-after=10 "$limit" "$@" >"$out" 2>&1 &
  runner=$!
  if [ "$mode" = show ]; then
    tail -n +1 --pid="$runner" -f "$out" &
    tailer=$!
  fi
  wait "$runner"
  rc=$?
  runner=""
  if [ -n "$tailer" ]; then wait "$tailer"; fi
}
total_pass=0
total_fail=0
status=0

# Sets $passed and $failed from the runner's own summary in log file $2; returns 1 if none found.
parse_summary() {
  local runtime="$1" text line
  text="$(sed -E 's/\x1b\[[0-9;]*[A-Za-z]//g' "$2")"
  passed="" failed=""
  case "$runtime" in
    deno) # "ok | 3 passed (2 steps) | 0 failed (12ms)"; a describe() is a test, its tests are steps
      line="$(grep -E '^(ok|FAILED) \| [0-9]+ passed' <<<"$text" | tail -n 1)"
      [ -n "$line" ] || return 1
      local re_p='([0-9]+) passed( \(([0-9]+) steps?\))?' re_f='([0-9]+) failed( \(([0-9]+) steps?\))?'
      [[ "$line" =~ $re_p ]] && passed=$((BASH_REMATCH[1] + ${BASH_REMATCH[3]:-0}))
      [[ "$line" =~ $re_f ]] && failed=$((BASH_REMATCH[1] + ${BASH_REMATCH[3]:-0}))
      # a describe() that failed only because of its steps is not a failure of its own
      failed=$((failed - $(grep -cE 'FAILED \(due to [0-9]+ failed step' <<<"$text")))
      ;;
    bun) # " 4 pass" / " 1 fail"
      passed="$(grep -E '^ *[0-9]+ pass$' <<<"$text" | tail -n 1 | tr -dc 0-9)"
      failed="$(grep -E '^ *[0-9]+ fail$' <<<"$text" | tail -n 1 | tr -dc 0-9)"
      ;;
    node) # spec reporter "ℹ pass 4" / "ℹ fail 1" / "ℹ cancelled 0"; TAP uses "# pass 4"
      passed="$(grep -E '^(ℹ|#) pass [0-9]+$' <<<"$text" | tail -n 1 | tr -dc 0-9)"
      failed="$(grep -E '^(ℹ|#) fail [0-9]+$' <<<"$text" | tail -n 1 | tr -dc 0-9)"
      local cancelled
      cancelled="$(grep -E '^(ℹ|#) cancelled [0-9]+$' <<<"$text" | tail -n 1 | tr -dc 0-9)"
      [ -n "$failed" ] && failed=$((failed + ${cancelled:-0}))
      ;;
  esac
  [ -n "$passed" ] && [ -n "$failed" ]
}

test_timeout_ms="${SWITCHYARD_TEST_TIMEOUT_MS:-120000}"
runtime_limit="${SWITCHYARD_RUNTIME_TIMEOUT_S:-900}"
# command_for RUNTIME: sets $cmd, the runner's command line.
command_for() {
  files_for "$1"
  case "$1" in
    deno) cmd=(deno test -A --no-check "${run_files[@]}") ;;
    bun) cmd=(bun test --timeout "${SWITCHYARD_BUN_TIMEOUT_MS:-$test_timeout_ms}" "${run_files[@]}") ;;
    # No --test-force-exit: it can drop results (nodejs/node#64833); the tests close what they open.
    node) cmd=(node --test --test-concurrency=1 --test-timeout="$test_timeout_ms" --disable-warning=ExperimentalWarning "${run_files[@]}") ;;
    *) echo "test: unknown runtime \"$1\" in SWITCHYARD_TEST_RUNTIMES (choose deno, bun, node)" >&2; exit 2 ;;
  esac
}

# summarize RUNTIME RC: adds the runtime's line to the summary, from its log.
summarize() {
  local runtime="$1" code="$2" log="$logdir/$1.log"
  if parse_summary "$runtime" "$log"; then
    total_pass=$((total_pass + passed))
    total_fail=$((total_fail + failed))
    summaries+=("$(printf '%-5s %s passed, %s failed, exit %s' "$runtime:" "$passed" "$failed" "$code")")
    if [ "$code" -ne 0 ] || [ "$failed" -ne 0 ]; then status=1; fi
  else
    summaries+=("$(printf '%-5s no test summary found, exit %s (see %s)' "$runtime:" "$code" "$log")")
    status=1
  fi
}

for runtime in "${runtimes[@]}"; do command_for "$runtime"; done # unknown names fail before any run
if [ "${SWITCHYARD_TEST_SERIAL:-}" = 1 ] || [ ${#runtimes[@]} -eq 1 ]; then
  for runtime in "${runtimes[@]}"; do
    command_for "$runtime"
    printf '\n======== %s: %s ========\n' "$runtime" "$("$runtime" --version 2>/dev/null | head -n 1)"
    # A hard limit per runtime, so a leaked handle fails the run instead of hanging CI.
    run_limited "$runtime_limit" "$logdir/$runtime.log" show "${cmd[@]}"
    summarize "$runtime" "$rc"
  done
else
  # Side by side: each runner under `timeout` (a process group of its own, see run_limited).
  for runtime in "${runtimes[@]}"; do
    command_for "$runtime"
    printf 'test: %s (%s) started, %s files, log %s\n' "$runtime" "$("$runtime" --version 2>/dev/null | head -n 1)" "${#run_files[@]}" "${logdir#"$ROOT"/}/$runtime.log"
    timeout --kill-after=10 "$runtime_limit" "${cmd[@]}" >"$logdir/$runtime.log" 2>&1 &
    runners+=("$!")
  done
  # Each runtime's result as it ends, its failures in full.
  declare -A codes=()
  while [ ${#codes[@]} -lt ${#runtimes[@]} ]; do
    pending=()
    for i in "${!runners[@]}"; do [ -n "${codes[${runtimes[$i]}]:-}" ] || pending+=("${runners[$i]}"); done
    wait -n -p ended "${pending[@]}"
    code=$?
    for i in "${!runners[@]}"; do
      [ "${runners[$i]}" = "$ended" ] || continue
      runtime="${runtimes[$i]}"
      codes[$runtime]="$code"
      printf '\n======== %s: exit %s ========\n' "$runtime" "$code"
      if [ "$code" -eq 0 ]; then tail -n 12 "$logdir/$runtime.log"; else tail -n 150 "$logdir/$runtime.log"; fi
    done
  done
  runners=()
  for runtime in "${runtimes[@]}"; do summarize "$runtime" "${codes[$runtime]}"; done
fi

# The benchmark harness, every scenario for ~1 s (it checks that the harness works, not speed).
if [ $# -eq 0 ] && [ "${SWITCHYARD_SKIP_BENCH_SMOKE:-}" != 1 ]; then
  printf '\n======== bench:smoke ========\n'
  log="$logdir/bench-smoke.log"
  run_limited 600 "$log" quiet node bench/run.ts --smoke --out "$logdir/bench-smoke.json"
  tail -n 3 "$log"
  if [ "$rc" -eq 0 ]; then
    summaries+=("bench: smoke OK (every scenario ran; see ${log#"$ROOT"/})")
  else
    summaries+=("bench: smoke FAILED, exit $rc (see ${log#"$ROOT"/})")
    status=1
  fi
fi

printf '\n======== summary (logs in %s) ========\n' "${logdir#"$ROOT"/}"
printf '%s\n' "${summaries[@]}"
echo "$total_pass passed, $total_fail failed"
exit "$status"
