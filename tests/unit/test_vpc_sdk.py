"""The SDK adapter sends exactly what the generated alibabacloud-vpc20160428 client sends,
and turns every SDK error into the project's own terms."""

from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_vpc20160428 import models
from alibabacloud_vpc20160428.client import Client as GeneratedClient
from darabonba.exceptions import RetryError, UnretryableException
from darabonba.policy.retry import RetryPolicyContext
from darabonba.runtime import RuntimeOptions

from havip_failover.vpc import ENDPOINT_MAP, Credentials, SdkVpc, classify, default_endpoint, translate


class Captured:
    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def __call__(self, params: Any, request: Any, runtime: Any) -> dict[str, Any]:
        self.calls.append((params.to_map(), dict(request.query)))
        return {
            "body": {"RequestId": "r-1", "HaVips": {"HaVip": []}, "TotalCount": 0},
            "headers": {},
            "statusCode": 200,
        }


def generated(region: str = "cn-shanghai") -> tuple[GeneratedClient, Captured]:
    client = GeneratedClient(Config(access_key_id="ak", access_key_secret="sk", region_id=region))
    captured = Captured()
    client.call_api = captured
    return client, captured


def ours(region: str = "cn-shanghai") -> tuple[SdkVpc, Captured]:
    vpc = SdkVpc(Credentials("ak", "sk"))
    captured = Captured()
    vpc._client(region).call_api = captured
    return vpc, captured


def test_unassociate_matches_the_generated_client() -> None:
    client, theirs = generated()
    client.unassociate_ha_vip_with_options(
        models.UnassociateHaVipRequest(
            region_id="cn-shanghai",
            ha_vip_id="havip-1",
            instance_id="i-1",
            force=True,
            instance_type="EcsInstance",
            client_token="tok",
        ),
        RuntimeOptions(),
    )
    vpc, mine = ours()
    vpc.unassociate_ha_vip("cn-shanghai", "havip-1", "i-1", force=True, instance_type="EcsInstance", client_token="tok")
    assert mine.calls == theirs.calls
    assert mine.calls[0][1]["Force"] == "True"


def test_describe_with_filter_and_pages_matches_the_generated_client() -> None:
    client, theirs = generated()
    client.describe_ha_vips_with_options(
        models.DescribeHaVipsRequest(
            region_id="cn-shanghai",
            page_number=3,
            page_size=50,
            filter=[models.DescribeHaVipsRequestFilter(key="HaVipId", value=["havip-1", "havip-2"])],
        ),
        RuntimeOptions(),
    )
    vpc, mine = ours()
    vpc.describe_ha_vips("cn-shanghai", ha_vip_ids=("havip-1", "havip-2"), page_number=3, page_size=50)
    assert mine.calls == theirs.calls
    assert mine.calls[0][1]["Filter.1.Value.2"] == "havip-2"


def test_endpoint_map_and_rule_match_the_generated_client() -> None:
    client, _ = generated()
    assert client._endpoint_map == ENDPOINT_MAP
    for region in ("cn-hangzhou", "cn-shanghai", "ap-southeast-1", "cn-zhangjiakou-na62-a01"):
        assert generated(region)[0]._endpoint == default_endpoint(region)


@pytest.mark.parametrize(
    ("exc", "code", "kind", "status"),
    [
        (
            ClientException(code="Forbidden.UnassociateMaster", message="m", status_code=400, data={"RequestId": "r"}),
            "Forbidden.UnassociateMaster",
            "permanent",
            400,
        ),
        (ClientException(code="Throttling.User", message="m", status_code=400), "Throttling.User", "transient", 400),
        (
            ThrottlingException(code="Throttling", message="m", status_code=400, retry_after=1),
            "Throttling",
            "transient",
            400,
        ),
        (ServerException(code="InternalError", message="m", status_code=500), "InternalError", "transient", 500),
        (ServerException(code="Weird", message="m", status_code=502), "Weird", "transient", 502),
        (
            ClientException(code="SignatureDoesNotMatch", message="m", status_code=400),
            "SignatureDoesNotMatch",
            "auth",
            400,
        ),
        (
            ClientException(code="InvalidAccessKeyId.NotFound", message="m", status_code=404),
            "InvalidAccessKeyId.NotFound",
            "auth",
            404,
        ),
        (
            ClientException(code="InvalidHaVipId.NotFound", message="m", status_code=404),
            "InvalidHaVipId.NotFound",
            "permanent",
            404,
        ),
    ],
)
def test_api_errors_are_classified(exc: Exception, code: str, kind: str, status: int) -> None:
    err = translate(exc)
    assert (err.code, err.kind, err.http_status) == (code, kind, status)


def test_request_id_and_the_apis_own_message_are_kept() -> None:
    exc = ClientException(
        code="ResourceNotAssociated",
        message="code: 400, The HaVip is not associated request id: r-9",
        status_code=400,
        data={"RequestId": "r-9", "Message": "The HaVip is not associated"},
    )
    err = translate(exc)
    assert (err.request_id, err.message) == ("r-9", "The HaVip is not associated")


def test_network_errors_and_timeouts_are_transient() -> None:
    dropped = UnretryableException(RetryPolicyContext(exception=RetryError("Connection aborted")))
    timeout = UnretryableException(RetryPolicyContext(exception=RetryError("Read timed out. (read timeout=0.5)")))
    assert (translate(dropped).code, translate(dropped).kind) == ("NetworkError", "transient")
    assert (translate(timeout).code, translate(timeout).kind) == ("Timeout", "transient")


def test_classify_by_status_when_the_code_is_unknown() -> None:
    assert classify("Whatever", 503) == "transient"
    assert classify("Whatever", 400) == "permanent"
    assert classify("Throttling.Something", 400) == "transient"
