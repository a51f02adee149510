#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and test Switchyard, and puts
# node_modules/.bin (node 24, deno, bun, tsc) first on PATH. Idempotent.
#   bash scripts/bootstrap.sh      # install only
#   source scripts/bootstrap.sh    # install, and keep PATH in this shell
# Env: NATS_SERVER_BIN=/path/to/nats-server skips the nats-server install.
#      SWITCHYARD_BENCH_LOAD=autocannon skips the wrk install (the benchmark's HTTP load generator;
#      without wrk the benchmark falls back to autocannon).
#      SWITCHYARD_NO_CHROMIUM=1 skips the Chromium install (the dashboard's browser test is then
#      skipped, saying so).
# scripts/test.sh also calls _sy_install_promtool (optional, see below).

_sy_log() { printf 'bootstrap: %s\n' "$*" >&2; }

# Runs apt-get as root, through sudo when needed and available.
_sy_apt() {
  if ! command -v apt-get >/dev/null 2>&1; then
    _sy_log "apt-get is not available: install $* by hand"
    return 1
  fi
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      _sy_log "need root to install $* (not root and no sudo): run 'apt-get install -y $*' as root"
      return 1
    fi
  fi
  _sy_log "installing $* with apt-get"
  "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

# promtool, for the suite's check of /metrics (`promtool check metrics`); Debian ships it in the
# `prometheus` package (which also installs, and under systemd starts, a Prometheus service). Best
# effort: without it that test is skipped. SWITCHYARD_SKIP_PROMTOOL=1 skips the install.
_sy_install_promtool() {
  command -v promtool >/dev/null 2>&1 && return 0
  [ "${SWITCHYARD_SKIP_PROMTOOL:-}" = 1 ] && return 0
  _sy_apt prometheus && command -v promtool >/dev/null 2>&1 && return 0
  _sy_log "promtool is not installed: the /metrics format check will be skipped"
  return 0
}

# Finds nats-server on PATH, or in /usr/sbin where Debian puts it (not on a normal user's PATH),
# then exporting NATS_SERVER_BIN so the test launcher finds it too.
_sy_find_nats() {
  local bin
  if bin="$(command -v nats-server)"; then
    _sy_log "nats-server: $bin"
    return 0
  fi
  for bin in /usr/sbin/nats-server /usr/local/sbin/nats-server; do
    if [ -x "$bin" ]; then
      export NATS_SERVER_BIN="$bin"
      _sy_log "nats-server: $bin (not on PATH; exported NATS_SERVER_BIN)"
      return 0
    fi
  done
  return 1
}

# Installs Debian's wrk for the benchmark's HTTP load; never fatal: the benchmark falls back to autocannon.
_sy_find_wrk() {
  if [ "${SWITCHYARD_BENCH_LOAD:-}" = autocannon ]; then
    return 0
  fi
  if command -v wrk >/dev/null 2>&1; then
    _sy_log "wrk: $(command -v wrk)"
    return 0
  fi
  if _sy_apt wrk && command -v wrk >/dev/null 2>&1; then
    _sy_log "wrk: $(command -v wrk)"
  else
    _sy_log "wrk could not be installed: the benchmark uses autocannon instead (as root: apt-get install wrk)"
  fi
  return 0
}

# The dashboard's browser test drives a headless Chromium over the DevTools protocol: Debian's
# chromium. Never fatal: without it that test is skipped, saying so.
_sy_find_chromium() {
  if [ "${SWITCHYARD_NO_CHROMIUM:-}" = 1 ]; then
    return 0
  fi
  local bin
  for bin in chromium chromium-browser google-chrome; do
    if command -v "$bin" >/dev/null 2>&1; then
      _sy_log "chromium: $(command -v "$bin")"
      return 0
    fi
  done
  if _sy_apt chromium && command -v chromium >/dev/null 2>&1; then
    _sy_log "chromium: $(command -v chromium)"
  else
    _sy_log "chromium could not be installed: the dashboard's browser test will be skipped (as root: apt-get install chromium)"
  fi
  return 0
}

_sy_bootstrap() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1

  if [ -n "${NATS_SERVER_BIN:-}" ]; then
    if [ ! -x "$NATS_SERVER_BIN" ]; then
      _sy_log "NATS_SERVER_BIN=$NATS_SERVER_BIN is not an executable file"
      return 1
    fi
    _sy_log "nats-server: $NATS_SERVER_BIN (NATS_SERVER_BIN)"
  else
    _sy_find_nats || { _sy_apt nats-server && _sy_find_nats; } || {
      _sy_log "nats-server is missing: apt-get install nats-server, or set NATS_SERVER_BIN"
      return 1
    }
  fi

  _sy_find_wrk
  _sy_find_chromium

  if ! command -v npm >/dev/null 2>&1; then
    _sy_apt nodejs npm || return 1
  fi
  if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    # `npm install`, not `npm ci`: the lock pins every version, but the deno package's optional
    # binaries for other platforms (darwin, windows, arm) may be absent from the registry mirror, and
    # `npm ci` refuses a lock file that lacks them. Nothing else differs for a pinned lock.
    _sy_log "npm install (node_modules is missing or older than package-lock.json)"
    (cd "$root" && npm install --no-audit --no-fund --no-save) || return 1
  else
    _sy_log "node_modules is up to date"
  fi

  case ":$PATH:" in
    ":$root/node_modules/.bin:"*) ;;
    *) export PATH="$root/node_modules/.bin:$PATH" ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  _sy_bootstrap
  return $?
fi
set -euo pipefail
_sy_bootstrap
