#!/usr/bin/env bash
# Print the FC runtime interpreters (3.10, 3.12) this machine has, one path a line.
# With neither, print the default python3 (if >= 3.10) and a notice on stderr.
set -u
found=0
for v in 3.10 3.12; do
  cand=""
  if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import sys' >/dev/null 2>&1; then
    cand=$(command -v "python$v")
  else
    # pyenv installs versions its shim may not expose (pyenv global names one version).
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    for p in "$root"/versions/"$v".*/bin/python"$v" /usr/bin/python"$v" /usr/local/bin/python"$v"; do
      if [ -x "$p" ] && "$p" -c 'import sys' >/dev/null 2>&1; then cand=$p; break; fi
    done
  fi
  if [ -n "$cand" ]; then echo "$cand"; found=1; fi
done
if [ "$found" = 0 ]; then
  if python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "notice: neither python3.10 nor python3.12 found (the FC runtimes); using $(python3 --version 2>&1)" >&2
    command -v python3
  else
    echo "error: no Python >= 3.10 found (need python3.10 or python3.12, the FC runtimes)" >&2
    exit 1
  fi
fi
