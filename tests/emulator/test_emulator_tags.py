"""HAVIP tags through the real VPC SDK: TagResources / UnTagResources / ListTagResources,
their limits and error codes, and DescribeHaVips' Tags in answers and as a filter."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vpc20160428 import models
from alibabacloud_vpc20160428.client import Client
from darabonba.runtime import RuntimeOptions

from vpc_emulator import EmulatorServer, VpcBackend, two_node_pair

from .conftest import REGION

HAVIP = "havip-bp1pair0000000001"


def tag(client: Client, tags: dict[str, str], ids: list[str] | None = None, resource_type: str = "HAVIP") -> str:
    request = models.TagResourcesRequest(
        region_id=REGION,
        resource_type=resource_type,
        resource_id=ids or [HAVIP],
        tag=[models.TagResourcesRequestTag(key=k, value=v) for k, v in tags.items()],
    )
    return str(client.tag_resources_with_options(request, RuntimeOptions()).body.request_id)


def untag(client: Client, keys: list[str] | None = None, all_tags: bool | None = None) -> None:
    request = models.UnTagResourcesRequest(
        region_id=REGION, resource_type="HAVIP", resource_id=[HAVIP], tag_key=keys, all=all_tags
    )
    client.un_tag_resources_with_options(request, RuntimeOptions())


def described_tags(client: Client, **filter_tags: str) -> dict[str, list[tuple[str, str]]]:
    request = models.DescribeHaVipsRequest(
        region_id=REGION,
        tags=[models.DescribeHaVipsRequestTags(key=k, value=v) for k, v in filter_tags.items()] or None,
    )
    body = client.describe_ha_vips_with_options(request, RuntimeOptions()).body
    return {h.ha_vip_id: [(t.key, t.value) for t in h.tags.tag] for h in body.ha_vips.ha_vip}


def code_of(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientException) as info:
        call()
    return str(info.value.code), int(info.value.status_code)


@pytest.fixture
def seeded(backend: VpcBackend) -> VpcBackend:
    backend.seed(two_node_pair())
    backend.create_havip(REGION, "vpc-1", "vsw-1", "10.0.0.9", "havip-other0000000000001")
    return backend


def test_tags_show_in_describe_in_order_and_overwrite(seeded: VpcBackend, client: Client) -> None:
    # WHEN two tags are added, then one overwritten and a third added
    assert tag(client, {"havip-failover:state": "failing-over", "owner": "ops"})
    tag(client, {"havip-failover:state": "done", "empty": ""})

    # THEN DescribeHaVips shows them in the order first added, the value replaced in place
    assert described_tags(client)[HAVIP] == [("havip-failover:state", "done"), ("owner", "ops"), ("empty", "")]
    assert described_tags(client)["havip-other0000000000001"] == []


def test_describe_filters_by_tags(seeded: VpcBackend, client: Client) -> None:
    tag(client, {"env": "prod", "app": "db"})
    tag(client, {"env": "prod"}, ids=["havip-other0000000000001"])

    assert set(described_tags(client, env="prod")) == {HAVIP, "havip-other0000000000001"}
    assert set(described_tags(client, env="prod", app="db")) == {HAVIP}  # every pair must match
    assert described_tags(client, env="test") == {}


def test_untag_keys_and_all(seeded: VpcBackend, client: Client) -> None:
    tag(client, {"a": "1", "b": "2", "c": "3"})
    untag(client, ["b", "never-there"])  # an unknown key is no error
    assert described_tags(client)[HAVIP] == [("a", "1"), ("c", "3")]
    untag(client, all_tags=True)
    assert described_tags(client)[HAVIP] == []


def test_list_tag_resources(seeded: VpcBackend, client: Client) -> None:
    tag(client, {"a": "1", "b": "2"})
    request = models.ListTagResourcesRequest(region_id=REGION, resource_type="HAVIP", resource_id=[HAVIP])
    body = client.list_tag_resources_with_options(request, RuntimeOptions()).body
    rows = [(r.resource_id, r.resource_type, r.tag_key, r.tag_value) for r in body.tag_resources.tag_resource]
    assert rows == [(HAVIP, "HAVIP", "a", "1"), (HAVIP, "HAVIP", "b", "2")]

    by_tag = models.ListTagResourcesRequest(
        region_id=REGION, resource_type="HAVIP", tag=[models.ListTagResourcesRequestTag(key="b", value="2")]
    )
    assert {
        r.resource_id
        for r in client.list_tag_resources_with_options(by_tag, RuntimeOptions()).body.tag_resources.tag_resource
    } == {HAVIP}
    neither = models.ListTagResourcesRequest(region_id=REGION, resource_type="HAVIP")
    assert code_of(lambda: client.list_tag_resources_with_options(neither, RuntimeOptions())) == (
        "BothEmpty.TagsAndResources",
        403,
    )


def test_tag_limits_and_error_codes(seeded: VpcBackend, client: Client) -> None:
    # more than 20 in one request
    assert code_of(lambda: tag(client, {f"k{n}": "v" for n in range(21)})) == ("SizeLimitExceeded.TagNum", 400)
    # 15 on the HAVIP + 6 new > 20
    tag(client, {f"k{n}": "v" for n in range(15)})
    assert code_of(lambda: tag(client, {f"n{n}": "v" for n in range(6)})) == ("QuotaExceeded.TagNum", 400)
    tag(client, {f"n{n}": "v" for n in range(5)})  # exactly 20 is fine
    tag(client, {"k0": "overwritten"})  # and overwriting one of them still is
    # keys and values
    for bad_key in ("aliyun-x", "acs:x", "Aliyunx", "k" * 129, "see http://x"):
        assert code_of(lambda k=bad_key: tag(client, {k: "v"})) == ("InvalidTagKey", 400)
    assert code_of(lambda: tag(client, {"k0": "v" * 129})) == ("InvalidTagValue", 400)
    tag(client, {"k0": "v" * 128})
    # resource type and resources
    assert code_of(lambda: tag(client, {"a": "b"}, resource_type="VPC")) == ("InvalidInstanceType.NotFound", 400)
    tag(client, {"k1": "x"}, resource_type="havip")  # case-insensitive
    assert code_of(lambda: tag(client, {"a": "b"}, ids=["havip-nope0000000000000001"])) == (
        "InvalidInstanceIds.NotFound",
        400,
    )
    # nothing was half-applied by the failed calls
    assert len(described_tags(client)[HAVIP]) == 20


def test_duplicate_keys_in_one_request(server: EmulatorServer, seeded: VpcBackend) -> None:
    with pytest.raises(Exception) as info:
        seeded.tag_resources(REGION, "HAVIP", [HAVIP], [("a", "1"), ("a", "2")])
    assert getattr(info.value, "code", None) == "Forbidden.TagKey.Duplicated"


def test_tags_in_seed_snapshot_and_journal(server: EmulatorServer, seeded: VpcBackend, client: Client) -> None:
    seeded.set_tags(HAVIP, {"z": "1", "a": "2"})
    snap = seeded.snapshot()
    assert snap["regions"][REGION]["havips"][0]["tags"] == {"z": "1", "a": "2"}
    fresh = VpcBackend()
    fresh.seed(snap)
    assert fresh.get_havip(HAVIP)["Tags"] == {"Tag": [{"Key": "z", "Value": "1"}, {"Key": "a", "Value": "2"}]}
    untag(client, ["z"])
    assert [e.action for e in server.journal] == ["UnTagResources"]
    assert server.journal[0].params["TagKey.1"] == "z"
