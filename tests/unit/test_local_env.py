"""scripts/local.env (the function's settings for the local emulator) and how scripts/local.py
reads it: the same values a shell's `set -a; . scripts/local.env` gives, the caller's cloud
settings replaced, never merged."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from havip_failover.config import load

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ENV = ROOT / "scripts" / "local.env"


def _local() -> ModuleType:
    spec = importlib.util.spec_from_file_location("local_script", ROOT / "scripts" / "local.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


local = _local()


def test_the_file_holds_the_documented_settings() -> None:
    assert local.read_env_file(LOCAL_ENV) == {
        "FC_REGION": "cn-hangzhou",
        "HAVIP_REGION_ID": "cn-hangzhou",
        "HAVIP_VPC_ENDPOINT": "127.0.0.1:8765",
        "HAVIP_ECS_ENDPOINT": "127.0.0.1:8765",
        "HAVIP_VPC_PROTOCOL": "http",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIemulatorKey",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "emulator-secret",
        "HAVIP_IDS": "havip-bp1pair0000000001",
        "HAVIP_CALLBACK_TOKEN": "demo-callback-token",
        "HAVIP_RECORD_KEY": "local-emulator-record-key-0123456789abcdef",
        "HAVIP_WAIT_SECONDS": "10",
    }
    assert len(local.read_env_file(LOCAL_ENV)["HAVIP_RECORD_KEY"]) >= 32


def test_a_shell_reads_the_same_values() -> None:
    names = sorted(local.read_env_file(LOCAL_ENV))
    script = f'set -a; . "{LOCAL_ENV}"; set +a; ' + "; ".join(f'printf "%s=%s\\n" {n} "${n}"' for n in names)
    shell = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, env={})
    assert dict(line.split("=", 1) for line in shell.stdout.splitlines()) == local.read_env_file(LOCAL_ENV)


def test_the_settings_are_a_valid_configuration() -> None:
    config = load(local.read_env_file(LOCAL_ENV))
    assert (config.vpc_endpoint, config.vpc_protocol, config.ha_vip_ids) == (
        "127.0.0.1:8765",
        "http",
        ("havip-bp1pair0000000001",),
    )


def test_the_callers_cloud_settings_are_replaced_not_merged() -> None:
    caller = {
        "PATH": "/usr/bin",
        "LOG_LEVEL": "DEBUG",
        "HAVIP_TAG": "ha-pair=prod",
        "HAVIP_VPC_ENDPOINT": "vpc-vpc.cn-shanghai.aliyuncs.com",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "CAIS-real",
        "FC_REGION": "cn-shanghai",
    }
    env = local.local_environment(caller, {"HAVIP_VPC_ENDPOINT": "127.0.0.1:8765", "FC_REGION": "cn-hangzhou"})
    assert env == {
        "PATH": "/usr/bin",
        "LOG_LEVEL": "DEBUG",
        "HAVIP_VPC_ENDPOINT": "127.0.0.1:8765",
        "FC_REGION": "cn-hangzhou",
    }


def test_a_callers_proxy_does_not_carry_calls_to_the_local_emulator() -> None:
    env = local.local_environment({"HTTPS_PROXY": "http://proxy:3128", "no_proxy": "corp.example"}, {})
    assert env["no_proxy"] == "corp.example,127.0.0.1,localhost"
    assert env["NO_PROXY"] == "127.0.0.1,localhost"


@pytest.mark.parametrize("line", ["HAVIP_IDS", "export HAVIP_IDS=x", "HAVIP IDS=x"])
def test_a_line_that_is_not_key_value_is_named(tmp_path: Path, line: str) -> None:
    bad = tmp_path / "local.env"
    bad.write_text(f"# comment\n\n{line}\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"local.env:3: not a KEY=VALUE line"):
        local.read_env_file(bad)
