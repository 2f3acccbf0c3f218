"""`python -m havip_failover drill HAVIP_ID` in a fresh process, with the real SDK over HTTP
against the emulator: the standby off and back, the master untouched, every call timed and every
permission proved, a table for people on stderr and the result on stdout."""

from __future__ import annotations

import pytest

from tests.e2e.test_cli_e2e import HAVIP, last_json, local_env, run_cli
from vpc_emulator import EmulatorServer

pytestmark = pytest.mark.e2e
MASTER, STANDBY = "i-bp1master000000001", "i-bp1standby00000001"


def test_the_drill_command_proves_the_path_without_moving_the_vip(emulator: EmulatorServer) -> None:
    before = emulator.backend.get_havip(HAVIP)
    done = run_cli(local_env(emulator.endpoint), "drill", HAVIP)
    assert done.returncode == 0, done.stderr + done.stdout
    result = last_json(done.stdout)
    assert result["ok"] and result["drill"]["status"] == "done"
    # the calls that changed the HAVIP: the standby, off then back; never the master
    changes = [
        (e.action, e.params.get("InstanceId")) for e in emulator.journal if "HaVip" in e.action and e.status == 200
    ]
    assert [c for c in changes if c[0] != "DescribeHaVips"] == [
        ("UnassociateHaVip", STANDBY),
        ("AssociateHaVip", STANDBY),
    ]
    after = emulator.backend.get_havip(HAVIP)
    assert after["MasterInstanceId"] == MASTER and after["Tags"] == before["Tags"]
    assert sorted(after["AssociatedInstances"]["associatedInstance"]) == [MASTER, STANDBY]
    # for people: the table, the window, the permissions
    table = done.stderr
    assert f"drill {HAVIP} (cn-hangzhou): done" in table and "UnassociateHaVip" in table
    assert f"the standby {STANDBY} was off the HAVIP for" in table
    assert "vpc:AssociateHaVip             proved" in table


def test_the_drill_command_refuses_a_pair_with_a_stopped_node(emulator: EmulatorServer) -> None:
    emulator.set_instance_status(STANDBY, "Stopped")
    done = run_cli(local_env(emulator.endpoint), "drill", HAVIP, "--dry-run")
    assert done.returncode == 1
    assert "refused" in done.stderr and f"{STANDBY} is Stopped" in done.stderr
    assert not [e for e in emulator.journal if e.action in ("UnassociateHaVip", "AssociateHaVip", "TagResources")]
