"""The Makefile's local targets as a user runs them: `make invoke` / `make serve` start the VPC
emulator in the background when nothing answers, use scripts/local.env's settings, and `make
stop` stops it; CLOUD=1 uses the caller's environment; `make help` names every target; `make
clean` removes what the targets built.

Each test runs `make` in a copy of the Makefile, scripts/ and events/ (so its build/ and its
emulator's port are its own, never a developer's 127.0.0.1:8765), with scripts/local.env's
port changed to a free one, and VENV/PY_DEFAULT set on the command line to this interpreter's
environment (no second virtual environment is built).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RECORD_KEY
from vpc_emulator import EmulatorServer

from .conftest import AK, SECRET

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed"),
]
ROOT = Path(__file__).resolve().parents[2]
HAVIP = "havip-bp1pair0000000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Checkout:
    """A copy of what the local targets use, with its own emulator port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copy2(ROOT / "Makefile", root / "Makefile")
        for folder in ("scripts", "events"):
            shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
        self.port = free_port()
        local_env = root / "scripts" / "local.env"
        text = local_env.read_text(encoding="utf-8").replace("127.0.0.1:8765", f"127.0.0.1:{self.port}")
        local_env.write_text(text, encoding="utf-8")
        self.endpoint = f"127.0.0.1:{self.port}"
        self.pid_file = root / "build" / "emulator.pid"

    def make_args(self, *args: str) -> list[str]:
        return ["make", "--no-print-directory", f"VENV={sys.prefix}", f"PY_DEFAULT={sys.executable}", *args]

    def env(self, **extra: str) -> dict[str, str]:
        # The caller's environment (less proxies: only direct connections to 127.0.0.1 here),
        # with settings that must NOT reach a local run.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("HAVIP_", "ALIBABA_CLOUD_", "FC_")) and not k.lower().endswith("_proxy")
        }
        env |= {
            "HAVIP_VPC_ENDPOINT": "vpc-vpc.cn-shanghai.aliyuncs.com",
            "HAVIP_VPC_PROTOCOL": "https",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIsomeoneRealKey",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "not-the-emulators",
            "HAVIP_IDS": "havip-uf6someother00000001",
        }
        return env | extra

    def make(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.make_args(*args),
            cwd=self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def pid(self) -> int:
        return int(self.pid_file.read_text(encoding="utf-8"))


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Checkout]:
    co = Checkout(tmp_path)
    try:
        yield co
    finally:  # never leave an emulator behind, whatever the test did
        if co.pid_file.exists():
            with contextlib.suppress(OSError, ValueError):
                os.kill(co.pid(), signal.SIGTERM)


def result_of(stdout: str) -> dict[str, Any]:
    start = stdout.rfind("\n{\n") + 1
    loaded: dict[str, Any] = json.loads(stdout[start:])
    return loaded


def test_invoke_starts_the_emulator_uses_local_env_and_stop_stops_it(checkout: Checkout) -> None:
    # GIVEN nothing on the emulator's port (as after `make demo`) and a cloud profile in the shell
    assert not listening(checkout.port)
    # WHEN `make invoke ... DRY_RUN=1`
    started = time.monotonic()
    first = checkout.make("invoke", "EVENT=events/manual-master.json", "DRY_RUN=1")
    assert first.returncode == 0, first.stderr + first.stdout
    assert time.monotonic() - started < 30
    # THEN an emulator runs in the background, recorded in build/, and the dry run planned
    # against it with local.env's settings (not the shell's endpoint, key or HAVIP_IDS)
    assert f"started the VPC emulator on {checkout.endpoint}" in first.stderr
    pid = checkout.pid()
    os.kill(pid, 0)
    assert "VPC emulator listening" in (checkout.root / "build" / "emulator.log").read_text(encoding="utf-8")
    result = result_of(first.stdout)
    assert result["dryRun"] is True
    assert [(r["haVipId"], r["outcome"]) for r in result["results"]] == [(HAVIP, "planned")]
    # WHEN invoked again THEN the same emulator serves it (state kept), none started
    again = checkout.make("invoke", "EVENT=events/manual-master.json")
    assert again.returncode == 0, again.stderr + again.stdout
    assert f"using the VPC emulator on {checkout.endpoint}" in again.stderr
    assert checkout.pid() == pid
    assert [r["outcome"] for r in result_of(again.stdout)["results"]] == ["unassociated"]
    # WHEN `make stop` THEN it is gone, and a second stop has nothing to do
    stopped = checkout.make("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped the background VPC emulator (pid {pid})" in stopped.stderr
    assert not checkout.pid_file.exists()
    assert not listening(checkout.port)
    nothing = checkout.make("stop")
    assert nothing.returncode == 0 and "no background emulator to stop" in nothing.stderr


def test_cloud_uses_the_callers_environment_and_starts_nothing(checkout: Checkout, emulator: EmulatorServer) -> None:
    # GIVEN the caller's own settings (here: a test emulator standing in for their account)
    mine = {
        "HAVIP_VPC_ENDPOINT": emulator.endpoint,
        "HAVIP_ECS_ENDPOINT": emulator.endpoint,
        "HAVIP_VPC_PROTOCOL": "http",
        "HAVIP_REGION_ID": "cn-hangzhou",
        "HAVIP_IDS": HAVIP,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": AK,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "HAVIP_RECORD_KEY": RECORD_KEY,
    }
    done = checkout.make("invoke", "EVENT=events/manual-master.json", "DRY_RUN=1", "CLOUD=1", **mine)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "CLOUD=1" in done.stderr
    assert [r["outcome"] for r in result_of(done.stdout)["results"]] == ["planned"]
    assert {e.access_key_id for e in emulator.journal} == {AK}  # their endpoint, their key
    assert not checkout.pid_file.exists() and not listening(checkout.port)


def test_cloud_with_the_shells_https_endpoint_fails_fast_with_the_hint(checkout: Checkout) -> None:
    # The shell's endpoint is an emulator spoken to over https: the CLI's pre-flight says so.
    emulator_port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vpc_emulator", "--scenario", "pair", "--port", str(emulator_port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and "listening" in proc.stdout.readline()
        endpoint = f"127.0.0.1:{emulator_port}"
        done = checkout.make(
            "invoke",
            "EVENT=events/manual-master.json",
            "CLOUD=1",
            HAVIP_VPC_ENDPOINT=endpoint,
            HAVIP_RECORD_KEY=RECORD_KEY,
        )
        assert done.returncode != 0
        assert "HAVIP_VPC_PROTOCOL=http" in done.stderr and "Traceback" not in done.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_answers_http_on_port_against_the_background_emulator(checkout: Checkout) -> None:
    port = free_port()
    serve = subprocess.Popen(
        checkout.make_args("serve", f"PORT={port}"),
        cwd=checkout.root,
        env=checkout.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not listening(port):
            assert serve.poll() is None, serve.communicate()
            assert time.monotonic() < deadline, "make serve never listened"
            time.sleep(0.1)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"X-Havip-Token": "demo-callback-token"})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http://127.0.0.1; GET: inspect, read-only
            body = json.load(response)
        assert [p["haVipId"] for p in body["pairs"]] == [HAVIP]
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.communicate(timeout=10)
    # the emulator outlives `make serve` (as after a Ctrl-C) until `make stop`
    assert listening(checkout.port)
    assert checkout.make("stop").returncode == 0
    assert not listening(checkout.port)


def test_something_else_on_the_port_is_named_not_used(checkout: Checkout) -> None:
    class NotTheEmulator(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", checkout.port), NotTheEmulator)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = checkout.make("invoke", "EVENT=events/manual-master.json", "DRY_RUN=1")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode != 0
    assert f"something other than the VPC emulator listens on {checkout.endpoint}" in done.stderr
    assert not checkout.pid_file.exists()


def test_emulator_runs_in_the_foreground_on_port(checkout: Checkout) -> None:
    port = free_port()
    proc = subprocess.Popen(
        checkout.make_args("emulator", f"PORT={port}"),
        cwd=checkout.root,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(f"VPC emulator listening on http://127.0.0.1:{port} ")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=10)
    assert not checkout.pid_file.exists()  # the foreground one is not the background one


def test_help_names_every_target(checkout: Checkout) -> None:
    makefile = (checkout.root / "Makefile").read_text(encoding="utf-8")
    (phony,) = re.findall(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    defined = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    assert set(phony.split()) == defined
    helped = checkout.make("help")
    assert helped.returncode == 0
    named = set(re.findall(r"^make ([a-z-]+)", helped.stdout, re.MULTILINE))
    assert named == defined - {"help"}, defined - named
    for word in ("clean", "check", "stop", "CLOUD=1", "DRY_RUN=1", ".venv/bin/python"):
        assert word in helped.stdout


def test_clean_removes_what_the_targets_built(checkout: Checkout) -> None:
    built = [
        "node_modules/.bin/s",
        "tests/emulator/node/node_modules/x.js",
        "build/deps/x",
        "dist/havip-failover.zip",
        ".venv-3.10/bin/python",
        ".pytest_cache/x",
        ".mypy_cache/x",
        ".ruff_cache/x",
        ".hypothesis/x",
    ]
    for name in built:
        (checkout.root / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout.root / name).write_text("x", encoding="utf-8")
    (checkout.root / ".venv").symlink_to(".venv-3.10")
    done = checkout.make("clean")
    assert done.returncode == 0, done.stderr
    left = [n for n in [*built, ".venv"] if (checkout.root / n).exists() or (checkout.root / n).is_symlink()]
    assert left == []
    assert (checkout.root / "Makefile").exists() and (checkout.root / "scripts" / "local.env").exists()
