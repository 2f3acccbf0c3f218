"""keepalived's notify script (contrib/keepalived/havip-notify.sh), run by real POSIX shells
with the real curl: against the local HTTP trigger, the real entry and the VPC emulator (the
peer is fenced), and against a scripted HTTP server (retries, refusals, what goes on the wire)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.notify_harness import (
    AK,
    HAVIP,
    MASTER,
    ROOT,
    SECRET,
    STANDBY,
    TOKEN,
    Trigger,
    function_env,
    run_notify,
    shells,
    start_trigger,
    write_config,
)
from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair

pytestmark = pytest.mark.e2e

SHELLS = shells()
SERVE = [sys.executable, "-m", "havip_failover", "serve", "--port", "0"]
# A dry run still reads what the decision needs: the HAVIP, its record, the survivors' ECS states.
READ_ONLY = {"DescribeHaVips", "ListTagResources", "DescribeInstanceStatus"}


def seed_pair(server: EmulatorServer) -> None:
    """The pair with its master dead (Stopped) and the survivor Running."""
    server.reset(two_node_pair())
    server.backend.unassociate_delay = 0.3
    server.backend.set_instance_status(MASTER, "Stopped")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(VpcBackend(), credentials={AK: (SECRET, None)}) as server:
        yield server


@pytest.fixture(scope="module")
def trigger(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trigger]:
    t = start_trigger(emulator.endpoint, tmp_path_factory.mktemp("trigger"))
    yield t
    t.stop()


@pytest.fixture
def pair(emulator: EmulatorServer) -> EmulatorServer:
    seed_pair(emulator)
    return emulator


def unassociated(server: EmulatorServer) -> list[str]:
    return [str(e.params.get("InstanceId")) for e in server.calls("UnassociateHaVip") if e.status == 200]


# ------------------------------------------------------------------ through the real function


@pytest.mark.skipif(not SHELLS, reason="no POSIX shell (dash, sh, busybox) on this machine")
@pytest.mark.parametrize("shell", SHELLS)
def test_fence_takes_the_peer_off_the_havip(pair: EmulatorServer, trigger: Trigger, tmp_path: Path, shell: str) -> None:
    # GIVEN this node's settings naming the dead master as its peer
    config = write_config(tmp_path / "havip-notify.conf", trigger.url)
    # WHEN the script reports it
    done = run_notify(config, "fence", shell=shell)
    # THEN the function fenced the peer: UnassociateHaVip at the VPC, the peer gone, the survivor master
    assert done.returncode == 0, done.stderr
    assert unassociated(pair) == [MASTER]
    havip = pair.backend.get_havip(HAVIP)
    assert havip["AssociatedInstances"]["associatedInstance"] == [STANDBY]
    assert havip["MasterInstanceId"] == STANDBY
    assert "HTTP 200, outcome unassociated, reason master-failed" in done.stderr
    assert TOKEN not in done.stderr + done.stdout + trigger.output()


def test_keepalived_arguments_fence_after_a_backup_period(
    pair: EmulatorServer, trigger: Trigger, tmp_path: Path
) -> None:
    # GIVEN keepalived's notify calls: BACKUP (recorded), then MASTER; no minimum here
    config = write_config(
        tmp_path / "c.conf", trigger.url, HAVIP_NOTIFY_STATE_DIR=tmp_path / "state", HAVIP_NOTIFY_MIN_BACKUP_SECONDS=0
    )
    assert run_notify(config, "INSTANCE", "VI_HAVIP", "BACKUP", "100").returncode == 0
    assert pair.journal == []
    done = run_notify(config, "INSTANCE", "VI_HAVIP", "MASTER", "100")
    assert done.returncode == 0, done.stderr
    assert unassociated(pair) == [MASTER]


def test_dry_run_decides_and_never_mutates(pair: EmulatorServer, trigger: Trigger, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.conf", trigger.url)
    by_flag = run_notify(config, "--dry-run", "fence")
    by_env = run_notify(config, "fence", env={"HAVIP_NOTIFY_DRY_RUN": "1"})
    for done in (by_flag, by_env):
        assert done.returncode == 0, done.stderr
        assert "outcome planned, reason master-failed" in done.stderr
    assert {e.action for e in pair.journal} == READ_ONLY
    assert MASTER in pair.backend.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"]


def test_a_wrong_token_is_final(pair: EmulatorServer, trigger: Trigger, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.conf", trigger.url, token="not-the-token-0123456789")
    done = run_notify(config, "fence")
    assert done.returncode == 1
    assert "HTTP 403" in done.stderr and "InvalidCallbackToken" in done.stderr
    assert pair.journal == []
    assert trigger.output().count("-> 403") >= 1


# ------------------------------------------------------------------ the script's own rules


class Scripted(ThreadingHTTPServer):
    """Answers with the next status of `statuses` (the last one repeats); records every request."""

    daemon_threads = True

    def __init__(self, statuses: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Scripted)
        self.statuses = statuses
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/callback"


class _Scripted(BaseHTTPRequestHandler):
    server: Scripted

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            n = len(self.server.requests)
            self.server.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
            status = self.server.statuses[min(n, len(self.server.statuses) - 1)]
        outcome = {200: "unassociated", 202: "pending"}.get(status, "failed")
        answer = json.dumps({"ok": status == 200, "results": [{"outcome": outcome, "reason": "master-failed"}]})
        if status >= 400:
            answer = json.dumps({"ok": False, "results": [], "error": {"code": f"Code{status}", "message": "m"}})
        data = answer.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted([200])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_event_on_the_wire(scripted: Scripted, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.conf", scripted.url, HAVIP_REGION_ID="cn-hangzhou")
    first = run_notify(config, "fence")
    second = run_notify(config, "fence")
    assert first.returncode == second.returncode == 0, first.stderr
    one, two = scripted.requests
    assert one["path"] == "/callback"  # the token is never in the URL
    headers = {k.lower(): v for k, v in one["headers"].items()}
    assert headers["x-havip-token"] == TOKEN
    assert headers["content-type"] == "application/json"
    event = json.loads(one["body"])
    assert {k: event[k] for k in ("type", "instanceId", "haVipId", "healthy", "regionId")} == {
        "type": "havip.health",
        "instanceId": MASTER,
        "haVipId": HAVIP,
        "healthy": False,
        "regionId": "cn-hangzhou",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["checkedAt"])
    assert event["checker"].startswith("keepalived@")
    assert "dryRun" not in event
    # a unique id per report (same on its retries), never reused by the next report
    assert event["id"] != json.loads(two["body"])["id"]
    assert re.fullmatch(r"[A-Za-z0-9._:@-]{10,128}", event["id"])


def test_the_token_is_never_an_argument_nor_logged(scripted: Scripted, tmp_path: Path) -> None:
    # GIVEN curl and logger wrapped to record their command lines
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    argv_log = tmp_path / "argv.log"
    for tool in ("curl", "logger"):
        real = "/usr/bin/" + tool
        wrapper = bin_dir / tool
        wrapper.write_text(
            f'#!/bin/sh\necho "{tool} $*" >> {argv_log}\nexec {real} "$@"\n'
            if Path(real).exists()
            else f'#!/bin/sh\necho "{tool} $*" >> {argv_log}\n'
        )
        wrapper.chmod(0o755)
    config = write_config(tmp_path / "c.conf", scripted.url)
    import os

    done = run_notify(config, "fence", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    recorded = argv_log.read_text()
    assert "curl " in recorded and "--config -" in recorded
    assert "logger " in recorded and "done:" in recorded  # the outcome went to syslog
    assert TOKEN not in recorded
    assert TOKEN not in done.stderr + done.stdout


def test_retries_429_and_5xx_then_succeeds(scripted: Scripted, tmp_path: Path) -> None:
    scripted.statuses = [503, 429, 500, 202]
    done = run_notify(write_config(tmp_path / "c.conf", scripted.url), "fence")
    assert done.returncode == 0, done.stderr
    assert len(scripted.requests) == 4
    assert "still in progress (HTTP 202" in done.stderr
    ids = {json.loads(r["body"])["id"] for r in scripted.requests}
    assert len(ids) == 1  # retries carry the same id: one incident, one ClientToken


@pytest.mark.parametrize("status", [400, 401, 403, 405])
def test_a_4xx_is_final(scripted: Scripted, tmp_path: Path, status: int) -> None:
    scripted.statuses = [status]
    done = run_notify(write_config(tmp_path / "c.conf", scripted.url), "fence")
    assert done.returncode == 1
    assert len(scripted.requests) == 1
    assert f"HTTP {status}" in done.stderr and "not retried" in done.stderr


def test_gives_up_at_the_deadline(scripted: Scripted, tmp_path: Path) -> None:
    scripted.statuses = [500]
    config = write_config(tmp_path / "c.conf", scripted.url, HAVIP_NOTIFY_DEADLINE=4)
    done = run_notify(config, "fence", timeout=30)
    assert done.returncode == 3
    assert 2 <= len(scripted.requests) <= 4  # 1 s, 2 s backoff within 4 s
    assert "gave up" in done.stderr


def test_connection_refused_is_retried_then_given_up(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = write_config(tmp_path / "c.conf", f"http://127.0.0.1:{port}/", HAVIP_NOTIFY_DEADLINE=3)
    done = run_notify(config, "fence", timeout=30)
    assert done.returncode == 3
    assert "no answer (curl exit 7" in done.stderr and "retrying" in done.stderr


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o644])
def test_settings_others_can_read_are_refused(scripted: Scripted, tmp_path: Path, mode: int) -> None:
    done = run_notify(write_config(tmp_path / "c.conf", scripted.url, mode=mode), "fence")
    assert done.returncode == 2
    assert "refusing config" in done.stderr and "chmod 600" in done.stderr
    assert scripted.requests == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"token": "short-token"}, "shorter than 16"),
        ({"token": 'has"quote-0123456789'}, "may hold only"),
        ({"url": "http://127.0.0.1:1/?token=abc"}, "carries a token"),
        ({"url": "ftp://host/"}, "http:// or https://"),
        ({"peer": "db1"}, "HAVIP_PEER_INSTANCE_ID"),
        ({"havip": "vip-1"}, "HAVIP_ID"),
        ({"HAVIP_NOTIFY_DEADLINE": "soon"}, "whole number"),
        ({"HAVIP_SOMETHING": "x"}, "unknown key"),
    ],
)
def test_bad_settings_are_refused(scripted: Scripted, tmp_path: Path, change: dict[str, str], message: str) -> None:
    kwargs: dict[str, Any] = {"url": scripted.url, **change}
    url = kwargs.pop("url")
    done = run_notify(write_config(tmp_path / "c.conf", url, **kwargs), "fence")
    assert done.returncode == 2
    assert message in done.stderr
    assert scripted.requests == []
    assert "0123456789" not in done.stderr  # no token value in the message


def test_start_up_elections_never_report_the_peer(scripted: Scripted, tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path / "c.conf", scripted.url, HAVIP_NOTIFY_STATE_DIR=state)
    # MASTER with nothing recorded before it (keepalived started as MASTER, or notify_master only)
    assert run_notify(config, "MASTER").returncode == 0
    # BACKUP, then MASTER after less than HAVIP_NOTIFY_MIN_BACKUP_SECONDS (10 s): the election at start-up
    assert run_notify(config, "GROUP", "G1", "BACKUP", "0").returncode == 0
    done = run_notify(config, "GROUP", "G1", "MASTER", "0")
    assert done.returncode == 0
    assert "not reported" in done.stderr
    assert scripted.requests == []
    # FAULT, STOP: recorded, nothing sent; an unknown state is an error
    assert run_notify(config, "INSTANCE", "VI", "FAULT", "100").returncode == 0
    assert run_notify(config, "INSTANCE", "VI", "STOP", "100").returncode == 0
    assert run_notify(config, "INSTANCE", "VI", "SLEEPY", "100").returncode == 2
    assert scripted.requests == []
    # the state files are this user's only
    assert all((p.stat().st_mode & 0o077) == 0 for p in state.iterdir())


def test_a_repeated_backup_keeps_the_start_of_the_backup_period(scripted: Scripted, tmp_path: Path) -> None:
    # GIVEN a node BACKUP for the last 100 s (as its state file says)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "VI.state").write_text(f"BACKUP {int(time.time()) - 100}\n")
    config = write_config(tmp_path / "c.conf", scripted.url, HAVIP_NOTIFY_STATE_DIR=state)
    # WHEN keepalived announces BACKUP again, then MASTER
    assert run_notify(config, "INSTANCE", "VI", "BACKUP", "100").returncode == 0
    done = run_notify(config, "INSTANCE", "VI", "MASTER", "100")
    # THEN the 100 s count (not 0 s): the peer is reported
    assert done.returncode == 0, done.stderr
    assert len(scripted.requests) == 1


@pytest.mark.parametrize("runtime", ["python3.10", "python3.12"])
def test_serve_answers_with_the_entrys_status_and_stops_cleanly(
    emulator: EmulatorServer, tmp_path: Path, runtime: str
) -> None:
    # GIVEN `python -m havip_failover serve` for either runtime's context shape
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [*SERVE, "--port-file", str(port_file), "--runtime", runtime, "--dry-run"],
        cwd=ROOT,
        env=function_env(emulator.endpoint),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()) and time.monotonic() < deadline:
            assert proc.poll() is None
            time.sleep(0.05)
        seed_pair(emulator)
        config = write_config(tmp_path / "c.conf", f"http://127.0.0.1:{int(port_file.read_text())}/")
        # WHEN the notify script reports the peer (the server runs with --dry-run)
        done = run_notify(config, "fence")
        # THEN the entry answered (planned: HAVIP_DRY_RUN from --dry-run), nothing was mutated
        assert done.returncode == 0, done.stderr
        assert "outcome planned" in done.stderr
        assert {e.action for e in emulator.journal} == READ_ONLY
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=15)
    # AND it stops on SIGTERM with status 0, its log never showing the token
    assert proc.returncode == 0, err
    assert TOKEN.encode() not in out + err
