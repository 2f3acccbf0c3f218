"""UnassociateHaVip / AssociateHaVip through the real SDK: rules, async transitions, tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException

from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair

REGION = "cn-hangzhou"
HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"


@pytest.fixture
def pair(backend: VpcBackend) -> VpcBackend:
    seed = two_node_pair()
    seed["unassociate_delay"] = 0.05
    backend.seed(seed)
    return backend


def status_of(backend: VpcBackend, havip: str = HAVIP) -> str:
    return str(backend.get_havip(havip)["Status"])


def test_standby_unassociates_asynchronously_and_master_stays(
    pair: VpcBackend, vpc: Any, wait: Callable[..., None]
) -> None:
    # GIVEN a pair in use
    # WHEN the standby is unassociated without Force
    request_id = vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY, force=False)

    # THEN the call returns a RequestId at once and the HAVIP is Unassociating
    assert request_id
    havip = vpc.describe(filters={"HaVipId": [HAVIP]}).ha_vips.ha_vip[0]
    assert havip.status == "Unassociating"
    assert STANDBY in havip.associated_instances.associated_instance
    # AND after the delay it is InUse with only the master, which is unchanged
    wait(lambda: status_of(pair) == "InUse")
    havip = vpc.describe(filters={"HaVipId": [HAVIP]}).ha_vips.ha_vip[0]
    assert havip.associated_instances.associated_instance == [MASTER]
    assert havip.master_instance_id == MASTER


def test_master_without_force_is_forbidden(pair: VpcBackend, vpc: Any) -> None:
    # GIVEN a pair in use
    # WHEN the master is unassociated with Force=False
    with pytest.raises(ClientException) as info:
        vpc.unassociate(ha_vip_id=HAVIP, instance_id=MASTER, force=False)

    # THEN the real error comes back and nothing changed
    assert info.value.code == "Forbidden.UnassociateMaster"
    assert info.value.status_code == 400
    assert "Force" in info.value.message
    assert status_of(pair) == "InUse"


def test_master_with_force_moves_master_to_standby(pair: VpcBackend, vpc: Any, wait: Callable[..., None]) -> None:
    # GIVEN a pair in use
    # WHEN the master is unassociated with Force=True
    vpc.unassociate(ha_vip_id=HAVIP, instance_id=MASTER, force=True)

    # THEN once done the standby is the master and the only instance
    wait(lambda: status_of(pair) == "InUse")
    havip = pair.get_havip(HAVIP)
    assert havip["MasterInstanceId"] == STANDBY
    assert havip["AssociatedInstances"]["associatedInstance"] == [STANDBY]


def test_last_instance_leaves_havip_available(backend: VpcBackend, vpc: Any, wait: Callable[..., None]) -> None:
    # GIVEN an HAVIP with a single (master) instance
    hid = backend.create_havip(REGION, "vpc-1", "vsw-1", "192.168.0.9")
    backend.associate_now(hid, "i-only")

    # WHEN it is unassociated with Force
    vpc.unassociate(ha_vip_id=hid, instance_id="i-only", force=True)

    # THEN the HAVIP ends Available with no master and no instances
    wait(lambda: status_of(backend, hid) == "Available")
    havip = backend.get_havip(hid)
    assert havip["MasterInstanceId"] == ""
    assert havip["AssociatedInstances"]["associatedInstance"] == []


def test_eni_pair_with_instance_type_network_interface(
    backend: VpcBackend, vpc: Any, wait: Callable[..., None]
) -> None:
    # GIVEN an HAVIP held by two ENIs
    hid = backend.create_havip(REGION, "vpc-1", "vsw-1", "192.168.0.10")
    backend.associate_now(hid, "eni-master", master=True)
    backend.associate_now(hid, "eni-standby")
    assert backend.get_havip(hid)["AssociatedInstanceType"] == "NetworkInterface"

    # WHEN the standby ENI is named without InstanceType
    with pytest.raises(ClientException) as info:
        vpc.unassociate(ha_vip_id=hid, instance_id="eni-standby")
    # THEN it is refused
    assert info.value.code == "IllegalParam.InstanceType"

    # WHEN an unknown ENI is named with InstanceType NetworkInterface
    with pytest.raises(ClientException) as info:
        vpc.unassociate(ha_vip_id=hid, instance_id="eni-nothere", instance_type="NetworkInterface")
    # THEN the ENI is not found (HTTP 400, as the real API)
    assert (info.value.code, info.value.status_code) == ("InvalidNetworkInterfaceId.NotFound", 400)

    # WHEN the standby ENI is named with InstanceType NetworkInterface
    vpc.unassociate(ha_vip_id=hid, instance_id="eni-standby", instance_type="NetworkInterface", force=False)
    # THEN it goes
    wait(lambda: status_of(backend, hid) == "InUse")
    assert backend.get_havip(hid)["AssociatedInstances"]["associatedInstance"] == ["eni-master"]


@pytest.mark.parametrize(
    ("fields", "code", "status"),
    [
        ({"ha_vip_id": "havip-nope", "instance_id": STANDBY}, "InvalidHaVipId.NotFound", 404),
        ({"ha_vip_id": HAVIP, "instance_id": STANDBY, "region_id": "cn-beijing"}, "InvalidHaVipId.NotFound", 404),
        ({"ha_vip_id": HAVIP, "instance_id": "i-unknown"}, "InvalidInstanceId.NotFound", 404),
        ({"ha_vip_id": HAVIP, "instance_id": STANDBY, "instance_type": "Ecs"}, "IllegalParam.InstanceType", 400),
        ({"ha_vip_id": HAVIP}, "MissingParameter", 400),
        ({"instance_id": STANDBY}, "MissingParameter", 400),
    ],
)
def test_permanent_errors(pair: VpcBackend, vpc: Any, fields: dict[str, Any], code: str, status: int) -> None:
    # GIVEN a pair in use
    # WHEN an invalid unassociation is asked
    with pytest.raises(ClientException) as info:
        vpc.unassociate(**fields)

    # THEN the real code and status come back and nothing changed
    assert (info.value.code, info.value.status_code) == (code, status)
    assert status_of(pair) == "InUse"


def test_resource_not_associated(pair: VpcBackend, vpc: Any) -> None:
    # GIVEN a running instance in the vSwitch that is not associated
    pair.add_instance("i-other", REGION, "vsw-bp1pair000000000001")

    # WHEN it is unassociated
    with pytest.raises(ClientException) as info:
        vpc.unassociate(ha_vip_id=HAVIP, instance_id="i-other")

    # THEN ResourceNotAssociated
    assert (info.value.code, info.value.status_code) == ("ResourceNotAssociated", 400)


def test_incorrect_instance_status_while_stopping(pair: VpcBackend, vpc: Any, wait: Callable[..., None]) -> None:
    # GIVEN the standby is Stopping
    pair.set_instance_status(STANDBY, "Stopping")

    # WHEN it is unassociated
    with pytest.raises(ClientException) as info:
        vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)

    # THEN IncorrectInstanceStatus, and once Stopped the call succeeds
    assert info.value.code == "IncorrectInstanceStatus"
    pair.set_instance_status(STANDBY, "Stopped")
    vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)
    wait(lambda: status_of(pair) == "InUse")


def test_incorrect_havip_status_while_unassociating(pair: VpcBackend, vpc: Any) -> None:
    # GIVEN an unassociation in progress (long delay)
    pair.unassociate_delay = 5.0
    vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)

    # WHEN another one is asked for the same HAVIP
    with pytest.raises(ClientException) as info:
        vpc.unassociate(ha_vip_id=HAVIP, instance_id=MASTER, force=True)

    # THEN IncorrectHaVipStatus
    assert (info.value.code, info.value.status_code) == ("IncorrectHaVipStatus", 400)
    # AND settle() completes the first one at once
    pair.settle()
    assert status_of(pair) == "InUse"


def test_client_token_is_idempotent(pair: VpcBackend, vpc: Any, server: EmulatorServer) -> None:
    # GIVEN an unassociation in progress with a ClientToken
    pair.unassociate_delay = 5.0
    first = vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY, client_token="incident-1")

    # WHEN the same call is repeated with the same token (while Unassociating, and after)
    again = vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY, client_token="incident-1")
    pair.settle()
    after = vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY, client_token="incident-1")

    # THEN every answer carries the first RequestId and the state changed once
    assert first == again == after
    assert status_of(pair) == "InUse"
    assert pair.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"] == [MASTER]
    assert [e.client_token for e in server.calls("UnassociateHaVip")] == ["incident-1"] * 3
    # AND a token reused for another instance is refused
    with pytest.raises(ClientException) as info:
        vpc.unassociate(ha_vip_id=HAVIP, instance_id=MASTER, client_token="incident-1", force=True)
    assert info.value.code == "IdempotentParameterMismatch"


def test_failed_call_does_not_consume_token(pair: VpcBackend, vpc: Any, wait: Callable[..., None]) -> None:
    # GIVEN a master unassociation refused for lack of Force, with a token
    with pytest.raises(ClientException):
        vpc.unassociate(ha_vip_id=HAVIP, instance_id=MASTER, client_token="t-2", force=False)

    # WHEN retried with the same token and Force
    vpc.unassociate(ha_vip_id=HAVIP, instance_id=MASTER, client_token="t-2", force=True)

    # THEN it is carried out
    wait(lambda: pair.get_havip(HAVIP)["MasterInstanceId"] == STANDBY)


def test_associate_havip_rules(backend: VpcBackend, vpc: Any, wait: Callable[..., None]) -> None:
    # GIVEN an Available HAVIP, two instances in its vSwitch and one elsewhere
    hid = backend.create_havip(REGION, "vpc-1", "vsw-1", "192.168.0.20")
    for iid in ("i-a", "i-b", "i-c"):
        backend.add_instance(iid, REGION, "vsw-1")
    backend.add_instance("i-far", REGION, "vsw-2")

    # WHEN the first is associated
    vpc.associate(ha_vip_id=hid, instance_id="i-a")
    # THEN Associating, then InUse with it as master
    assert status_of(backend, hid) == "Associating"
    wait(lambda: status_of(backend, hid) == "InUse")
    assert backend.get_havip(hid)["MasterInstanceId"] == "i-a"

    # WHEN the second is associated THEN the master stays
    vpc.associate(ha_vip_id=hid, instance_id="i-b")
    wait(lambda: status_of(backend, hid) == "InUse")
    havip = backend.get_havip(hid)
    assert havip["AssociatedInstances"]["associatedInstance"] == ["i-a", "i-b"]
    assert havip["MasterInstanceId"] == "i-a"

    # WHEN a third, or one from another vSwitch, is associated THEN refused
    with pytest.raises(ClientException) as info:
        vpc.associate(ha_vip_id=hid, instance_id="i-c")
    assert info.value.code == "CountLimitExceeded.HaVipOnECSInstance"
    other = backend.create_havip(REGION, "vpc-1", "vsw-1", "192.168.0.21")
    with pytest.raises(ClientException) as info:
        vpc.associate(ha_vip_id=other, instance_id="i-far")
    assert info.value.code == "NotBelongToSameVSwitch"
