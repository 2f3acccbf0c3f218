#!/usr/bin/env bash
# Usage: scripts/venv.sh PYTHON -> prints the path of a ready virtual environment for it.
# Creates .venv-X.Y from nothing, installs runtime + dev requirements, and puts handler/
# and the checkout on its path. Re-runs only when a requirements file changed.
set -eu
py=$1
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
venv="$top/.venv-$ver"
stamp="$venv/.installed"
reqs="$top/handler/requirements.txt $top/requirements-dev.txt"
want=$(cat $reqs | sha256sum | cut -c1-16)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setting up $venv ($("$py" --version 2>&1))" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$top/handler/requirements.txt" -r "$top/requirements-dev.txt" >&2
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  printf '%s\n%s\n' "$top/handler" "$top" > "$site/havip-failover-dev.pth"
  echo "$want" > "$stamp"
fi
echo "$venv"
