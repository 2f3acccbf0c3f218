"""The ECS side of the emulator through the real ECS SDK: DescribeInstanceStatus and
DescribeNetworkInterfaces, mid-scenario state changes, and the platform's own
disassociation of a released instance or ENI."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions

from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair

from .conftest import AK, REGION, SECRET, Clock

HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"


@pytest.fixture
def backend(clock: Clock) -> VpcBackend:
    return VpcBackend(unassociate_delay=1.0, clock=clock)


@pytest.fixture
def ecs_client(server: EmulatorServer) -> EcsClient:
    return EcsClient(
        Config(
            access_key_id=AK,
            access_key_secret=SECRET,
            endpoint=server.endpoint,
            protocol="http",
            region_id=REGION,
            read_timeout=3000,
        )
    )


def statuses(client: EcsClient, ids: list[str] | None = None, **fields: Any) -> Any:
    request = ecs.DescribeInstanceStatusRequest(region_id=REGION, instance_id=ids, **fields)
    return client.describe_instance_status_with_options(request, RuntimeOptions()).body


def enis(client: EcsClient, ids: list[str]) -> Any:
    request = ecs.DescribeNetworkInterfacesRequest(region_id=REGION, network_interface_id=ids, page_size=100)
    return client.describe_network_interfaces_with_options(request, RuntimeOptions()).body


def admin(server: EmulatorServer, method: str, route: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(  # noqa: S310 - the local emulator
        f"{server.url}/_emulator/{route}", data=data, method=method
    )
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - local emulator
        return json.loads(resp.read())


def test_instance_status_in_ecs_shape_unknown_ids_absent(
    server: EmulatorServer, backend: VpcBackend, ecs_client: EcsClient
) -> None:
    # GIVEN the pair, one of them Stopped
    backend.seed(two_node_pair())
    backend.set_instance_status(STANDBY, "Stopped")

    # WHEN both and a never-seen id are asked for
    body = statuses(ecs_client, [MASTER, STANDBY, "i-bp1released0000001"], page_size=50)

    # THEN ECS's shape, the unknown id simply absent
    assert body.total_count == 2
    assert (body.page_number, body.page_size) == (1, 50)
    got = {s.instance_id: s.status for s in body.instance_statuses.instance_status}
    assert got == {MASTER: "Running", STANDBY: "Stopped"}
    assert server.calls("DescribeInstanceStatus")[-1].params["InstanceId.3"] == "i-bp1released0000001"


def test_instance_status_pages_and_limits(backend: VpcBackend, ecs_client: EcsClient) -> None:
    for n in range(7):
        backend.add_instance(f"i-{n:020d}", REGION, "vsw-1")
    ids = [f"i-{n:020d}" for n in range(7)]

    page2 = statuses(ecs_client, ids, page_number=2, page_size=5)
    assert page2.total_count == 7
    assert [s.instance_id for s in page2.instance_statuses.instance_status] == ids[5:]

    with pytest.raises(ClientException) as too_big:
        statuses(ecs_client, ids, page_size=51)
    assert (too_big.value.code, too_big.value.status_code) == ("InvalidParameter.PageSize", 400)
    with pytest.raises(ClientException) as too_many:
        statuses(ecs_client, [f"i-{n}" for n in range(101)])
    assert too_many.value.code == "InvalidParameter.InstanceIds"


def test_reboot_goes_stopping_starting_running(
    server: EmulatorServer, backend: VpcBackend, clock: Clock, ecs_client: EcsClient
) -> None:
    # GIVEN the pair WHEN the master reboots (2 s stopping, 3 s starting)
    backend.seed(two_node_pair())
    server.reboot_instance(MASTER, stopping=2.0, starting=3.0)

    def now() -> Any:
        return {s.instance_id: s.status for s in statuses(ecs_client, [MASTER]).instance_statuses.instance_status}[
            MASTER
        ]

    # THEN ECS shows each phase in turn
    assert now() == "Stopping"
    clock.now += 2.0
    assert now() == "Starting"
    clock.now += 2.9
    assert now() == "Starting"
    clock.now += 0.1
    assert now() == "Running"
    # AND the HAVIP never moved (a reboot is not a release)
    assert backend.get_havip(HAVIP)["MasterInstanceId"] == MASTER


def test_deleting_the_master_disassociates_it_and_the_standby_becomes_master(
    server: EmulatorServer, backend: VpcBackend, ecs_client: EcsClient
) -> None:
    # GIVEN the pair WHEN the master is released
    backend.seed(two_node_pair())
    assert server.delete_instance(MASTER) == [HAVIP]

    # THEN ECS no longer lists it
    body = statuses(ecs_client, [MASTER, STANDBY])
    assert [s.instance_id for s in body.instance_statuses.instance_status] == [STANDBY]
    # AND the platform took it out of the HAVIP, the standby now the master
    havip = backend.get_havip(HAVIP)
    assert havip["AssociatedInstances"]["associatedInstance"] == [STANDBY]
    assert (havip["MasterInstanceId"], havip["Status"]) == (STANDBY, "InUse")
    assert backend.transitions[-1][1:3] == (MASTER, "released")


def test_admin_api_controls_ecs_state(server: EmulatorServer, backend: VpcBackend, clock: Clock) -> None:
    backend.seed(two_node_pair())
    assert admin(server, "POST", f"instances/{STANDBY}", {"status": "Stopped"})["status"] == "Stopped"
    assert admin(server, "POST", f"instances/{STANDBY}/reboot", {"stopping": 1, "starting": 1})["status"] == "Stopping"
    clock.now += 2
    assert backend.get_instance(STANDBY)["status"] == "Running"
    assert admin(server, "DELETE", f"instances/{STANDBY}") == {"released_from": [HAVIP]}
    assert backend.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"] == [MASTER]


def eni_pair() -> dict[str, Any]:
    return {
        "regions": {
            REGION: {
                "instances": [
                    {"id": "i-a", "vswitch": "vsw-1", "status": "Running"},
                    {"id": "i-b", "vswitch": "vsw-1", "status": "Running"},
                    {"id": "eni-a", "vswitch": "vsw-1", "status": "InUse", "instance": "i-a"},
                    {"id": "eni-b", "vswitch": "vsw-1", "status": "InUse", "instance": "i-b"},
                ],
                "havips": [{"id": "havip-eni", "vswitch": "vsw-1", "instances": ["eni-a", "eni-b"], "master": "eni-a"}],
            }
        }
    }


def test_network_interfaces_show_their_instance_and_follow_releases(
    server: EmulatorServer, backend: VpcBackend, ecs_client: EcsClient
) -> None:
    # GIVEN two ENIs on two instances, both in one HAVIP
    backend.seed(eni_pair())
    body = enis(ecs_client, ["eni-a", "eni-b", "eni-gone"])
    assert body.total_count == 2
    assert {e.network_interface_id: e.instance_id for e in body.network_interface_sets.network_interface_set} == {
        "eni-a": "i-a",
        "eni-b": "i-b",
    }

    # WHEN instance i-b is released THEN its ENI is detached (still there, not in use)
    server.delete_instance("i-b")
    (eni_b,) = enis(ecs_client, ["eni-b"]).network_interface_sets.network_interface_set
    assert (eni_b.instance_id, eni_b.status) == ("", "Available")
    # WHEN ENI eni-a (the master) is released THEN the HAVIP drops it by itself
    assert server.delete_instance("eni-a") == ["havip-eni"]
    havip = backend.get_havip("havip-eni")
    assert (havip["AssociatedInstances"]["associatedInstance"], havip["MasterInstanceId"]) == (["eni-b"], "eni-b")
    # AND snapshot/seed keep the attachment
    assert {"id": "eni-b", "vswitch": "vsw-1", "status": "Available", "instance": None} in backend.snapshot()[
        "regions"
    ][REGION]["instances"]


def test_deleting_a_node_mid_unassociation_settles_the_havip(server: EmulatorServer, backend: VpcBackend) -> None:
    # GIVEN the standby being disassociated WHEN it is released meanwhile
    backend.seed(two_node_pair())
    backend.unassociate_ha_vip("r-1", region_id=REGION, ha_vip_id=HAVIP, instance_id=STANDBY)
    assert backend.get_havip(HAVIP)["Status"] == "Unassociating"
    server.delete_instance(STANDBY)
    # THEN the HAVIP is InUse with the master alone, nothing left pending
    havip = backend.get_havip(HAVIP)
    assert (havip["Status"], havip["AssociatedInstances"]["associatedInstance"]) == ("InUse", [MASTER])
    assert backend.snapshot()["regions"][REGION]["havips"][0].get("pending") is None


def test_the_journal_records_ecs_actions(server: EmulatorServer, ecs_client: EcsClient) -> None:
    statuses(ecs_client, [])
    enis(ecs_client, [])
    assert [(e.action, e.status) for e in server.journal] == [
        ("DescribeInstanceStatus", 200),
        ("DescribeNetworkInterfaces", 200),
    ]
    assert [e["action"] for e in admin(server, "GET", "journal")] == [e.action for e in server.journal]


def test_releasing_one_node_leaves_the_other_nodes_operation_running(
    server: EmulatorServer, backend: VpcBackend, clock: Clock
) -> None:
    # GIVEN the standby being disassociated (1 s) WHEN the master is released meanwhile
    backend.seed(two_node_pair())
    backend.unassociate_ha_vip("r-1", region_id=REGION, ha_vip_id=HAVIP, instance_id=STANDBY)
    server.delete_instance(MASTER)
    # THEN the master is gone at once, the standby's disassociation still runs, then completes
    havip = backend.get_havip(HAVIP)
    assert (havip["Status"], havip["AssociatedInstances"]["associatedInstance"]) == ("Unassociating", [STANDBY])
    clock.now += 1
    havip = backend.get_havip(HAVIP)
    assert (havip["Status"], havip["AssociatedInstances"]["associatedInstance"]) == ("Available", [])
