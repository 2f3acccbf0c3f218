"""Two real keepalived instances in two network namespaces (a veth pair, unicast VRRP), each
with the notify script; the master's keepalived is stopped, and the survivor's notify script
fences the old master through the local HTTP trigger, the real entry and the VPC emulator.

Needs root, `ip netns` and keepalived (`make test` installs the Debian package when root);
otherwise skipped with the reason. Everything runs inside the two namespaces it creates
(the trigger and the emulator in the survivor's): no traffic leaves them. Namespaces and
processes are removed afterwards, whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.notify_harness import (
    HAVIP,
    MASTER,
    NOTIFY,
    ROOT,
    STANDBY,
    TOKEN,
    start_trigger,
    write_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

KEEPALIVED = shutil.which("keepalived") or next(
    (p for p in ("/usr/sbin/keepalived", "/sbin/keepalived") if os.access(p, os.X_OK)), None
)
IP = shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip", "/bin/ip") if os.access(p, os.X_OK)), None)
SUBNET = "10.203.0"  # only inside the two namespaces
ADDR = {"a": f"{SUBNET}.1", "b": f"{SUBNET}.2"}
VIP = f"{SUBNET}.100"
MIN_BACKUP = 8  # s: well over keepalived's master down interval with advert_int 1 (about 3.4 s), even when loaded


def _why_not() -> str | None:
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root (network namespaces, keepalived)"
    if IP is None:
        return "the ip command (iproute2) is not installed"
    if KEEPALIVED is None:
        return "keepalived is not installed (make test installs the Debian package when run as root)"
    if shutil.which("curl") is None:
        return "curl is not installed"
    return None


pytestmark.append(pytest.mark.skipif(_why_not() is not None, reason=_why_not() or ""))


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert IP is not None
    return subprocess.run([IP, *args], capture_output=True, text=True, timeout=20, check=check)


@dataclass
class Lab:
    workdir: Path
    ns: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def exec_argv(self, node: str) -> list[str]:
        assert IP is not None
        return [IP, "netns", "exec", self.ns[node]]

    def run_in(self, node: str, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.exec_argv(node), *argv], capture_output=True, text=True, timeout=20, check=False)

    def popen(
        self, node: str, argv: list[str], log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [*self.exec_argv(node), *argv], cwd=ROOT, env=env, stdout=sink, stderr=sink, start_new_session=True
            )
        self.procs.append(proc)
        return proc


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    tag = uuid.uuid4().hex[:8]
    lab = Lab(tmp_path)
    try:
        for node in ("a", "b"):
            name = f"havip-test-{tag}-{node}"
            made = ip("netns", "add", name, check=False)
            if made.returncode != 0:
                pytest.skip(f"cannot create a network namespace here: {made.stderr.strip()}")
            lab.ns[node] = name
        ip("-n", lab.ns["a"], "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", lab.ns["b"])
        for node in ("a", "b"):
            ip("-n", lab.ns[node], "link", "set", "lo", "up")
            ip("-n", lab.ns[node], "addr", "add", f"{ADDR[node]}/24", "dev", "veth0")
            ip("-n", lab.ns[node], "link", "set", "veth0", "up")
        yield lab
    finally:
        _clean_up(lab)


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal a process this test started (its whole group when it leads one)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def _clean_up(lab: Lab) -> None:
    for proc in lab.procs:
        if proc.poll() is None:
            _signal(proc, signal.SIGTERM)
    for proc in lab.procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
    for name in lab.ns.values():
        # anything still running in our namespaces was started by this test
        for pid in ip("netns", "pids", name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        ip("netns", "del", name, check=False)


def keepalived_conf(lab: Lab, node: str, notify_conf: Path) -> Path:
    peer = "b" if node == "a" else "a"
    conf = lab.workdir / f"keepalived-{node}.conf"
    conf.write_text(
        f"""global_defs {{
    router_id havip-test-{node}
    script_user root
}}
vrrp_instance VI_HAVIP {{
    state BACKUP
    nopreempt
    interface veth0
    virtual_router_id 51
    priority {150 if node == "a" else 100}
    advert_int 1
    unicast_src_ip {ADDR[node]}
    unicast_peer {{
        {ADDR[peer]}
    }}
    virtual_ipaddress {{
        {VIP}/24 dev veth0
    }}
    notify "{NOTIFY} --config {notify_conf}"
}}
"""
    )
    return conf


def start_keepalived(lab: Lab, node: str, conf: Path) -> subprocess.Popen[bytes]:
    assert KEEPALIVED is not None
    d = lab.workdir
    argv = [KEEPALIVED, "--dont-fork", "--log-console", "--log-detail", "--vrrp", "--use-file", str(conf)]
    argv += ["--pid", str(d / f"ka-{node}.pid"), "--vrrp_pid", str(d / f"ka-{node}-vrrp.pid")]
    return lab.popen(node, argv, d / f"keepalived-{node}.log")


def wait_for(what: str, check: Callable[[], bool], timeout: float, lab: Lab) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    logs = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(lab.workdir.glob("*.log"))
    )
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")


def state_of(lab: Lab, node: str) -> str:
    sf = lab.workdir / f"state-{node}" / "VI_HAVIP.state"
    return sf.read_text().split()[0] if sf.exists() else ""


def holds_vip(lab: Lab, node: str) -> bool:
    return f"{VIP}/" in lab.run_in(node, "ip", "-4", "addr", "show", "dev", "veth0").stdout


def emulator_get(lab: Lab, port: int, route: str) -> Any:
    done = lab.run_in("b", "curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{port}/_emulator/{route}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def emulator_post(lab: Lab, port: int, route: str, body: dict[str, Any]) -> None:
    url = f"http://127.0.0.1:{port}/_emulator/{route}"
    done = lab.run_in("b", "curl", "-sS", "--max-time", "5", "-X", "POST", "--data-binary", json.dumps(body), url)
    assert done.returncode == 0, done.stderr


def test_the_survivor_fences_the_old_master_through_the_function(lab: Lab) -> None:
    d = lab.workdir
    # GIVEN the VPC emulator and the local HTTP trigger in node b's namespace (the trigger on b's
    # veth address, so both nodes' scripts can reach it), node a = the HAVIP's master, b = standby
    port_file = d / "emulator.port"
    lab.popen(
        "b",
        [sys.executable, "-m", "vpc_emulator", "--scenario", "pair", "--port", "0", "--port-file", str(port_file)],
        d / "emulator.log",
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{ROOT}:{ROOT / 'handler'}"},
    )
    wait_for("the emulator", lambda: port_file.exists() and port_file.read_text().strip() != "", 30, lab)
    emu_port = int(port_file.read_text())
    emulator_post(lab, emu_port, "instances/" + STANDBY, {"status": "Running"})
    trigger = start_trigger(f"127.0.0.1:{emu_port}", d, host=ADDR["b"], netns_exec=lab.exec_argv("b"))
    lab.procs.append(trigger.proc)
    configs = {
        node: write_config(
            d / f"havip-notify-{node}.conf",
            trigger.url,
            peer=STANDBY if node == "a" else MASTER,
            HAVIP_NOTIFY_STATE_DIR=d / f"state-{node}",
            HAVIP_NOTIFY_MIN_BACKUP_SECONDS=MIN_BACKUP,
            HAVIP_NOTIFY_DEADLINE=20,
        )
        for node in ("a", "b")
    }
    # WHEN node a starts alone, becomes MASTER (its start-up election reports nobody), then b
    # joins as BACKUP and hears a for longer than MIN_BACKUP
    ka_a = start_keepalived(lab, "a", keepalived_conf(lab, "a", configs["a"]))
    wait_for("node a MASTER", lambda: state_of(lab, "a") == "MASTER" and holds_vip(lab, "a"), 30, lab)
    ka_b = start_keepalived(lab, "b", keepalived_conf(lab, "b", configs["b"]))
    wait_for("node b BACKUP", lambda: state_of(lab, "b") == "BACKUP", 30, lab)
    time.sleep(MIN_BACKUP + 1.5)
    assert state_of(lab, "b") == "BACKUP" and not holds_vip(lab, "b")
    assert [e for e in emulator_get(lab, emu_port, "journal") if e["action"] == "UnassociateHaVip"] == []
    # ... and node a dies: its keepalived stops (priority 0) and its ECS instance is Stopped
    emulator_post(lab, emu_port, "instances/" + MASTER, {"status": "Stopped"})
    os.killpg(ka_a.pid, signal.SIGTERM)
    ka_a.wait(15)

    # THEN b takes the VIP and its notify script fences a through the function
    def fenced() -> bool:
        return any(e["action"] == "UnassociateHaVip" for e in emulator_get(lab, emu_port, "journal"))

    wait_for("node b MASTER with the VIP", lambda: state_of(lab, "b") == "MASTER" and holds_vip(lab, "b"), 30, lab)
    wait_for("UnassociateHaVip at the emulator", fenced, 40, lab)
    calls = [e for e in emulator_get(lab, emu_port, "journal") if e["action"] == "UnassociateHaVip"]
    assert [(c["params"]["InstanceId"], c["params"]["HaVipId"], c["status"]) for c in calls] == [(MASTER, HAVIP, 200)]

    def havip() -> dict[str, Any]:
        (h,) = emulator_get(lab, emu_port, "state")["regions"]["cn-hangzhou"]["havips"]
        assert isinstance(h, dict)
        return h

    def settled() -> bool:
        return bool(havip()["status"] == "InUse" and havip()["instances"] == [STANDBY])

    wait_for("the old master gone from the HAVIP", settled, 20, lab)
    assert havip()["master"] == STANDBY
    assert ka_b.poll() is None  # the survivor's keepalived is still running
    notify_log = d / "keepalived-b.log"
    assert TOKEN not in notify_log.read_text(errors="replace") + trigger.output()
    assert '"outcome": "unassociated"' in trigger.output()
    # node a's start-up election reported nobody: only b's report reached the function
    assert trigger.output().count("local-http: POST / -> 200") == 1
