"""The handler and initializer s.yaml names resolve as FC resolves them: module `index` from the
code directory, nothing of the checkout on sys.path but the installed dependencies."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig

from tests.deploy.deployfiles import HANDLER, ROOT, props

# Run with -I -S: no PYTHONPATH, no user site, no site-packages processing (so no .pth file
# puts the checkout on the path); then exactly: the code directory, the stdlib, site-packages.
CHILD = r"""
import importlib, inspect, json, sys
code_dir, site_dir, entries = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:] = [code_dir] + [p for p in sys.path if p] + [site_dir]
report = {"path": sys.path}
for kind, spec in entries.items():
    module_name, _, attr = spec.rpartition(".")
    module = importlib.import_module(module_name)
    func = getattr(module, attr)
    report[kind] = {
        "file": module.__file__,
        "callable": callable(func),
        "params": list(inspect.signature(func).parameters),
        "package_file": sys.modules["havip_failover"].__file__,
    }
print(json.dumps(report))
"""


def test_handler_and_initializer_resolve_from_the_code_directory_alone() -> None:
    p = props()
    entries = {"handler": p["handler"], "initializer": p["instanceLifecycleConfig"]["initializer"]["handler"]}
    site_dir = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHILD, str(HANDLER), site_dir, json.dumps(entries)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=HANDLER.parent.parent,  # not the checkout: cwd must not matter
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert str(ROOT) not in report["path"], "the checkout itself must not be importable"
    for kind in entries:
        assert report[kind]["callable"], kind
        assert report[kind]["file"] == str(HANDLER / "index.py"), kind
        assert report[kind]["package_file"].startswith(str(HANDLER / "havip_failover")), kind
    # FC calls handler(event, context) and initialize(context)
    assert report["handler"]["params"] == ["event", "context"]
    assert report["initializer"]["params"] == ["context"]
