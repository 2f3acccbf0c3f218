#!/usr/bin/env bash
# Usage: scripts/venv.sh PYTHON -> prints the path of a ready virtual environment for it.
# Creates .venv-X.Y from nothing, installs runtime + dev requirements, and puts handler/
# and the checkout on its path. Re-runs only when a requirements file changed. Links .venv
# to the default interpreter's environment.
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
  # (this machine's pip configuration names package folders that may not exist: drop that noise)
  quiet() { "$@" 2> >(grep -v 'is neither a file nor a directory' >&2) >&2; }
  quiet "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  quiet "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$top/handler/requirements.txt" -r "$top/requirements-dev.txt"
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  printf '%s\n%s\n' "$top/handler" "$top" > "$site/havip-failover-dev.pth"
  echo "$want" > "$stamp"
fi
# .venv: one name, whatever the version, for the default interpreter's environment (the
# first of scripts/pythons.sh), for commands typed by hand: .venv/bin/python -m havip_failover.
# Never over a .venv of the user's own (a directory, not our link).
if [ ! -e "$top/.venv" ] || [ -L "$top/.venv" ]; then
  default=$("$top/scripts/pythons.sh" 2>/dev/null | head -n1)
  if [ -n "$default" ] && [ "$("$default" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" = "$ver" ]; then
    [ "$(readlink "$top/.venv" 2>/dev/null)" = ".venv-$ver" ] || ln -sfn ".venv-$ver" "$top/.venv"
  fi
fi
echo "$venv"
