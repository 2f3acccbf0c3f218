#!/usr/bin/env bash
# `make test`'s non-Python tools, set up from nothing where the machine allows:
#  - Debian packages (when root and missing): nodejs + npm (Serverless Devs' runtime),
#    keepalived (the two-namespace failover test), shellcheck (the notify script's lint);
#  - Serverless Devs (`s`), pinned in package.json/package-lock.json, installed into
#    ./node_modules with `npm ci`, again only when the lockfile changed (like scripts/venv.sh).
# Never fails the run: what cannot be had is said here, and the tests that need it skip
# with the reason.
set -u
cd "$(dirname "$0")/.."

missing=()
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v keepalived >/dev/null 2>&1 || [ -x /usr/sbin/keepalived ] || missing+=(keepalived)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tools: installing ${missing[*]} (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      >/tmp/havip-tools-apt.log 2>&1 ||
      echo "tools: apt-get could not install ${missing[*]} (see /tmp/havip-tools-apt.log): the tests that need them skip" >&2
  else
    echo "tools: ${missing[*]} missing and not root (or no apt-get): the tests that need them skip" >&2
  fi
fi

if command -v npm >/dev/null 2>&1; then
  stamp=node_modules/.havip-installed
  want=$(cat package.json package-lock.json | sha256sum | cut -c1-16)
  if [ ! -x node_modules/.bin/s ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "tools: npm ci (Serverless Devs, pinned in package-lock.json)" >&2
    if npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/tmp/havip-tools-npm.log 2>&1; then
      echo "$want" >"$stamp"
    else
      echo "tools: npm ci failed (see /tmp/havip-tools-npm.log): the s preview tests skip" >&2
    fi
  fi
fi
exit 0
