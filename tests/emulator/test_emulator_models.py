"""The backend's rules without HTTP, on a controlled clock."""

from __future__ import annotations

import pytest

from vpc_emulator import VpcApiError, VpcBackend, two_node_pair

REGION = "cn-hangzhou"
HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_transition_applies_exactly_at_the_delay() -> None:
    # GIVEN a pair on a fake clock with a 10 s delay
    clock = FakeClock()
    backend = VpcBackend(unassociate_delay=10.0, clock=clock)
    backend.seed({**two_node_pair(), "unassociate_delay": 10.0})

    # WHEN the master is force-unassociated
    backend.unassociate_ha_vip("rid-1", region_id=REGION, ha_vip_id=HAVIP, instance_id=MASTER, force="true")

    # THEN it stays Unassociating until the delay has passed, then the master moves
    clock.now += 9.99
    assert backend.get_havip(HAVIP)["Status"] == "Unassociating"
    assert backend.get_havip(HAVIP)["MasterInstanceId"] == MASTER
    clock.now += 0.01
    havip = backend.get_havip(HAVIP)
    assert (havip["Status"], havip["MasterInstanceId"]) == ("InUse", STANDBY)


def test_zero_delay_completes_within_the_call() -> None:
    # GIVEN a pair with no delay
    backend = VpcBackend()
    backend.seed({**two_node_pair(), "unassociate_delay": 0})
    # WHEN the standby is unassociated THEN it is gone at once
    backend.unassociate_ha_vip("rid", region_id=REGION, ha_vip_id=HAVIP, instance_id=STANDBY)
    assert backend.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"] == [MASTER]


def test_force_is_case_insensitive_and_other_values_mean_false() -> None:
    # GIVEN a pair
    backend = VpcBackend(unassociate_delay=0)
    backend.seed({**two_node_pair(), "unassociate_delay": 0})
    # WHEN Force is not "true" THEN the master is protected
    for value in (None, "", "False", "yes"):
        with pytest.raises(VpcApiError) as info:
            backend.unassociate_ha_vip("r", region_id=REGION, ha_vip_id=HAVIP, instance_id=MASTER, force=value)
        assert info.value.code == "Forbidden.UnassociateMaster"
    # WHEN Force is "TRUE" THEN it goes
    backend.unassociate_ha_vip("r", region_id=REGION, ha_vip_id=HAVIP, instance_id=MASTER, force="TRUE")
    assert backend.get_havip(HAVIP)["MasterInstanceId"] == STANDBY


def test_error_precedence_follows_the_api() -> None:
    # GIVEN an HAVIP that is Unassociating and a Stopping standby not associated
    clock = FakeClock()
    backend = VpcBackend(unassociate_delay=5, clock=clock)
    backend.seed({**two_node_pair(), "unassociate_delay": 5})
    backend.add_instance("i-loose", REGION, "vsw-x", status="Stopping")
    backend.unassociate_ha_vip("r", region_id=REGION, ha_vip_id=HAVIP, instance_id=STANDBY)

    def code(**fields: str) -> str:
        with pytest.raises(VpcApiError) as info:
            backend.unassociate_ha_vip("r", **{"region_id": REGION, "ha_vip_id": HAVIP, **fields})
        return info.value.code

    # THEN missing parameters first, then InstanceType, HAVIP, instance, HAVIP status, ECS status
    assert code(instance_id="") == "MissingParameter"
    assert code(instance_id="eni-1") == "IllegalParam.InstanceType"
    assert code(instance_id="i-x", ha_vip_id="havip-x") == "InvalidHaVipId.NotFound"
    assert code(instance_id="i-x") == "InvalidInstanceId.NotFound"
    assert code(instance_id="i-loose") == "IncorrectHaVipStatus"
    clock.now += 5
    assert code(instance_id="i-loose") == "IncorrectInstanceStatus"
    backend.set_instance_status("i-loose", "Running")
    assert code(instance_id="i-loose") == "ResourceNotAssociated"
    # AND a released instance still bound is ResourceNotFound.Instance
    backend.remove_instance(MASTER)
    assert code(instance_id=MASTER) == "ResourceNotFound.Instance"


def test_client_token_limits() -> None:
    # GIVEN a pair
    backend = VpcBackend(unassociate_delay=0)
    backend.seed(two_node_pair())
    # WHEN a token longer than 64 characters or not ASCII is used THEN refused
    for token in ("x" * 65, "jeton-é"):
        with pytest.raises(VpcApiError) as info:
            backend.unassociate_ha_vip("r", region_id=REGION, ha_vip_id=HAVIP, instance_id=STANDBY, client_token=token)
        assert info.value.code == "InvalidClientToken.Malformed"


def test_helpers_validate_their_input() -> None:
    # GIVEN a backend
    backend = VpcBackend()
    # WHEN helpers get impossible values THEN ValueError / KeyError
    with pytest.raises(ValueError, match="i-"):
        backend.add_instance("vm-1", REGION, "vsw-1")
    with pytest.raises(ValueError, match="status"):
        backend.add_instance("i-1", REGION, "vsw-1", status="Exploded")
    with pytest.raises(KeyError):
        backend.set_instance_status("i-missing", "Running")
    hid = backend.create_havip(REGION, "vpc-1", "vsw-1", "10.0.0.1")
    assert hid.startswith("havip-") and len(hid) == len("havip-") + 21
    backend.associate_now(hid, "i-1")
    backend.associate_now(hid, "i-2", master=True)
    assert backend.get_havip(hid)["MasterInstanceId"] == "i-2"
    with pytest.raises(ValueError, match="already holds 2 instances"):
        backend.associate_now(hid, "i-3")
    with pytest.raises(ValueError, match="already exists"):
        backend.create_havip(REGION, "vpc-1", "vsw-1", "10.0.0.2", ha_vip_id=hid)
    # AND reset forgets everything
    backend.reset()
    assert backend.snapshot()["regions"] == {}


def test_set_master_and_delete_havip() -> None:
    backend = VpcBackend()
    backend.seed(two_node_pair())
    backend.set_master("havip-bp1pair0000000001", "i-bp1standby00000001")
    assert backend.get_havip("havip-bp1pair0000000001")["MasterInstanceId"] == "i-bp1standby00000001"
    with pytest.raises(ValueError, match="not associated"):
        backend.set_master("havip-bp1pair0000000001", "i-bp1nobody000000001")
    backend.delete_havip("havip-bp1pair0000000001")
    assert backend.havip_ids() == []
