#!/usr/bin/env bash
# `make check`: the edit-test loop, on the first FC runtime Python only (scripts/pythons.sh):
# ruff (lint, format), mypy, and the unit and functional tests. `make test` is the whole
# suite on every interpreter, and CI's command (.ci/run).
set -eu
cd "$(dirname "$0")/.."
started=$(date +%s)
venv=$(scripts/venv.sh "$(scripts/pythons.sh | head -n1)")
ver=$("$venv/bin/python" -c 'import platform; print(platform.python_version())')
echo "=== make check on Python $ver (make test: the whole suite, every interpreter) ==="
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
"$venv/bin/mypy" --python-version "${ver%.*}" handler/havip_failover vpc_emulator tests scripts $(ls -d bench 2>/dev/null)
"$venv/bin/python" -m pytest -q tests/unit tests/functional ${PYTEST_ARGS:-}
echo "make check: passed in $(($(date +%s) - started)) s"
