"""The backend's helpers that set a state at once (another actor's completed change), without HTTP."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import Clock
from vpc_emulator import VpcBackend, two_node_pair

REGION = "cn-hangzhou"
HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"


def held(backend: VpcBackend, lag: float = 0.0) -> tuple[list[str], str, str]:
    (item,) = backend.describe_ha_vips(REGION, lag=lag)["HaVips"]["HaVip"]
    return item["AssociatedInstances"]["associatedInstance"], item["MasterInstanceId"], item["Status"]


def pair_backend(clock: Clock) -> VpcBackend:
    """The demo pair, a disassociation taking 1 s."""
    backend = VpcBackend(clock=clock)
    backend.seed({**two_node_pair(), "unassociate_delay": 1.0})
    return backend


def test_unassociate_now_moves_the_master_and_a_lagging_describe_still_shows_it(clock: Clock) -> None:
    # GIVEN a pair WHEN someone else's disassociation of the master has completed
    backend = pair_backend(clock)
    clock.now += 10
    backend.unassociate_now(HAVIP, MASTER)
    # THEN the standby is the master at once, the instance still in ECS
    assert held(backend) == ([STANDBY], STANDBY, "InUse")
    assert backend.get_instance(MASTER)["status"] == "Running"
    # AND a describe 2 s behind shows the pair as it was
    assert held(backend, lag=2.0) == ([MASTER, STANDBY], MASTER, "InUse")
    # WHEN the last one goes too THEN the HAVIP is Available, of no type
    backend.unassociate_now(HAVIP, STANDBY)
    assert held(backend) == ([], "", "Available")
    assert backend.get_havip(HAVIP)["AssociatedInstanceType"] == ""
    with pytest.raises(ValueError, match="not associated"):
        backend.unassociate_now(HAVIP, STANDBY)


def test_unassociate_now_leaves_another_nodes_transition_running(clock: Clock) -> None:
    # GIVEN the standby being disassociated (1 s) WHEN the master is taken off at once meanwhile
    backend = pair_backend(clock)
    backend.unassociate_ha_vip("r-1", region_id=REGION, ha_vip_id=HAVIP, instance_id=STANDBY)
    backend.unassociate_now(HAVIP, MASTER)
    # THEN the standby's disassociation still runs, then completes
    assert held(backend) == ([STANDBY], STANDBY, "Unassociating")
    clock.now += 1
    assert held(backend) == ([], "", "Available")


def test_unassociate_now_of_the_node_in_transition_ends_it(clock: Clock) -> None:
    backend = pair_backend(clock)
    backend.unassociate_ha_vip("r-1", region_id=REGION, ha_vip_id=HAVIP, instance_id=STANDBY)
    backend.unassociate_now(HAVIP, STANDBY)
    assert held(backend) == ([MASTER], MASTER, "InUse")
    assert backend.snapshot()["regions"][REGION]["havips"][0].get("pending") is None


def test_set_havip_status(clock: Clock) -> None:
    # GIVEN the standby being disassociated
    backend = pair_backend(clock)
    backend.unassociate_ha_vip("r-1", region_id=REGION, ha_vip_id=HAVIP, instance_id=STANDBY)
    # WHEN the status is set to the one the transition shows THEN it goes on
    backend.set_havip_status(HAVIP, "Unassociating")
    assert backend.snapshot()["regions"][REGION]["havips"][0]["pending"]["instance"] == STANDBY
    # WHEN set to another THEN the transition is dropped, the state as set
    clock.now += 0.5
    backend.set_havip_status(HAVIP, "Creating")
    clock.now += 1
    assert held(backend) == ([MASTER, STANDBY], MASTER, "Creating")
    assert held(backend, lag=1.2)[2] == "Unassociating"  # before it was set
    with pytest.raises(ValueError, match="unknown HAVIP status"):
        backend.set_havip_status(HAVIP, "Broken")
    with pytest.raises(KeyError):
        backend.set_havip_status("havip-missing", "InUse")
