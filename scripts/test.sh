#!/usr/bin/env bash
# `make test`: on each FC runtime Python the machine has, build the environment and run
# lint (ruff), types (mypy) and the whole pytest suite. Says which interpreters it ran.
set -eu
cd "$(dirname "$0")/.."
pythons=$(scripts/pythons.sh)
scripts/tools.sh  # node/npm + Serverless Devs (npm ci), keepalived, shellcheck: where the machine allows
# The Node.js clients the emulator is tested against (once, for every Python); without Node
# those tests skip and say why.
rc=0; scripts/node_clients.sh >/dev/null || rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 3 ]; then exit "$rc"; fi
ran=""
for py in $pythons; do
  venv=$(scripts/venv.sh "$py")
  ver=$("$venv/bin/python" -c 'import platform; print(platform.python_version())')
  echo "=== Python $ver ($py) ==="
  "$venv/bin/ruff" check .
  "$venv/bin/ruff" format --check .
  "$venv/bin/mypy" --python-version "${ver%.*}" handler/havip_failover vpc_emulator tests scripts $(ls -d bench 2>/dev/null)
  "$venv/bin/python" -m pytest ${PYTEST_ARGS:-}
  ran="$ran $ver"
done
echo "make test: the suite passed on Python$ran"
