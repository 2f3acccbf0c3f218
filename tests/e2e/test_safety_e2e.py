"""Issue 8 over real HTTP: the real SDK against the emulator, through the FC entry. Lagging
describes, refusals, throttled forced calls, short TotalCounts, survivors, RAM denials —
the situations in which the first release took the VIP off a healthy node or left a HAVIP
with no node."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.conftest import manual
from tests.e2e.conftest import Invoke
from vpc_emulator import EmulatorServer, Fault, VpcBackend

pytestmark = pytest.mark.e2e

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"


def nodes(emulator: EmulatorServer) -> list[str]:
    return list(emulator.backend.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"])


def settled(emulator: EmulatorServer, seconds: float = 3.0) -> list[str]:
    end = time.monotonic() + seconds
    while emulator.backend.get_havip(HAVIP)["Status"] not in ("InUse", "Available") and time.monotonic() < end:
        time.sleep(0.05)
    return nodes(emulator)


def health_batch(*instances: str) -> bytes:
    return json.dumps(
        [
            {
                "specversion": "1.0",
                "id": f"e2e-{n}-{time.time_ns()}",
                "source": "my.checker",
                "type": "havip.health",
                "data": {
                    "type": "havip.health",
                    "instanceId": i,
                    "haVipId": HAVIP,
                    "healthy": False,
                    "id": f"c{n}-{time.time_ns()}",
                },
            }
            for n, i in enumerate(instances)
        ]
    ).encode()


def mutations(emulator: EmulatorServer) -> list[Any]:
    return [e for e in emulator.journal if e.action in ("UnassociateHaVip", "AssociateHaVip") and e.status == 200]


@pytest.mark.parametrize("wait", ["0", "10"])
def test_both_nodes_failing_with_a_describe_two_seconds_behind_keep_one(
    emulator: EmulatorServer, fc: Invoke, wait: str
) -> None:
    emulator.set_describe_lag(2.0)
    result = fc(
        health_batch(MASTER, STANDBY), extra_env={"HAVIP_WAIT_SECONDS": wait, "HAVIP_REQUIRE_SURVIVOR": "false"}
    )
    outcomes = {r["instanceId"]: (r["outcome"], r["reason"]) for r in result["results"]}
    assert outcomes[STANDBY] == ("skipped", "last-instance")
    assert [e.params["InstanceId"] for e in mutations(emulator)] == [MASTER]
    assert settled(emulator) == [STANDBY]


def test_across_two_invocations_the_refusals_prove_the_view_stale(emulator: EmulatorServer, fc: Invoke) -> None:
    # GIVEN the master forced off by an invocation that did not wait, and a describe 2 s behind
    emulator.set_describe_lag(2.0)
    env = {"HAVIP_WAIT_SECONDS": "0", "HAVIP_REQUIRE_SURVIVOR": "false"}
    first = fc(manual(HaVipId=HAVIP, InstanceId=MASTER, ClientToken="first-incident"), extra_env=env)
    assert first["results"][0]["outcome"] == "pending"
    # WHEN the next invocation (no memory of the first) hears the standby failed too
    second = fc(manual(HaVipId=HAVIP, InstanceId=STANDBY, ClientToken="second-incident"), extra_env=env)
    # THEN the standby is never forced off on the old view: the HAVIP keeps its node
    (r,) = second["results"]
    assert r["outcome"] in ("skipped", "pending"), r
    assert all(e.params["Force"] == "False" for e in mutations(emulator) if e.params["InstanceId"] == STANDBY)
    assert settled(emulator) == [STANDBY]


def test_the_standby_removed_then_the_master_on_a_lagging_describe(emulator: EmulatorServer, fc: Invoke) -> None:
    # The mirror: the record on the HAVIP (the tag service does not lag) tells the second
    # invocation what the first removed.
    emulator.set_describe_lag(2.0)
    env = {"HAVIP_WAIT_SECONDS": "0"}
    fc(manual(HaVipId=HAVIP, InstanceId=STANDBY, ClientToken="standby-incident"), extra_env=env)
    time.sleep(0.5)  # the removal completes (0.3 s); the describe still shows both nodes
    result = fc(manual(HaVipId=HAVIP, InstanceId=MASTER, ClientToken="master-incident"), extra_env=env)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("skipped", "last-instance"), r
    assert settled(emulator) == [MASTER]


def test_a_throttled_forced_call_is_not_resent_on_an_old_look(emulator: EmulatorServer, fc: Invoke) -> None:
    def someone_removes_the_standby(backend: VpcBackend) -> None:
        backend.unassociate_ha_vip(
            "someone-else", region_id="cn-hangzhou", ha_vip_id=HAVIP, instance_id=STANDBY, force="False"
        )

    emulator.inject(
        Fault(action="UnassociateHaVip", code="Throttling.User", times=1, mutate=someone_removes_the_standby)
    )
    result = fc(manual(HaVipId=HAVIP, InstanceId=MASTER))
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("skipped", "last-instance"), r
    assert [e for e in emulator.calls("UnassociateHaVip") if e.status == 200] == []  # the one call was throttled
    assert settled(emulator) == [MASTER]


@pytest.mark.parametrize("dead", ["Stopped", "Stopping"])
def test_no_failover_onto_a_dead_standby(emulator: EmulatorServer, fc: Invoke, dead: str) -> None:
    emulator.set_instance_status(STANDBY, dead)
    result = fc(manual(HaVipId=HAVIP, InstanceId=MASTER))
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], r["survivors"]) == ("skipped", "no-running-survivor", {STANDBY: dead})
    assert mutations(emulator) == []


def test_a_deleted_standby_is_no_survivor(emulator: EmulatorServer, fc: Invoke) -> None:
    emulator.delete_instance(STANDBY)  # the platform also takes it off the HAVIP
    result = fc(manual(HaVipId=HAVIP, InstanceId=MASTER))
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("skipped", "last-instance")
    assert mutations(emulator) == []


def test_ram_denial_of_ecs_takes_nothing_off(emulator: EmulatorServer, fc: Invoke) -> None:
    emulator.deny("DescribeInstanceStatus")
    result = fc(manual(HaVipId=HAVIP, InstanceId=MASTER))
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], r["error"]["code"]) == ("failed", "survivor-state-unknown", "Forbidden.RAM")
    assert r["error"]["retryable"] is False
    assert mutations(emulator) == []


def test_a_persons_order_goes_through_with_the_survivors_reported(emulator: EmulatorServer, fc: Invoke) -> None:
    emulator.set_instance_status(STANDBY, "Stopped")
    result = fc(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True))
    (r,) = result["results"]
    assert (r["outcome"], r["survivors"]) == ("unassociated", {STANDBY: "Stopped"})


def test_a_short_total_count_hides_no_havip(emulator: EmulatorServer, fc: Invoke) -> None:
    # 60 HAVIPs, ours last; an API whose TotalCount says 10
    emulator.reset(_many_havips(60))
    emulator.backend.reported_total_count = 10
    event = json.dumps(
        {"type": "havip.health", "instanceId": MASTER, "healthy": False, "id": f"c-{time.time_ns()}"}
    ).encode()
    result = fc(event)
    assert [(r["haVipId"], r["outcome"]) for r in result["results"]] == [(HAVIP, "unassociated")]


def _many_havips(count: int) -> dict[str, Any]:
    instances = [{"id": MASTER, "vswitch": "vsw-1"}, {"id": STANDBY, "vswitch": "vsw-1"}]
    havips = []
    for n in range(count - 1):
        m, s = f"i-bp1m{n:015d}", f"i-bp1s{n:015d}"
        instances += [{"id": m, "vswitch": "vsw-1"}, {"id": s, "vswitch": "vsw-1"}]
        havips.append({"id": f"havip-bp1a{n:014d}", "vswitch": "vsw-1", "instances": [m, s], "master": m})
    havips.append({"id": HAVIP, "vswitch": "vsw-1", "instances": [MASTER, STANDBY], "master": MASTER})
    return {"regions": {"cn-hangzhou": {"instances": instances, "havips": havips}}}
