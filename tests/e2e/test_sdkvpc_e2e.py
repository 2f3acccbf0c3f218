"""SdkVpc's calls against the emulator over real HTTP: tags, AssociateHaVip, and the ECS
look-ups (chunked and paged), with the emulator's journal as the witness."""

from __future__ import annotations

import time

import pytest

from havip_failover.vpc import Credentials, SdkVpc, VpcError
from vpc_emulator import EmulatorServer

from .conftest import AK, SECRET

pytestmark = pytest.mark.e2e

REGION = "cn-hangzhou"
HAVIP = "havip-bp1pair0000000001"
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"


@pytest.fixture
def vpc(emulator: EmulatorServer) -> SdkVpc:
    return SdkVpc(Credentials(AK, SECRET), endpoint=emulator.endpoint, ecs_endpoint=emulator.endpoint, protocol="http")


def wait_status(vpc: SdkVpc, status: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while vpc.describe_ha_vips(REGION, ha_vip_ids=[HAVIP]).havips[0].status != status:
        assert time.monotonic() < deadline, f"HAVIP never became {status}"
        time.sleep(0.05)


def test_tags_round_trip_and_filter(vpc: SdkVpc, emulator: EmulatorServer) -> None:
    # WHEN tagged
    assert vpc.tag_resources(REGION, HAVIP, {"havip-failover:state": "failing-over", "havip-failover:event": "ev-1"})
    # THEN DescribeHaVips carries the tags in order, and filters on them
    (havip,) = vpc.describe_ha_vips(REGION).havips
    assert havip.tags == (("havip-failover:state", "failing-over"), ("havip-failover:event", "ev-1"))
    assert [h.ha_vip_id for h in vpc.describe_ha_vips(REGION, tags=[("havip-failover:event", "ev-1")]).havips] == [
        HAVIP
    ]
    assert vpc.describe_ha_vips(REGION, tags=[("havip-failover:event", "ev-2")]).havips == []
    # WHEN one key is removed THEN the other stays
    assert vpc.untag_resources(REGION, HAVIP, ["havip-failover:state"])
    assert vpc.describe_ha_vips(REGION, ha_vip_ids=[HAVIP]).havips[0].tags == (("havip-failover:event", "ev-1"),)
    assert [e.action for e in emulator.journal if e.action.endswith("TagResources")] == [
        "TagResources",
        "UnTagResources",
    ]


def test_tag_quota_is_a_permanent_error(vpc: SdkVpc, emulator: EmulatorServer) -> None:
    emulator.backend.set_tags(HAVIP, {f"k{n}": "v" for n in range(20)})
    with pytest.raises(VpcError) as info:
        vpc.tag_resources(REGION, HAVIP, {"one-more": "v"})
    assert (info.value.code, info.value.kind, info.value.http_status) == ("QuotaExceeded.TagNum", "permanent", 400)


def test_associate_goes_associating_then_in_use(vpc: SdkVpc, emulator: EmulatorServer) -> None:
    # GIVEN the standby taken out
    vpc.unassociate_ha_vip(REGION, HAVIP, STANDBY, force=False, instance_type="EcsInstance", client_token="tok-un-1")
    wait_status(vpc, "InUse")
    # WHEN associated again
    request_id = vpc.associate_ha_vip(REGION, HAVIP, STANDBY, instance_type="EcsInstance", client_token="tok-as-1")
    # THEN Associating, then InUse with both, the master unchanged
    assert request_id
    assert vpc.describe_ha_vips(REGION, ha_vip_ids=[HAVIP]).havips[0].status == "Associating"
    wait_status(vpc, "InUse")
    havip = vpc.describe_ha_vips(REGION, ha_vip_ids=[HAVIP]).havips[0]
    assert (havip.associated_instances, havip.master_instance_id) == ((MASTER, STANDBY), MASTER)
    # AND a replay of the same ClientToken is the same request
    assert vpc.associate_ha_vip(REGION, HAVIP, STANDBY, instance_type="EcsInstance", client_token="tok-as-1") == (
        request_id
    )


def test_instance_status_chunks_and_pages_against_ecs(vpc: SdkVpc, emulator: EmulatorServer) -> None:
    # GIVEN 130 more instances, one of them stopped, one released
    extra = [f"i-bp1many{n:011d}" for n in range(130)]
    for instance_id in extra:
        emulator.backend.add_instance(instance_id, REGION, "vsw-bp1pair000000000001")
    emulator.set_instance_status(extra[7], "Stopped")
    emulator.delete_instance(extra[8])

    # WHEN all are asked for
    found = vpc.describe_instance_status(REGION, [MASTER, STANDBY, *extra])

    # THEN every existing one, the released one absent
    assert len(found) == 131
    assert (found[MASTER], found[extra[7]]) == ("Running", "Stopped")
    assert extra[8] not in found
    # AND ECS saw chunks of at most 100 ids and pages of 50
    calls = emulator.calls("DescribeInstanceStatus")
    assert {c.params["PageSize"] for c in calls} == {"50"}
    assert [sum(k.startswith("InstanceId.") for k in c.params) for c in calls] == [
        100,
        100,
        32,
    ]  # 99 known in the first chunk: two pages


def test_released_master_is_gone_from_ecs_and_the_havip(vpc: SdkVpc, emulator: EmulatorServer) -> None:
    emulator.delete_instance(MASTER)
    assert vpc.describe_instance_status(REGION, [MASTER, STANDBY]) == {STANDBY: "Running"}
    havip = vpc.describe_ha_vips(REGION, ha_vip_ids=[HAVIP]).havips[0]
    assert (havip.associated_instances, havip.master_instance_id) == ((STANDBY,), STANDBY)


def test_network_interfaces(vpc: SdkVpc, emulator: EmulatorServer) -> None:
    emulator.backend.add_instance("eni-bp1a0000000000001", REGION, "vsw-1", attached_to=MASTER)
    emulator.backend.add_instance("eni-bp1b0000000000001", REGION, "vsw-1", status="Available")
    assert vpc.describe_network_interfaces(REGION, ["eni-bp1a0000000000001", "eni-bp1b0000000000001", "eni-x"]) == {
        "eni-bp1a0000000000001": MASTER,
        "eni-bp1b0000000000001": None,
    }


def test_ram_denial_on_ecs_is_auth(vpc: SdkVpc, emulator: EmulatorServer) -> None:
    emulator.deny("DescribeInstanceStatus", access_key_id=AK)
    with pytest.raises(VpcError) as info:
        vpc.describe_instance_status(REGION, [MASTER])
    assert (info.value.code, info.value.kind, info.value.http_status) == ("Forbidden.RAM", "auth", 403)
    assert "not authorized" in info.value.message
    assert vpc.describe_ha_vips(REGION).total_count == 1  # only that action is denied


def test_a_lagged_describe_is_seen_by_the_adapter(vpc: SdkVpc, emulator: EmulatorServer) -> None:
    emulator.set_describe_lag(30)
    vpc.tag_resources(REGION, HAVIP, {"k": "v"})
    assert vpc.describe_ha_vips(REGION).havips[0].tags == ()  # the HAVIP as it was (untagged)
    emulator.clear_faults()
    assert vpc.describe_ha_vips(REGION).havips[0].tags == (("k", "v"),)


def test_list_tag_resources_reads_the_havips_tags(vpc: SdkVpc, emulator: EmulatorServer) -> None:
    assert vpc.list_tag_resources(REGION, HAVIP) == {}
    vpc.tag_resources(REGION, HAVIP, {"b": "2", "a": "1"})
    assert vpc.list_tag_resources(REGION, HAVIP) == {"b": "2", "a": "1"}
    # ListTagResources is not a describe: a describe lag does not touch it
    emulator.set_describe_lag(30)
    vpc.untag_resources(REGION, HAVIP, ["b"])
    assert vpc.list_tag_resources(REGION, HAVIP) == {"a": "1"}
    assert vpc.describe_ha_vips(REGION).havips[0].tags == ()  # seeded untagged: the lagged view
