"""Stale describes (the describe-lag fault), RAM denials and AssociateHaVip's asynchrony,
through the real SDKs over HTTP."""

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

from vpc_emulator import EmulatorServer, Fault, VpcBackend, two_node_pair

from .conftest import AK, REGION, SECRET, STS_AK, STS_SECRET, STS_TOKEN, ClientFactory, Clock, Vpc

HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
DENIED = "User not authorized to operate on the specified resource, or this API doesn't support RAM."


@pytest.fixture
def backend(clock: Clock) -> VpcBackend:
    b = VpcBackend(unassociate_delay=1.0, associate_delay=2.0, clock=clock)
    b.seed(two_node_pair())
    b.unassociate_delay = 1.0
    return b


@pytest.fixture
def ecs_client(server: EmulatorServer) -> EcsClient:
    return EcsClient(
        Config(access_key_id=AK, access_key_secret=SECRET, endpoint=server.endpoint, protocol="http", region_id=REGION)
    )


def ecs_status(client: EcsClient, instance_id: str) -> str | None:
    request = ecs.DescribeInstanceStatusRequest(region_id=REGION, instance_id=[instance_id])
    rows = client.describe_instance_status_with_options(request, RuntimeOptions()).body.instance_statuses
    return {s.instance_id: s.status for s in rows.instance_status}.get(instance_id)


def post(server: EmulatorServer, route: str, body: Any) -> Any:
    req = urllib.request.Request(  # noqa: S310 - the local emulator
        f"{server.url}/_emulator/{route}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - local emulator
        return json.loads(resp.read())


def members(vpc: Vpc) -> tuple[str, list[str], str]:
    (h,) = vpc.describe().ha_vips.ha_vip
    return h.status, list(h.associated_instances.associated_instance), h.master_instance_id


# ---------------------------------------------------------------------- describe lag


def test_describe_lag_answers_from_n_seconds_ago(server: EmulatorServer, clock: Clock, vpc: Vpc) -> None:
    # GIVEN DescribeHaVips lagging 5 s (set through the fault API, as a test or the demo would)
    post(server, "faults", {"action": "DescribeHaVips", "lag": 5, "times": -1})
    # WHEN the standby is disassociated and has completed 2 s later
    clock.now += 10
    vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)
    clock.now += 2

    # THEN the describe still shows the pair as it was 5 s ago
    assert members(vpc) == ("InUse", [MASTER, STANDBY], MASTER)
    # AND 3.5 s later it shows Unassociating (the state between 5 s ago = t+0.5 .. t+1)
    clock.now += 3.5
    assert members(vpc)[0] == "Unassociating"
    # AND once 5 s have passed since completion, the truth
    clock.now += 1
    assert members(vpc) == ("InUse", [MASTER], MASTER)
    # AND the backend itself was never stale
    assert server.backend.get_havip(HAVIP)["AssociatedInstances"]["associatedInstance"] == [MASTER]


def test_lag_is_per_action_and_combines_with_errors(
    server: EmulatorServer, backend: VpcBackend, clock: Clock, vpc: Vpc, ecs_client: EcsClient
) -> None:
    # GIVEN a lag on DescribeInstanceStatus only, and one throttling on it too
    server.set_describe_lag(30, action="DescribeInstanceStatus")
    server.inject(Fault(action="DescribeInstanceStatus", code="Throttling.User"))
    clock.now += 60
    server.set_instance_status(MASTER, "Stopped")
    server.delete_instance(STANDBY)

    # WHEN ECS is asked THEN first the throttling, then the 30 s old truth (both still Running)
    with pytest.raises(ClientException):
        ecs_status(ecs_client, MASTER)
    assert ecs_status(ecs_client, MASTER) == "Running"
    assert ecs_status(ecs_client, STANDBY) == "Running"
    # AND DescribeHaVips is not lagged: the platform's disassociation shows at once
    assert members(vpc) == ("InUse", [MASTER], MASTER)
    # AND a HAVIP created after the lag window is not yet visible to a lagged describe
    server.set_describe_lag(30)
    backend.create_havip(REGION, "vpc-1", "vsw-1", "10.0.0.1", "havip-new00000000000000001")
    assert [h.ha_vip_id for h in vpc.describe().ha_vips.ha_vip] == [HAVIP]


def test_lag_fault_validation() -> None:
    with pytest.raises(ValueError, match="code=None"):
        Fault(action="DescribeHaVips", lag=5)  # code defaults to a throttling
    with pytest.raises(ValueError, match="lag applies"):
        Fault(action="UnassociateHaVip", code=None, lag=5)
    assert Fault.from_dict({"lag": 2}).code is None


# ---------------------------------------------------------------------- RAM


def test_ram_denial_is_the_gateways_403(server: EmulatorServer, vpc: Vpc) -> None:
    # GIVEN UnassociateHaVip denied to every key
    server.deny("UnassociateHaVip")

    # WHEN called THEN 403 Forbidden.RAM with the real message and AccessDeniedDetail
    with pytest.raises(ClientException) as info:
        vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)
    assert (info.value.code, info.value.status_code) == ("Forbidden.RAM", 403)
    data = info.value.data
    assert data["Message"] == DENIED
    detail = data["AccessDeniedDetail"]
    assert (detail["AuthAction"], detail["NoPermissionType"], detail["AuthPrincipalType"]) == (
        "vpc:UnassociateHaVip",
        "ImplicitDeny",
        "SubUser",
    )
    assert detail["EncodedDiagnosticMessage"]
    # AND other actions are allowed, nothing changed
    assert members(vpc)[1] == [MASTER, STANDBY]
    assert server.journal[0].code == "Forbidden.RAM"


def test_ram_denial_per_access_key(server: EmulatorServer, make_client: ClientFactory) -> None:
    # GIVEN DescribeHaVips denied to the STS key only (admin API)
    assert post(server, "ram", {"deny": ["DescribeHaVips"], "access_key_id": STS_AK}) == {STS_AK: ["DescribeHaVips"]}
    sts = Vpc(make_client(STS_AK, STS_SECRET, security_token=STS_TOKEN))
    with pytest.raises(ClientException) as info:
        sts.describe()
    assert info.value.data["AccessDeniedDetail"]["AuthPrincipalType"] == "AssumedRoleUser"
    # AND the other key is unaffected
    assert Vpc(make_client()).describe().total_count == 1
    # WHEN allowed again THEN it works
    post(server, "ram", {"allow": None, "access_key_id": STS_AK})
    assert sts.describe().total_count == 1


def test_ram_denial_as_a_fault_on_ecs(server: EmulatorServer, ecs_client: EcsClient) -> None:
    post(server, "faults", {"action": "DescribeInstanceStatus", "code": "Forbidden.RAM", "times": 1})
    with pytest.raises(ClientException) as info:
        ecs_status(ecs_client, MASTER)
    assert (info.value.code, info.value.status_code) == ("Forbidden.RAM", 403)
    assert info.value.data["AccessDeniedDetail"]["AuthAction"] == "ecs:DescribeInstanceStatus"
    assert ecs_status(ecs_client, MASTER) == "Running"


# ---------------------------------------------------------------------- AssociateHaVip


def test_associate_is_asynchronous_and_the_new_node_is_not_master(
    server: EmulatorServer, backend: VpcBackend, clock: Clock, vpc: Vpc
) -> None:
    # GIVEN the standby taken out
    vpc.unassociate(ha_vip_id=HAVIP, instance_id=STANDBY)
    clock.now += 1
    # WHEN it is associated again (associate_delay 2 s)
    vpc.associate(ha_vip_id=HAVIP, instance_id=STANDBY, instance_type="EcsInstance")
    # THEN Associating until the delay has passed, then InUse, the master unchanged
    assert members(vpc)[0] == "Associating"
    clock.now += 1.9
    assert members(vpc)[0] == "Associating"
    clock.now += 0.1
    assert members(vpc) == ("InUse", [MASTER, STANDBY], MASTER)


def test_associate_limit_per_instance(server: EmulatorServer, backend: VpcBackend, clock: Clock, vpc: Vpc) -> None:
    # GIVEN instances may hold one HAVIP each, and a second HAVIP in the pair's vSwitch
    backend.max_havips_per_instance = 1
    second = backend.create_havip(REGION, "vpc-bp1pair000000000001", "vsw-bp1pair000000000001", "192.168.1.101")
    # WHEN the master (already in the first) is associated with it THEN the limit error
    with pytest.raises(ClientException) as info:
        vpc.associate(ha_vip_id=second, instance_id=MASTER, instance_type="EcsInstance")
    assert (info.value.code, info.value.status_code) == ("CountLimitExceed.HaVipOnInstance", 400)
