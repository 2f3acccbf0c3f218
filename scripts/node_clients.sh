#!/usr/bin/env bash
# Usage: scripts/node_clients.sh -> prints the folder of the Node.js clients the emulator tests
# use (tests/emulator/node), installed with `npm ci` from its own lockfile. Re-installs only when
# the lockfile changed. Installs node and npm with apt when they are missing and we are root.
# Exit 3 (reason on stderr) when Node.js cannot be had: the Node tests then skip.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/tests/emulator/node"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing node and npm with apt-get" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >&2 ||
      { echo "node/npm missing and apt-get could not install them" >&2; exit 3; }
  else
    echo "node/npm not installed (and not root to apt-get install nodejs npm)" >&2
    exit 3
  fi
fi
stamp="$dir/node_modules/.installed"
want=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing the Node.js clients in $dir (npm ci)" >&2
  # --ignore-scripts: the clients need no install step (one only picks a TypeScript for old Node)
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  echo "$want" > "$stamp"
fi
echo "$dir"
