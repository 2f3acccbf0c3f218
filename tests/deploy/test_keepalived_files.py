"""contrib/keepalived: the notify script is POSIX sh (shellcheck, dash's parser), the example
keepalived.conf is one keepalived accepts, and the settings example is what the script reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "contrib" / "keepalived"
SCRIPT = CONTRIB / "havip-notify.sh"
KEEPALIVED = shutil.which("keepalived") or ("/usr/sbin/keepalived" if Path("/usr/sbin/keepalived").exists() else None)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt-get install it)")
def test_the_notify_script_passes_shellcheck_as_posix_sh() -> None:
    done = subprocess.run(["shellcheck", "-s", "sh", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("dash") is None, reason="dash is not installed")
def test_dash_parses_the_notify_script() -> None:
    done = subprocess.run(["dash", "-n", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_notify_script_is_executable_and_starts_with_sh() -> None:
    assert SCRIPT.stat().st_mode & 0o111
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")


@pytest.mark.skipif(KEEPALIVED is None, reason="keepalived is not installed (apt-get install keepalived)")
def test_keepalived_accepts_the_example_configuration() -> None:
    assert KEEPALIVED is not None
    done = subprocess.run(
        [KEEPALIVED, "-t", "-f", str(CONTRIB / "keepalived.conf")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (CONTRIB / "keepalived.conf").read_text()
    for needed in ("nopreempt", "unicast_peer", "unicast_src_ip", "state BACKUP", "havip-notify.sh"):
        assert needed in text


def test_the_settings_example_names_only_keys_the_script_reads() -> None:
    script = SCRIPT.read_text()
    keys = [
        line.lstrip("#").split("=", 1)[0]
        for line in (CONTRIB / "havip-notify.conf.example").read_text().splitlines()
        if "=" in line and line.lstrip("#").split("=", 1)[0].isupper()
    ]
    assert "HAVIP_CALLBACK_TOKEN" in keys and "HAVIP_PEER_INSTANCE_ID" in keys
    for key in keys:
        assert f"{key})" in script, key
