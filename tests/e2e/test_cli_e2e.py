"""`python -m havip_failover invoke` and the FC entry imported as FC imports it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import AK, SECRET
from vpc_emulator import EmulatorServer

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def cli(emulator: EmulatorServer, *args: str, runtime: str = "python3.10") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAVIP_", "ALIBABA_CLOUD_", "FC_"))} | {
        "HAVIP_VPC_ENDPOINT": emulator.endpoint,
        "HAVIP_ECS_ENDPOINT": emulator.endpoint,
        "HAVIP_VPC_PROTOCOL": "http",
        "HAVIP_REGION_ID": "cn-hangzhou",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": AK,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "PYTHONPATH": str(ROOT / "handler"),
    }
    return subprocess.run(
        [sys.executable, "-m", "havip_failover", "invoke", *args, "--runtime", runtime],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def last_json(stdout: str) -> dict[str, Any]:
    """The printed result: the indented JSON document after the log lines."""
    start = stdout.rfind("\n{\n") + 1
    result: dict[str, Any] = json.loads(stdout[start:])
    return result


@pytest.mark.parametrize("runtime", ["python3.10", "python3.12"])
def test_invoke_dry_run_plans_without_mutating(emulator: EmulatorServer, runtime: str) -> None:
    done = cli(emulator, "events/manual-master.json", "--dry-run", runtime=runtime)
    assert done.returncode == 0, done.stderr + done.stdout
    result = last_json(done.stdout)
    assert result["dryRun"] is True
    assert [r["outcome"] for r in result["results"]] == ["planned"]
    # only reads: the HAVIP, and ECS for the survivor check
    assert {e.action for e in emulator.journal} == {"DescribeHaVips", "ListTagResources", "DescribeInstanceStatus"}
    assert SECRET not in done.stdout + done.stderr


def test_invoke_acts_and_exits_zero(emulator: EmulatorServer) -> None:
    done = cli(emulator, "events/eventbridge-ecs-stopped-standby.json")
    assert done.returncode == 0, done.stderr + done.stdout
    assert [e.action for e in emulator.journal].count("UnassociateHaVip") == 1


def test_invoke_reports_a_missing_file(emulator: EmulatorServer) -> None:
    done = cli(emulator, "events/no-such-file.json")
    assert done.returncode == 2
    assert "no-such-file.json" in done.stderr


def test_entry_imports_from_the_code_directory_alone(tmp_path: Path) -> None:
    # GIVEN only handler/ on the path (what FC has), WHEN index is imported and called on bad input
    code = (
        "import sys, json; sys.path[:0] = [sys.argv[1]];"
        "import index; r = index.handler(b'{}', None); print(json.dumps(r))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code, str(ROOT / "handler")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"] is False and result["error"]["code"] == "UnknownEvent"


def test_invoke_sets_the_events_times_to_now_and_says_so(emulator: EmulatorServer) -> None:
    done = cli(emulator, "events/eventbridge-ecs-running-recovery.json")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "times were set to now" in done.stderr
    (signal,) = last_json(done.stdout)["signals"]
    assert abs(signal["eventTime"] - time.time()) < 60  # now, not the sample's 2026-11-27


def test_invoke_keep_times_sends_the_file_as_it_is(emulator: EmulatorServer) -> None:
    done = cli(emulator, "events/eventbridge-ecs-running-recovery.json", "--keep-times")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "times were set to now" not in done.stderr
    (signal,) = last_json(done.stdout)["signals"]
    assert signal["eventTime"] == 1795749600.0  # the sample's own time
