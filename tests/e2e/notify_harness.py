"""The pieces of the keepalived tests (and of the headline benchmark): the local HTTP trigger
as its own process (`python -m havip_failover serve`), a settings file for the notify script,
and the notify script run by a real shell with the real curl."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import RECORD_KEY

ROOT = Path(__file__).resolve().parents[2]
NOTIFY = ROOT / "contrib" / "keepalived" / "havip-notify.sh"
TOKEN = "keepalived-test-token-0123456789"  # >= 16 characters, as the function requires
AK, SECRET = "LTAIemulatorKey", "emulator-secret"
HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
REGION = "cn-hangzhou"


def shells() -> list[str]:
    """POSIX shells here to run the script with (dash is Debian's /bin/sh)."""
    return [s for s in ("dash", "sh", "busybox") if shutil.which(s)]


def function_env(endpoint: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": tempfile.gettempdir(),
        "PYTHONPATH": str(ROOT / "handler"),
        "FC_REGION": REGION,
        "HAVIP_VPC_ENDPOINT": endpoint,
        "HAVIP_ECS_ENDPOINT": endpoint,
        "HAVIP_VPC_PROTOCOL": "http",
        "HAVIP_WAIT_SECONDS": "10",
        "HAVIP_CALLBACK_TOKEN": TOKEN,
        "HAVIP_RECORD_KEY": RECORD_KEY,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": AK,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        **extra,
    }


@dataclass
class Trigger:
    proc: subprocess.Popen[bytes]
    host: str
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_trigger(
    endpoint: str,
    workdir: Path,
    *,
    host: str = "127.0.0.1",
    netns_exec: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 30.0,
) -> Trigger:
    """`python -m havip_failover serve` on a free port (optionally inside a network namespace)."""
    port_file = workdir / "trigger.port"
    port_file.unlink(missing_ok=True)
    log = workdir / "trigger.log"
    argv = [*netns_exec, sys.executable, "-m", "havip_failover", "serve", "--host", host, "--port", "0"]
    argv += ["--port-file", str(port_file)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, cwd=ROOT, env=dict(env or function_env(endpoint)), stdout=sink, stderr=sink)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return Trigger(proc, host, int(port_file.read_text()), log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    with contextlib.suppress(Exception):
        proc.kill()
        proc.wait(5)
    raise RuntimeError(f"the local HTTP trigger did not start: {log.read_text(errors='replace')[-2000:]}")


def write_config(
    path: Path,
    url: str,
    *,
    peer: str = MASTER,
    havip: str = HAVIP,
    token: str = TOKEN,
    mode: int = 0o600,
    **extra: str | int | Path,
) -> Path:
    lines = [
        "# havip-notify.sh settings (test)",
        f"HAVIP_TRIGGER_URL={url}",
        f'HAVIP_CALLBACK_TOKEN="{token}"',
        f"HAVIP_ID={havip}",
        f"HAVIP_PEER_INSTANCE_ID={peer}",
        *(f"{k}={v}" for k, v in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def run_notify(
    config: Path,
    *args: str,
    shell: str = "dash",
    env: Mapping[str, str] | None = None,
    timeout: float = 90.0,
) -> subprocess.CompletedProcess[str]:
    """The real script, by a real shell, with the real curl (unless PATH says otherwise)."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TMPDIR": str(config.parent)}
    argv = [shell, "sh"] if shell == "busybox" else [shell]
    return subprocess.run(
        [*argv, str(NOTIFY), "--config", str(config), *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
