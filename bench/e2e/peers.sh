#!/usr/bin/env bash
# Side-by-side benchmark of respguard against Redis directly, twemproxy and HAProxy, on loopback.
# Checks that the Debian packages it needs are installed, then runs bench/e2e/peers.ts with the
# arguments given here (see that file; --quick runs 2 short rounds).
#
# Usage: bash bench/e2e/peers.sh [--install] [--quick] [--rounds N] [--requests N]
#          [--targets a,b,...] [--pool-size N] [--out FILE.md] [--json FILE.json] [--keep]
# --install installs missing packages with apt-get (needs root); without it, the script prints
# the apt-get command and stops.
set -euo pipefail
cd "$(dirname "$0")/../.."

install=no
args=()
for arg in "$@"; do
  if [ "$arg" = --install ]; then install=yes; else args+=("$arg"); fi
done

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-benchmark >/dev/null || missing+=(redis-tools)
command -v nutcracker >/dev/null || missing+=(nutcracker)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$install" = no ]; then
    echo "peers.sh: missing Debian packages: ${missing[*]}" >&2
    echo "install them with: apt-get update && apt-get install -y ${missing[*]}" >&2
    echo "or run this script with --install to do that" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

if [ ! -d node_modules ]; then
  echo "peers.sh: node_modules is missing; run npm ci first" >&2
  exit 1
fi

exec node --import tsx bench/e2e/peers.ts "${args[@]+"${args[@]}"}"
