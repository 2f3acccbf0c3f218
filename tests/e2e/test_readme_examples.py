"""The docs' local curl examples, run as written (bash and real curl): the README's against the
local HTTP trigger (`python -m havip_failover serve`) and the emulator with the settings of
scripts/local.env, the emulator README's against its admin API: they do what the docs say."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LOCAL_ENV = ROOT / "scripts" / "local.env"
MASTER, STANDBY = "i-bp1master000000001", "i-bp1standby00000001"


def _settings() -> dict[str, str]:
    lines = LOCAL_ENV.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def _examples() -> tuple[str, str]:
    """The shell block that posts the alarm, and the inline GET (inspect) example."""
    section = _section("Run it locally")
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", section, re.S) if "curl" in b]
    assert len(blocks) == 1, "README 'Run it locally' has one shell block with curl"
    inline = re.findall(r"`(curl -s http://127\.0\.0\.1:9000/[^`]*)`", section.replace("\n", " "))
    assert len(inline) == 1, "README 'Run it locally' shows the GET (inspect) example"
    return blocks[0], inline[0]


@pytest.fixture
def trigger(tmp_path: Path) -> Iterator[tuple[EmulatorServer, int]]:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("curl and bash are needed to run the README's examples as written")
    settings = _settings()
    backend = VpcBackend(unassociate_delay=0.3)
    backend.seed(two_node_pair())
    credentials = {settings["ALIBABA_CLOUD_ACCESS_KEY_ID"]: (settings["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], None)}
    with EmulatorServer(backend, credentials=credentials) as emulator:
        port_file = tmp_path / "port"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("HAVIP_", "ALIBABA_CLOUD_", "FC_"))}
        env = (
            base
            | settings
            | {
                "HAVIP_VPC_ENDPOINT": emulator.endpoint,
                "HAVIP_ECS_ENDPOINT": emulator.endpoint,
                "PYTHONPATH": str(ROOT / "handler"),
            }
        )
        serve = subprocess.Popen(
            [sys.executable, "-m", "havip_failover", "serve", "--port", "0", "--port-file", str(port_file)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text().strip():
                assert serve.poll() is None, "serve exited"
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.05)
            yield emulator, int(port_file.read_text())
        finally:
            serve.terminate()
            serve.wait(timeout=10)


def _bash(script: str, port: int) -> dict[str, Any]:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace("127.0.0.1:9000", f"127.0.0.1:{port}")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_the_readme_curl_examples_answer_what_it_says(trigger: tuple[EmulatorServer, int]) -> None:
    emulator, port = trigger
    post, get = _examples()
    # "HTTP 200 with a result whose outcome is unassociated and reason master-failed: the master
    # was forced off and masterAfter is the standby"
    first = _bash(post, port)
    (r,) = first["results"]
    assert (r["outcome"], r["reason"], r["force"], r["masterAfter"]) == ("unassociated", "master-failed", True, STANDBY)
    assert emulator.backend.get_havip("havip-bp1pair0000000001")["AssociatedInstances"]["associatedInstance"] == [
        STANDBY
    ]
    # "Send it again and the answer is already-unassociated"
    time.sleep(1.1)  # a new second: the example's timestamp is the time it is sent
    again = _bash(post, port)
    assert [x["outcome"] for x in again["results"]] == ["already-unassociated"]
    # the GET "shows the pair" (inspect)
    seen = _bash("TOKEN=$(sed -n 's/^HAVIP_CALLBACK_TOKEN=//p' scripts/local.env)\n" + get, port)
    (pair,) = seen["pairs"]
    assert pair["nodes"] == [STANDBY] and pair["degraded"] is True


def test_the_emulators_admin_examples_run_as_written(tmp_path: Path) -> None:
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("curl and bash are needed to run the emulator README's examples as written")
    text = (ROOT / "vpc_emulator" / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "curl" in b and "_emulator" in b]
    assert len(blocks) >= 2, "vpc_emulator/README.md shows its admin API with curl"
    backend = VpcBackend()
    backend.seed(two_node_pair())
    with EmulatorServer(backend) as emulator:
        for block in blocks:
            script = block.replace("127.0.0.1:8765", emulator.endpoint)
            subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, check=True, timeout=60, capture_output=True
            )
        # what they say they do: the master's ECS status changed, a fault is queued
        assert backend.get_instance(MASTER)["status"] == "Stopped"
        assert [f.action for f in emulator.faults.pending()] == ["DescribeHaVips"]
