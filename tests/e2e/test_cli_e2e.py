"""`python -m havip_failover invoke` and the FC entry imported as FC imports it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RECORD_KEY
from tests.e2e.conftest import AK, SECRET
from vpc_emulator import EmulatorServer

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
HAVIP = "havip-bp1pair0000000001"


def cli(emulator: EmulatorServer, *args: str, runtime: str = "python3.10") -> subprocess.CompletedProcess[str]:
    return run_cli(local_env(emulator.endpoint), "invoke", *args, "--runtime", runtime)


def local_env(endpoint: str, **settings: str) -> dict[str, str]:
    """The caller's environment less any HAVIP_/ALIBABA_CLOUD_/FC_ setting (and proxy: the
    pre-flight leaves a proxied endpoint alone), pointed at `endpoint`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HAVIP_", "ALIBABA_CLOUD_", "FC_")) and not k.lower().endswith("_proxy")
    }
    return env | {
        "HAVIP_VPC_ENDPOINT": endpoint,
        "HAVIP_ECS_ENDPOINT": endpoint,
        "HAVIP_VPC_PROTOCOL": "http",
        "HAVIP_REGION_ID": "cn-hangzhou",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": AK,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
        "HAVIP_RECORD_KEY": RECORD_KEY,
        "PYTHONPATH": str(ROOT / "handler"),
        **settings,
    }


def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "havip_failover", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
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
        env=local_env("127.0.0.1:1", FC_REGION="cn-hangzhou"),
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


# serve with a port of 0: should it ever get past the checks, it would listen (and time out here)
COMMANDS = {
    "invoke": ("invoke", "events/manual-master.json"),
    "serve": ("serve", "--port", "0"),
    "inspect": ("inspect",),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_settings_are_listed_and_exit_2_without_a_traceback(emulator: EmulatorServer, command: str) -> None:
    env = local_env(emulator.endpoint, HAVIP_CALLBACK_TOKEN="zq7-tok", HAVIP_FORCE="always", HAVIP_IDS="foo,havip-x")
    done = run_cli(env, *COMMANDS[command], timeout=20)
    assert done.returncode == 2, done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("invalid configuration:\n"), done.stderr
    assert "HAVIP_FORCE must be auto or never, got 'always'" in done.stderr
    assert "HAVIP_CALLBACK_TOKEN must be at least 16 characters" in done.stderr
    assert "'foo'" in done.stderr and "'havip-x'" in done.stderr  # every bad id named
    assert "zq7-tok" not in done.stderr  # the token itself is never echoed
    assert emulator.journal == []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_https_against_the_emulator_fails_at_once_with_the_fix(emulator: EmulatorServer, command: str) -> None:
    env = local_env(emulator.endpoint, HAVIP_VPC_PROTOCOL="https", HAVIP_WAIT_SECONDS="30")
    started = time.monotonic()
    done = run_cli(env, *COMMANDS[command], timeout=20)
    assert time.monotonic() - started < 10  # not the 30 s of retries it used to take
    assert done.returncode == 2, done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert f"HAVIP_VPC_ENDPOINT={emulator.endpoint} (https://{emulator.endpoint}) does not answer TLS" in done.stderr
    assert "set HAVIP_VPC_PROTOCOL=http" in done.stderr
    assert emulator.journal == []  # nothing reached the API


@pytest.mark.parametrize("protocol", ["http", "https"])
def test_a_closed_port_fails_at_once_and_asks_whether_the_emulator_runs(protocol: str) -> None:
    endpoint = f"127.0.0.1:{closed_port()}"
    env = local_env(endpoint, HAVIP_VPC_PROTOCOL=protocol, HAVIP_WAIT_SECONDS="30")
    started = time.monotonic()
    done = run_cli(env, "invoke", "events/manual-master.json", "--dry-run", timeout=20)
    assert time.monotonic() - started < 10
    assert done.returncode == 2, done.stderr + done.stdout
    assert f"HAVIP_VPC_ENDPOINT={endpoint} ({protocol}://{endpoint}) refused the connection" in done.stderr
    assert "is it running" in done.stderr


def test_an_endpoint_behind_a_proxy_is_left_to_the_sdk() -> None:
    # A direct connect says nothing about an endpoint the SDK reaches through a proxy.
    endpoint = f"127.0.0.1:{closed_port()}"
    env = local_env(endpoint, HAVIP_WAIT_SECONDS="1", HTTP_PROXY=f"http://127.0.0.1:{closed_port()}", NO_PROXY="")
    env.pop("no_proxy", None)
    done = run_cli(env, "invoke", "events/manual-master.json", "--dry-run", timeout=30)
    assert f"HAVIP_VPC_ENDPOINT={endpoint}" not in done.stderr  # no pre-flight verdict
    assert done.returncode == 1, done.stderr + done.stdout  # the SDK's own failure, in the result
    (result,) = last_json(done.stdout)["results"]
    assert result["error"]["code"] == "NetworkError"


def test_region_flag_wins_over_the_environment_as_its_help_says(emulator: EmulatorServer) -> None:
    def pairs(done: subprocess.CompletedProcess[str]) -> list[str]:
        assert done.returncode == 0, done.stderr
        return [p["haVipId"] for p in last_json(done.stdout)["pairs"]]

    # GIVEN the pair in cn-hangzhou and an environment naming other regions
    env = local_env(emulator.endpoint, HAVIP_IDS=HAVIP, HAVIP_REGION_ID="cn-shanghai", FC_REGION="cn-beijing")
    assert pairs(run_cli(env, "inspect")) == []
    # WHEN --region names the pair's region THEN it is the region looked at
    assert pairs(run_cli(env, "inspect", "--region", "cn-hangzhou")) == [HAVIP]
    # AND with no region anywhere, the fallback the help names (cn-hangzhou) is the one used
    bare = {k: v for k, v in env.items() if k not in ("HAVIP_REGION_ID", "FC_REGION")}
    assert pairs(run_cli(bare, "inspect")) == [HAVIP]
    helped = run_cli(bare, "inspect", "--help")
    assert "default: HAVIP_REGION_ID, else FC_REGION, else cn-hangzhou" in " ".join(helped.stdout.split())
