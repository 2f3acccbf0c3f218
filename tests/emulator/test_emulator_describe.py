"""DescribeHaVips through the real SDK: filters, pagination, the response model, errors."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException

from vpc_emulator import VpcBackend, two_node_pair

REGION = "cn-hangzhou"


def test_pair_parses_into_the_sdk_model(backend: VpcBackend, vpc: Any) -> None:
    # GIVEN the built-in two-node pair
    backend.seed(two_node_pair())

    # WHEN it is described through the SDK
    body = vpc.describe()

    # THEN the SDK model carries every field, inner lowercase lists included
    assert body.total_count == 1
    assert body.page_number == 1 and body.page_size == 10
    assert body.request_id
    havip = body.ha_vips.ha_vip[0]
    assert havip.ha_vip_id == "havip-bp1pair0000000001"
    assert havip.region_id == REGION
    assert havip.status == "InUse"
    assert havip.ip_address == "192.168.1.100"
    assert havip.master_instance_id == "i-bp1master000000001"
    assert havip.associated_instance_type == "EcsInstance"
    assert havip.associated_instances.associated_instance == [
        "i-bp1master000000001",
        "i-bp1standby00000001",
    ]
    assert havip.associated_eip_addresses.associated_eip_addresse == []
    assert havip.vpc_id.startswith("vpc-") and havip.v_switch_id.startswith("vsw-")
    assert havip.charge_type == "PostPaid" and havip.create_time
    assert havip.tags.tag == []
    # and it is the same dict the backend helper returns
    assert backend.get_havip("havip-bp1pair0000000001")["MasterInstanceId"] == ("i-bp1master000000001")


def test_pagination_over_120_havips(backend: VpcBackend, vpc: Any) -> None:
    # GIVEN 120 HAVIPs in the region and one in another region
    ids = [
        backend.create_havip(REGION, "vpc-1", "vsw-1", f"192.168.0.{i}", ha_vip_id=f"havip-p{i:03d}")
        for i in range(120)
    ]
    backend.create_havip("cn-shanghai", "vpc-9", "vsw-9", "10.0.0.1")

    # WHEN every page of 50 is read
    pages = [vpc.describe(page_number=n, page_size=50) for n in (1, 2, 3, 4)]

    # THEN three pages hold all 120 in creation order and the fourth is empty
    assert [len(p.ha_vips.ha_vip) for p in pages] == [50, 50, 20, 0]
    assert all(p.total_count == 120 and p.page_size == 50 for p in pages)
    assert [p.page_number for p in pages] == [1, 2, 3, 4]
    seen = [h.ha_vip_id for p in pages for h in p.ha_vips.ha_vip]
    assert seen == ids
    # AND the default page size is 10
    assert len(vpc.describe().ha_vips.ha_vip) == 10


def test_filters_or_within_a_key_and_across_keys(backend: VpcBackend, vpc: Any) -> None:
    # GIVEN HAVIPs in two vSwitches, one of them in use
    a = backend.create_havip(REGION, "vpc-1", "vsw-a", "192.168.0.1")
    b = backend.create_havip(REGION, "vpc-1", "vsw-a", "192.168.0.2")
    c = backend.create_havip(REGION, "vpc-1", "vsw-b", "192.168.1.3")
    backend.associate_now(b, "i-b1")

    # WHEN / THEN values of one key are ORed
    body = vpc.describe(filters={"HaVipId": [a, c]})
    assert [h.ha_vip_id for h in body.ha_vips.ha_vip] == [a, c]
    # keys are ANDed
    body = vpc.describe(filters={"VSwitchId": ["vsw-a"], "Status": ["Available"]})
    assert [h.ha_vip_id for h in body.ha_vips.ha_vip] == [a]
    # address and VPC filters
    body = vpc.describe(filters={"HaVipAddress": ["192.168.1.3"], "VpcId": ["vpc-1"]})
    assert [h.ha_vip_id for h in body.ha_vips.ha_vip] == [c]
    body = vpc.describe(filters={"Status": ["InUse"]})
    assert [h.ha_vip_id for h in body.ha_vips.ha_vip] == [b]
    assert body.ha_vips.ha_vip[0].associated_instances.associated_instance == ["i-b1"]
    # a filter that matches nothing
    assert vpc.describe(filters={"HaVipId": ["havip-none"]}).total_count == 0


@pytest.mark.parametrize(
    ("fields", "filters", "code"),
    [
        ({"page_size": 51}, None, "InvalidParameter"),
        ({"page_size": 0}, None, "InvalidParameter"),
        ({"page_number": 0}, None, "InvalidParameter"),
        ({}, {"InstanceId": ["i-1"]}, "InvalidFilterKey.ValueNotSupported"),
        ({"region_id": ""}, None, "MissingParameter"),
    ],
)
def test_invalid_describe_requests(
    vpc: Any, fields: dict[str, Any], filters: dict[str, list[str]] | None, code: str
) -> None:
    # GIVEN / WHEN a request the real API rejects
    with pytest.raises(ClientException) as info:
        vpc.describe(filters=filters, **fields)

    # THEN the SDK raises the real code with HTTP 400 and a RequestId
    assert info.value.code == code
    assert info.value.status_code == 400
    assert info.value.data["RequestId"]
    assert {"RequestId", "HostId", "Code", "Message", "Recommend"} <= set(info.value.data)
