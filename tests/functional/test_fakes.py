"""FakeVpc itself: the emulator's rules through the function's VpcApi, and the test conveniences."""

from __future__ import annotations

from dataclasses import replace

import pytest

from havip_failover.vpc import VpcError
from tests.fakes import FakeClock, FakeVpc, pair

REGION = "cn-hangzhou"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"


def unassociate(vpc: FakeVpc, instance: str, *, force: bool = False, incident: str = "t-1") -> str:
    return vpc.unassociate_ha_vip(
        REGION, HAVIP, instance, force=force, instance_type="EcsInstance", client_token=incident
    )


def test_the_backends_errors_arrive_as_vpc_errors_with_the_request_id(fake_vpc: FakeVpc) -> None:
    fake_vpc.add(pair())
    with pytest.raises(VpcError) as err:
        unassociate(fake_vpc, MASTER)
    assert (err.value.code, err.value.http_status, err.value.kind) == ("Forbidden.UnassociateMaster", 400, "permanent")
    assert err.value.request_id == "req-UnassociateHaVip-1"
    with pytest.raises(VpcError) as missing:
        fake_vpc.describe_ha_vips(REGION, page_size=51)
    assert missing.value.code == "InvalidParameter"


def test_an_accepted_call_settles_on_the_clock_and_a_token_replays(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    first = unassociate(fake_vpc, STANDBY)
    assert fake_vpc.havips[HAVIP].status == "Unassociating"
    clock.now += fake_vpc.settle
    assert fake_vpc.havips[HAVIP].associated_instances == (MASTER,)
    assert unassociate(fake_vpc, STANDBY) == first  # the API's ClientToken idempotency
    assert [c.params["token"] for c in fake_vpc.mutations()] == ["t-1", "t-1"]


def test_add_is_as_it_always_was_and_a_later_change_lags(clock: FakeClock) -> None:
    vpc = FakeVpc(clock, lag=2.0)
    vpc.add(pair())
    (seen,) = vpc.describe_ha_vips(REGION).havips
    assert seen == vpc.havips[HAVIP]  # a lagging describe sees the HAVIP it was given
    vpc.havips[HAVIP] = replace(pair(), master_instance_id=STANDBY)
    assert vpc.describe_ha_vips(REGION).havips[0].master_instance_id == MASTER
    clock.now += 2.0
    assert vpc.describe_ha_vips(REGION).havips[0].master_instance_id == STANDBY


def test_a_set_havip_is_read_back_as_set(fake_vpc: FakeVpc) -> None:
    fake_vpc.add(pair())
    third = "i-bp1third0000000001"
    fake_vpc.havips[HAVIP] = replace(
        pair(), associated_instances=(STANDBY, third), master_instance_id=third, tags=(("k", "v"),)
    )
    h = fake_vpc.havips[HAVIP]
    assert (h.associated_instances, h.master_instance_id, h.tags) == ((STANDBY, third), third, (("k", "v"),))
    assert fake_vpc.ecs[third] == "Running" and fake_vpc.ecs[MASTER] == "Running"
    fake_vpc.havips[HAVIP] = replace(h, status="Creating")
    assert fake_vpc.havips[HAVIP].status == "Creating"
    with pytest.raises(ValueError, match="one type"):
        fake_vpc.havips[HAVIP] = replace(h, associated_instances=(STANDBY, "eni-bp1x"))
    with pytest.raises(ValueError, match="master"):
        fake_vpc.havips[HAVIP] = replace(h, master_instance_id=MASTER)
    del fake_vpc.havips[HAVIP]
    assert HAVIP not in fake_vpc.havips and len(fake_vpc.havips) == 0


def test_a_released_instance_leaves_ecs_and_the_havip(fake_vpc: FakeVpc) -> None:
    fake_vpc.add(pair())
    fake_vpc.ecs[MASTER] = "Absent"
    assert MASTER not in fake_vpc.ecs
    assert fake_vpc.describe_instance_status(REGION, [MASTER, STANDBY]) == {STANDBY: "Running"}
    h = fake_vpc.havips[HAVIP]
    assert (h.associated_instances, h.master_instance_id) == ((STANDBY,), STANDBY)


def test_enis_and_their_hosts(fake_vpc: FakeVpc) -> None:
    fake_vpc.enis["eni-bp1a"] = "i-bp1host"
    assert fake_vpc.ecs["i-bp1host"] == "Running"  # an ENI is attached to an instance that exists
    assert fake_vpc.describe_network_interfaces(REGION, ["eni-bp1a", "eni-bp1gone"]) == {"eni-bp1a": "i-bp1host"}
    fake_vpc.ecs["i-bp1host"] = "Absent"
    assert fake_vpc.enis["eni-bp1a"] is None and list(fake_vpc.enis) == ["eni-bp1a"]


def test_a_race_comes_before_an_injected_error_and_both_once(fake_vpc: FakeVpc) -> None:
    fake_vpc.add(pair())
    fake_vpc.race("UnassociateHaVip", lambda v: v.add(replace(v.havips[HAVIP], master_instance_id=STANDBY)))
    fake_vpc.fail_next("UnassociateHaVip", VpcError("Throttling", "slow down"))
    with pytest.raises(VpcError, match="Throttling"):
        unassociate(fake_vpc, STANDBY)
    assert fake_vpc.havips[HAVIP].master_instance_id == STANDBY
    with pytest.raises(VpcError, match=r"Forbidden\.UnassociateMaster"):  # the backend's own rule now
        unassociate(fake_vpc, STANDBY)
    assert fake_vpc.count("UnassociateHaVip") == 2
    with pytest.raises(ValueError, match="not an action"):
        fake_vpc.fail_next("UnassociateHavip")


def test_the_limit_and_the_settle_are_the_backends(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(replace(pair(), associated_instances=(MASTER,)))
    fake_vpc.ecs[STANDBY] = "Running"
    fake_vpc.limit = 1
    with pytest.raises(VpcError, match="CountLimitExceeded"):
        fake_vpc.associate_ha_vip(REGION, HAVIP, STANDBY, instance_type="EcsInstance", client_token="a-1")
    fake_vpc.limit, fake_vpc.settle = 2, 3.0
    fake_vpc.associate_ha_vip(REGION, HAVIP, STANDBY, instance_type="EcsInstance", client_token="a-2")
    clock.now += 2.9
    assert fake_vpc.havips[HAVIP].status == "Associating"
    clock.now += 0.1
    assert fake_vpc.havips[HAVIP].associated_instances == (MASTER, STANDBY)
