"""The VPC, ECS and EventBridge APIs as this function uses them: the calls, timeouts, error
classification.

`SdkVpc` drives the official SDK: alibabacloud-tea-openapi's `call_api`, with exactly the
`Params` and query or body (key order included) that the generated alibabacloud-vpc20160428,
alibabacloud-ecs20140526 and alibabacloud-eventbridge20200401 clients build for each call
(tests/unit/test_vpc_sdk.py proves the requests identical on the wire). A generated client
module imports its ~2,000 model modules eagerly — about 0.8 s and 20 MB of a cold start each,
for a handful of requests; the generic call is how the SDK lets us skip that, and why the ECS
and EventBridge packages are not runtime dependencies.
The SDK is imported on first use, not at module import: a recovery event or a rejected
event never pays for it. Everything above this module sees only `VpcApi`, `HaVipPage`
and `VpcError`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .model import HaVip

ErrorKind = Literal["transient", "permanent", "auth"]

# Retried within the deadline: UnassociateHaVip's documented errors that a wait can clear
# (a status in transition, an ENI look-up that failed, a server error), those the VPC API
# is also seen to answer when busy (throttling, conflicts, locks), and network errors and
# timeouts. Any other code is permanent (classify() below).
TRANSIENT_CODES = frozenset(
    {
        "IncorrectHaVipStatus",
        "IncorrectInstanceStatus",
        "OperationFailed.QueryNetworkInterfaceInfo",
        "InternalError",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "OperationConflict",
        "LastTokenProcessing",
        "SystemBusy",
        "OperationFailed.DistibuteLock",  # sic, as the API spells it
        "UnknownError",
        "NetworkError",
        "Timeout",
        "TooManyRequests",  # EventBridge's throttling (429)
    }
)

# Credentials or permissions: no retry can fix them, and retrying only burns the budget.
AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId.Inactive",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidSecurityToken.Expired",
        "InvalidSecurityToken.Mismatch",
        "InvalidSecurityToken.Malformed",
        "InvalidSecurityToken.MismatchWithAccessKey",
        "InvalidAuthorization",
        "MissingAuthorization",
        "SignatureNonceUsed",
        "Forbidden.RAM",
        "Forbidden.AccessKeyDisabled",
        "Forbidden.NoPermission",
        "Forbidden",
        "NoPermission",
        "InvalidCredentials",
        "NoCredentials",
        # EventBridge's own words for the same (its error code table)
        "AccessDenied",
        "AccessDeniedByPreCheck",
        "InvalidStsAccessKeyId",
        "SecurityTokenInvalid",
        "StsAccessIdExpired",
        "ServiceAccessDenied",
    }
)

API_VERSION = "2016-04-28"
ECS_API_VERSION = "2014-05-26"
EVENTBRIDGE_API_VERSION = "2020-04-01"
Service = Literal["vpc", "ecs", "eventbridge"]
API_VERSIONS: Mapping[Service, str] = {
    "vpc": API_VERSION,
    "ecs": ECS_API_VERSION,
    "eventbridge": EVENTBRIDGE_API_VERSION,
}
# alibabacloud_vpc20160428.client.Client's endpoint map (regions that do not follow
# vpc.<region>.aliyuncs.com); tests/unit/test_vpc_sdk.py keeps it in step with the SDK.
ENDPOINT_MAP = {
    "cn-hangzhou": "vpc.aliyuncs.com",
    "cn-shanghai-finance-1": "vpc.aliyuncs.com",
    "cn-shenzhen-finance-1": "vpc.aliyuncs.com",
    "cn-north-2-gov-1": "vpc.aliyuncs.com",
    "ap-northeast-2-pop": "vpc.aliyuncs.com",
    "cn-beijing-finance-pop": "vpc.aliyuncs.com",
    "cn-beijing-gov-1": "vpc.aliyuncs.com",
    "cn-beijing-nu16-b01": "vpc.aliyuncs.com",
    "cn-edge-1": "vpc-nebula.cn-qingdao-nebula.aliyuncs.com",
    "cn-fujian": "vpc.aliyuncs.com",
    "cn-haidian-cm12-c01": "vpc.aliyuncs.com",
    "cn-hangzhou-bj-b01": "vpc.aliyuncs.com",
    "cn-hangzhou-finance": "vpc.aliyuncs.com",
    "cn-hangzhou-internal-prod-1": "vpc.aliyuncs.com",
    "cn-hangzhou-internal-test-1": "vpc-pre.cn-hangzhou.aliyuncs.com",
    "cn-hangzhou-internal-test-2": "vpc-inner-pre.cn-hangzhou.aliyuncs.com",
    "cn-hangzhou-internal-test-3": "vpc-pre.cn-hangzhou.aliyuncs.com",
    "cn-hangzhou-test-306": "vpc-pre.cn-hangzhou.aliyuncs.com",
    "cn-hongkong-finance-pop": "vpc.aliyuncs.com",
    "cn-huhehaote-nebula-1": "vpc-nebula.cn-qingdao-nebula.aliyuncs.com",
    "cn-qingdao-nebula": "vpc-nebula.cn-qingdao-nebula.aliyuncs.com",
    "cn-shanghai-et15-b01": "vpc-pre.cn-hangzhou.aliyuncs.com",
    "cn-shanghai-et2-b01": "vpc.aliyuncs.com",
    "cn-shanghai-inner": "vpc.aliyuncs.com",
    "cn-shanghai-internal-test-1": "vpc-pre.cn-hangzhou.aliyuncs.com",
    "cn-shenzhen-inner": "vpc.aliyuncs.com",
    "cn-shenzhen-st4-d01": "vpc.aliyuncs.com",
    "cn-shenzhen-su18-b01": "vpc.aliyuncs.com",
    "cn-wuhan": "vpc.aliyuncs.com",
    "cn-yushanfang": "vpc.aliyuncs.com",
    "cn-zhangbei": "vpc.aliyuncs.com",
    "cn-zhangbei-na61-b01": "vpc.aliyuncs.com",
    "cn-zhangjiakou-na62-a01": "vpc.cn-zhangjiakou.aliyuncs.com",
    "cn-zhengzhou-nebula-1": "vpc-nebula.cn-qingdao-nebula.aliyuncs.com",
    "eu-west-1-oxs": "vpc-nebula.cn-shenzhen-cloudstone.aliyuncs.com",
    "rus-west-1-pop": "vpc.aliyuncs.com",
}

# alibabacloud_ecs20140526.client.Client's endpoint map; else ecs.<region>.aliyuncs.com.
ECS_ENDPOINT_MAP = {
    "cn-hangzhou": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-shanghai-finance-1": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-shenzhen-finance-1": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-north-2-gov-1": "ecs.aliyuncs.com",
    "ap-northeast-2-pop": "ecs.aliyuncs.com",
    "cn-beijing-finance-pop": "ecs.aliyuncs.com",
    "cn-beijing-gov-1": "ecs.aliyuncs.com",
    "cn-beijing-nu16-b01": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-edge-1": "ecs.cn-qingdao-nebula.aliyuncs.com",
    "cn-fujian": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-haidian-cm12-c01": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-hangzhou-bj-b01": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-hangzhou-finance": "ecs.aliyuncs.com",
    "cn-hangzhou-internal-prod-1": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-hangzhou-internal-test-1": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-hangzhou-internal-test-2": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-hangzhou-internal-test-3": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-hangzhou-test-306": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-hongkong-finance-pop": "ecs.aliyuncs.com",
    "cn-huhehaote-nebula-1": "ecs.cn-qingdao-nebula.aliyuncs.com",
    "cn-shanghai-et15-b01": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-shanghai-et2-b01": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-shanghai-inner": "ecs.aliyuncs.com",
    "cn-shanghai-internal-test-1": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-shenzhen-inner": "ecs.aliyuncs.com",
    "cn-shenzhen-st4-d01": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-shenzhen-su18-b01": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-wuhan": "ecs.aliyuncs.com",
    "cn-yushanfang": "ecs.aliyuncs.com",
    "cn-zhangbei": "ecs.aliyuncs.com",
    "cn-zhangbei-na61-b01": "ecs-cn-hangzhou.aliyuncs.com",
    "cn-zhangjiakou-na62-a01": "ecs.cn-zhangjiakou.aliyuncs.com",
    "cn-zhengzhou-nebula-1": "ecs.cn-qingdao-nebula.aliyuncs.com",
    "eu-west-1-oxs": "ecs.cn-shenzhen-cloudstone.aliyuncs.com",
    "rus-west-1-pop": "ecs.aliyuncs.com",
}

# alibabacloud_eventbridge20200401.client.Client's endpoint map; else the rule
# eventbridge.<region>.aliyuncs.com (its endpoint rule is "regional").
EVENTBRIDGE_ENDPOINT_MAP = {
    region: f"eventbridge-console.{region}.aliyuncs.com"
    for region in (
        "cn-wulanchabu",
        "cn-beijing",
        "cn-qingdao",
        "cn-shanghai",
        "cn-hongkong",
        "cn-heyuan",
        "cn-zhangjiakou",
        "cn-shenzhen",
        "ap-northeast-2",
        "ap-northeast-1",
        "cn-chengdu",
        "cn-guangzhou",
        "ap-southeast-1",
        "ap-southeast-3",
        "cn-huhehaote",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "cn-hangzhou",
        "us-east-1",
        "eu-west-1",
        "us-west-1",
        "eu-central-1",
        "cn-shenzhen-finance-1",
        "cn-beijing-finance-1",
        "cn-shanghai-finance-1",
    )
}
# EventBridge's limits: at most 16 events in one PutEvents request.
MAX_EVENTS_PER_REQUEST = 16

# ECS limits: InstanceId.N / NetworkInterfaceId.N take at most 100 ids per call;
# DescribeInstanceStatus pages at most 50; DescribeNetworkInterfaces at most 100.
ECS_IDS_PER_CALL = 100
INSTANCE_STATUS_PAGE_SIZE = 50
ENI_PAGE_SIZE = 100
HAVIP_RESOURCE_TYPE = "HAVIP"

TAG_PAGE_SIZE = 50  # ListTagResources' MaxResults (at most 50)
MAX_TAG_PAGES = 10  # a HAVIP holds at most 20 tags: one page; this stops a runaway NextToken

DEFAULT_CONNECT_TIMEOUT = 2.0  # seconds; a VPC endpoint answers a connect in milliseconds
DEFAULT_READ_TIMEOUT = 5.0  # seconds; both calls return in well under a second when healthy
MIN_CALL_TIMEOUT = 0.2  # below this a call cannot succeed; report the deadline instead


def classify(code: str, http_status: int | None) -> ErrorKind:
    if code in AUTH_CODES or code.startswith(("InvalidAccessKeyId", "InvalidSecurityToken")):
        return "auth"
    if code in TRANSIENT_CODES or code.startswith("Throttling") or (http_status or 0) >= 500:
        return "transient"
    return "permanent"


class VpcError(Exception):
    """A VPC API call that did not succeed, in the project's own terms."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        kind: ErrorKind | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.kind: ErrorKind = kind or classify(code, http_status)

    @property
    def transient(self) -> bool:
        return self.kind == "transient"


@dataclass(frozen=True)
class HaVipPage:
    havips: list[HaVip]
    total_count: int
    request_id: str | None


@dataclass(frozen=True)
class BusEvent:
    """One CloudEvent as PutEvents takes it (EventList[]); `data` is any JSON object."""

    id: str
    source: str
    type: str
    subject: str
    time: str  # RFC 3339 (ISO 8601 UTC)
    data: Mapping[str, Any]
    spec_version: str = "1.0"
    data_content_type: str = "application/json"

    def to_api(self) -> dict[str, Any]:
        # The generated model's to_map() order: the JSON goes onto the wire as built.
        return {
            "Data": self.data,
            "DataContentType": self.data_content_type,
            "Id": self.id,
            "Source": self.source,
            "SpecVersion": self.spec_version,
            "Subject": self.subject,
            "Time": self.time,
            "Type": self.type,
        }


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


class VpcApi(Protocol):
    """The calls the function makes. `timeout` bounds the whole call (every page of it), in
    seconds. Every failure is a VpcError, ECS ones included."""

    def describe_ha_vips(
        self,
        region_id: str,
        *,
        ha_vip_ids: Sequence[str] = (),
        tags: Sequence[tuple[str, str]] = (),
        page_number: int = 1,
        page_size: int = 50,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> HaVipPage:
        """One page. `tags`: only HAVIPs carrying all of these (Key, Value) pairs."""
        ...

    def unassociate_ha_vip(
        self,
        region_id: str,
        ha_vip_id: str,
        instance_id: str,
        *,
        force: bool,
        instance_type: str,
        client_token: str,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str: ...

    def associate_ha_vip(
        self,
        region_id: str,
        ha_vip_id: str,
        instance_id: str,
        *,
        instance_type: str,
        client_token: str,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str:
        """AssociateHaVip; the RequestId. Asynchronous: the HAVIP shows Associating, then InUse."""
        ...

    def tag_resources(
        self,
        region_id: str,
        ha_vip_id: str,
        tags: Mapping[str, str],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str:
        """Add or overwrite tags on the HAVIP; the RequestId ("" when `tags` is empty: no call)."""
        ...

    def untag_resources(
        self,
        region_id: str,
        ha_vip_id: str,
        keys: Sequence[str],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str:
        """Remove these tag keys from the HAVIP; the RequestId ("" when `keys` is empty: no call)."""
        ...

    def list_tag_resources(
        self, region_id: str, ha_vip_id: str, *, timeout: float = DEFAULT_READ_TIMEOUT
    ) -> dict[str, str]:
        """The HAVIP's tags as the tag service has them now (DescribeHaVips' copy may lag)."""
        ...

    def describe_instance_status(
        self,
        region_id: str,
        instance_ids: Sequence[str],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> dict[str, str]:
        """ECS status by instance id (Pending/Running/Starting/Stopping/Stopped); an unknown
        (released) instance is absent."""
        ...

    def describe_network_interfaces(
        self,
        region_id: str,
        eni_ids: Sequence[str],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> dict[str, str | None]:
        """The instance each ENI is attached to (None: detached); an unknown ENI is absent."""
        ...

    def put_events(
        self,
        region_id: str,
        event_bus: str,
        events: Sequence[BusEvent],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str:
        """EventBridge PutEvents: at most MAX_EVENTS_PER_REQUEST events onto the bus; the
        RequestId. An event the bus refused fails the call (its ErrorCode)."""
        ...


def havip_from_map(m: dict[str, Any], region_id: str | None = None) -> HaVip:
    """One element of DescribeHaVips' HaVips.HaVip, as the API returns it (lowercase inner keys)."""
    inner = m.get("AssociatedInstances")
    instances = (inner.get("associatedInstance") or []) if isinstance(inner, dict) else []
    return HaVip(
        ha_vip_id=str(m.get("HaVipId") or ""),
        status=str(m.get("Status") or ""),
        associated_instances=tuple(str(i) for i in instances),
        master_instance_id=m.get("MasterInstanceId") or None,
        associated_instance_type=m.get("AssociatedInstanceType") or None,
        ip_address=m.get("IpAddress"),
        vpc_id=m.get("VpcId"),
        region_id=m.get("RegionId") or region_id,
        tags=tags_from_map(m.get("Tags")),
    )


def tags_from_map(raw: Any) -> tuple[tuple[str, str], ...]:
    """`Tags.Tag[] {Key, Value}` (or a bare list of them) -> (Key, Value) pairs, API order."""
    items = raw.get("Tag") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        return ()
    return tuple(
        (str(t.get("Key") or ""), str(t.get("Value") or "")) for t in items if isinstance(t, dict) and t.get("Key")
    )


class SdkVpc:
    """VpcApi over the official SDK. One SDK client per (service, region), built on first use
    and kept: warm invocations reuse it and the SDK's pooled HTTP connections.

    `endpoint` / `ecs_endpoint` / `eventbridge_endpoint`: host[:port] of the VPC / ECS /
    EventBridge API (default: the generated client's endpoint for the region). All use
    `protocol`."""

    def __init__(
        self,
        credentials: Credentials | None,
        *,
        endpoint: str | None = None,
        ecs_endpoint: str | None = None,
        eventbridge_endpoint: str | None = None,
        protocol: str = "https",
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self._credentials = credentials
        self._endpoint = endpoint
        self._ecs_endpoint = ecs_endpoint
        self._eventbridge_endpoint = eventbridge_endpoint
        self._protocol = protocol
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._clients: dict[tuple[Service, str], Any] = {}
        self._lock = threading.Lock()

    @property
    def scope(self) -> str:
        """Which VPC API this talks to (with the region, it scopes a ClientToken)."""
        return self._endpoint or "default"

    def _client(self, region_id: str, service: Service = "vpc") -> Any:
        key = (service, region_id)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._new_client(region_id, service)
                self._clients[key] = client
            return client

    def _new_client(self, region_id: str, service: Service) -> Any:
        if self._credentials is None:
            raise VpcError(
                "NoCredentials",
                "no AccessKey: give the function a role (context.credentials) or set "
                "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                kind="auth",
            )
        from alibabacloud_tea_openapi.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        endpoints = {
            "vpc": self._endpoint or default_endpoint(region_id),
            "ecs": self._ecs_endpoint or default_ecs_endpoint(region_id),
            "eventbridge": self._eventbridge_endpoint or default_eventbridge_endpoint(region_id),
        }
        config = Config(
            access_key_id=self._credentials.access_key_id,
            access_key_secret=self._credentials.access_key_secret,
            security_token=self._credentials.security_token or None,
            region_id=region_id,
            endpoint=endpoints[service],
            protocol=self._protocol,
            connect_timeout=int(self._connect_timeout * 1000),
            read_timeout=int(self._read_timeout * 1000),
        )
        return Client(config)

    def _runtime(self, timeout: float) -> Any:
        from darabonba.runtime import RuntimeOptions

        # Our own retry loop owns retries (one deadline, one ClientToken); the SDK's
        # timeouts are clipped so that connect + read fit in what is left of the deadline.
        timeout = max(MIN_CALL_TIMEOUT, timeout)
        connect = min(self._connect_timeout, timeout / 2)
        read = max(MIN_CALL_TIMEOUT / 2, min(self._read_timeout, timeout - connect))
        return RuntimeOptions(
            autoretry=False,
            max_attempts=0,
            connect_timeout=int(connect * 1000),
            read_timeout=int(read * 1000),
        )

    def describe_ha_vips(
        self,
        region_id: str,
        *,
        ha_vip_ids: Sequence[str] = (),
        tags: Sequence[tuple[str, str]] = (),
        page_number: int = 1,
        page_size: int = 50,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> HaVipPage:
        # Keys in the generated client's order (it goes onto the wire as built).
        query: dict[str, Any] = {}
        if ha_vip_ids:
            query["Filter"] = [{"Key": "HaVipId", "Value": list(ha_vip_ids)}]
        query["PageNumber"] = page_number
        query["PageSize"] = page_size
        query["RegionId"] = region_id
        if tags:
            query["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
        body = self._call("DescribeHaVips", region_id, query, timeout)
        items = (body.get("HaVips") or {}).get("HaVip") or []
        return HaVipPage(
            havips=[havip_from_map(i, region_id) for i in items if isinstance(i, dict)],
            total_count=int(body.get("TotalCount") or 0),
            request_id=body.get("RequestId"),
        )

    def unassociate_ha_vip(
        self,
        region_id: str,
        ha_vip_id: str,
        instance_id: str,
        *,
        force: bool,
        instance_type: str,
        client_token: str,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str:
        query = {
            "ClientToken": client_token,
            "Force": force,
            "HaVipId": ha_vip_id,
            "InstanceId": instance_id,
            "InstanceType": instance_type,
            "RegionId": region_id,
        }
        body = self._call("UnassociateHaVip", region_id, query, timeout)
        return str(body.get("RequestId") or "")

    def associate_ha_vip(
        self,
        region_id: str,
        ha_vip_id: str,
        instance_id: str,
        *,
        instance_type: str,
        client_token: str,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str:
        query = {
            "ClientToken": client_token,
            "HaVipId": ha_vip_id,
            "InstanceId": instance_id,
            "InstanceType": instance_type,
            "RegionId": region_id,
        }
        body = self._call("AssociateHaVip", region_id, query, timeout)
        return str(body.get("RequestId") or "")

    def tag_resources(
        self,
        region_id: str,
        ha_vip_id: str,
        tags: Mapping[str, str],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str:
        if not tags:
            return ""
        query = {
            "RegionId": region_id,
            "ResourceId": [ha_vip_id],
            "ResourceType": HAVIP_RESOURCE_TYPE,
            "Tag": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        body = self._call("TagResources", region_id, query, timeout)
        return str(body.get("RequestId") or "")

    def untag_resources(
        self,
        region_id: str,
        ha_vip_id: str,
        keys: Sequence[str],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str:
        if not keys:
            return ""  # the API would need All=true to mean "every tag": never implied here
        query = {
            "RegionId": region_id,
            "ResourceId": [ha_vip_id],
            "ResourceType": HAVIP_RESOURCE_TYPE,
            "TagKey": list(keys),
        }
        body = self._call("UnTagResources", region_id, query, timeout)
        return str(body.get("RequestId") or "")

    def list_tag_resources(
        self, region_id: str, ha_vip_id: str, *, timeout: float = DEFAULT_READ_TIMEOUT
    ) -> dict[str, str]:
        budget = _Budget(timeout)
        tags: dict[str, str] = {}
        token: str | None = None
        for _ in range(MAX_TAG_PAGES):
            # The generated client's key order: MaxResults, NextToken, RegionId, ResourceId, ResourceType.
            query: dict[str, Any] = {"MaxResults": TAG_PAGE_SIZE}
            if token:
                query["NextToken"] = token
            query.update({"RegionId": region_id, "ResourceId": [ha_vip_id], "ResourceType": HAVIP_RESOURCE_TYPE})
            body = self._call("ListTagResources", region_id, query, budget.next_call("ListTagResources"))
            items = (body.get("TagResources") or {}).get("TagResource") or []
            for item in items:
                if isinstance(item, dict) and item.get("ResourceId") in (None, ha_vip_id) and item.get("TagKey"):
                    tags[str(item["TagKey"])] = str(item.get("TagValue") or "")
            token = body.get("NextToken") or None
            if not token:
                break
        return tags

    def describe_instance_status(
        self,
        region_id: str,
        instance_ids: Sequence[str],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> dict[str, str]:
        budget = _Budget(timeout)
        out: dict[str, str] = {}
        for chunk in _chunks(instance_ids, ECS_IDS_PER_CALL):
            for body in self._pages(
                "DescribeInstanceStatus",
                region_id,
                "InstanceId",
                chunk,
                page_size=INSTANCE_STATUS_PAGE_SIZE,
                budget=budget,
            ):
                items = (body.get("InstanceStatuses") or {}).get("InstanceStatus") or []
                for item in items:
                    if isinstance(item, dict) and item.get("InstanceId"):
                        out[str(item["InstanceId"])] = str(item.get("Status") or "")
        return out

    def describe_network_interfaces(
        self,
        region_id: str,
        eni_ids: Sequence[str],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> dict[str, str | None]:
        budget = _Budget(timeout)
        out: dict[str, str | None] = {}
        for chunk in _chunks(eni_ids, ECS_IDS_PER_CALL):
            for body in self._pages(
                "DescribeNetworkInterfaces",
                region_id,
                "NetworkInterfaceId",
                chunk,
                page_size=ENI_PAGE_SIZE,
                budget=budget,
            ):
                items = (body.get("NetworkInterfaceSets") or {}).get("NetworkInterfaceSet") or []
                for item in items:
                    if isinstance(item, dict) and item.get("NetworkInterfaceId"):
                        out[str(item["NetworkInterfaceId"])] = str(item.get("InstanceId") or "") or None
        return out

    def put_events(
        self,
        region_id: str,
        event_bus: str,
        events: Sequence[BusEvent],
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str:
        if not events:
            return ""
        if len(events) > MAX_EVENTS_PER_REQUEST:
            raise ValueError(f"PutEvents takes at most {MAX_EVENTS_PER_REQUEST} events, not {len(events)}")
        # As the generated client sends it: a form body, EventList as one JSON string (its
        # "json" style: compact, non-ASCII kept).
        event_list = json.dumps([e.to_api() for e in events], ensure_ascii=False, separators=(",", ":"))
        body = {"EventBusName": event_bus, "EventList": event_list}
        answer = self._call("PutEvents", region_id, {}, timeout, service="eventbridge", body=body)
        request_id = str(answer.get("RequestId") or "")
        raw = answer.get("Data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        failed = [e for e in (data.get("EntryList") or []) if isinstance(e, dict) and e.get("ErrorCode")]
        if answer.get("Success") is False or failed or int(data.get("FailedEntryCount") or 0) > 0:
            first = failed[0] if failed else {}
            code = str(first.get("ErrorCode") or answer.get("Code") or "PutEventsFailed")
            message = str(first.get("ErrorMessage") or answer.get("Message") or "the bus refused an event")
            count = len(failed) or int(data.get("FailedEntryCount") or 0) or len(events)
            raise VpcError(code, f"{count} of {len(events)} event(s) refused: {message}", request_id=request_id)
        return request_id

    def _pages(
        self,
        action: str,
        region_id: str,
        id_key: str,
        ids: list[str],
        *,
        page_size: int,
        budget: _Budget,
    ) -> list[dict[str, Any]]:
        """Every page of an ECS PageNumber/PageSize listing of `ids`, within one budget."""
        bodies: list[dict[str, Any]] = []
        page = 1
        while True:
            remaining = budget.next_call(action)
            # The ids first: the generated client's key order.
            query: dict[str, Any] = {id_key: ids, "PageNumber": page, "PageSize": page_size, "RegionId": region_id}
            body = self._call(action, region_id, query, remaining, service="ecs")
            bodies.append(body)
            total = int(body.get("TotalCount") or 0)
            # An unknown id is simply absent, so the total can be below len(ids); never ask
            # for more pages than the ids could fill (a lying TotalCount cannot loop us).
            if page * page_size >= min(total, len(ids)):
                return bodies
            page += 1

    def _call(
        self,
        action: str,
        region_id: str,
        query: dict[str, Any],
        timeout: float,
        *,
        service: Service = "vpc",
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        client = self._client(region_id, service)
        try:
            from alibabacloud_tea_openapi.utils import Utils
            from alibabacloud_tea_openapi.utils_models import OpenApiRequest

            request = (
                OpenApiRequest(body=Utils.parse_to_map(body))
                if body is not None
                else OpenApiRequest(query=Utils.query(query))
            )
            response = client.call_api(sdk_params(action, service), request, self._runtime(timeout))
        except Exception as exc:  # the SDK raises many types; translate all of them
            raise translate(exc) from None
        body = response.get("body") if isinstance(response, dict) else None
        if not isinstance(body, dict):
            raise VpcError("UnexpectedResponse", f"{action} answered without a JSON object body", kind="transient")
        return body


class _Budget:
    """One deadline over the several requests of a chunked or paged call."""

    def __init__(self, timeout: float) -> None:
        self._deadline = time.monotonic() + timeout
        self._calls = 0

    def next_call(self, action: str) -> float:
        """Seconds left for the next request. The first always goes (clipped like a single
        call); a later one that could not succeed is a Timeout, as the whole call is."""
        remaining = self._deadline - time.monotonic()
        if self._calls and remaining < MIN_CALL_TIMEOUT:
            raise VpcError("Timeout", f"{action}: the call's time ran out after {self._calls} request(s)")
        self._calls += 1
        return remaining


def preload_sdk() -> None:
    """Import the SDK now (the FC initializer), so the first failover does not wait for it."""
    from alibabacloud_tea_openapi.client import Client  # noqa: F401
    from alibabacloud_tea_openapi.utils import Utils  # noqa: F401


def sdk_params(action: str, service: Service = "vpc") -> Any:
    """The request description the generated VPC (ECS, EventBridge) client uses for `action`:
    all three are RPC style, POST, a form body, JSON answers."""
    from alibabacloud_tea_openapi.utils_models import Params

    return Params(
        action=action,
        version=API_VERSIONS[service],
        protocol="HTTPS",  # the client's configured protocol (HAVIP_VPC_PROTOCOL) wins
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )


def default_endpoint(region_id: str) -> str:
    """The public VPC endpoint, as the generated client resolves it (its map, else the rule)."""
    return ENDPOINT_MAP.get(region_id) or f"vpc.{region_id}.aliyuncs.com"


def default_ecs_endpoint(region_id: str) -> str:
    """The public ECS endpoint, as alibabacloud_ecs20140526's client resolves it."""
    return ECS_ENDPOINT_MAP.get(region_id) or f"ecs.{region_id}.aliyuncs.com"


def default_eventbridge_endpoint(region_id: str) -> str:
    """The public EventBridge API endpoint, as alibabacloud_eventbridge20200401's client resolves it."""
    return EVENTBRIDGE_ENDPOINT_MAP.get(region_id) or f"eventbridge.{region_id}.aliyuncs.com"


def _chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    unique = list(dict.fromkeys(i for i in ids if i))  # order kept, duplicates dropped
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def translate(exc: BaseException) -> VpcError:
    """SDK exception -> VpcError. Never copies request headers (they carry the STS token)."""
    code = getattr(exc, "code", None)
    status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None)
    if code and isinstance(code, str) and code != "None":
        data = getattr(exc, "data", None)
        request_id = getattr(exc, "request_id", None)
        if not request_id and isinstance(data, dict):
            request_id = data.get("RequestId")
        message = getattr(exc, "message", None) or str(exc)
        if isinstance(data, dict) and data.get("Message"):
            message = str(data["Message"])  # the API's own words, without the SDK's prefix
        return VpcError(code, message, http_status=status if isinstance(status, int) else None, request_id=request_id)
    # Connection refused/reset, timeouts: the SDK wraps them (UnretryableException, RetryError).
    inner = getattr(exc, "inner_exception", None) or exc
    text = f"{type(inner).__name__}: {inner}"
    lowered = text.lower()
    is_timeout = "timeout" in lowered or "timed out" in lowered
    hint = _network_hint(text)
    message = f"{hint} ({_scrub(text)})" if hint else _scrub(text)
    return VpcError("Timeout" if is_timeout else "NetworkError", message, kind="transient")


# urllib3 names the endpoint it failed to reach: "HTTPSConnectionPool(host='127.0.0.1', port=8765)"
# (quoted again, with escaped quotes, when the SDK wraps the message in a dict's repr).
_POOL_RE = re.compile(r"(HTTPS?)ConnectionPool\(host=\\?'([^'\\]*)\\?', port=(\d+)\)")


def _network_hint(text: str) -> str | None:
    """What to check, for the two failures a misconfigured endpoint gives: HTTPS against a
    plain-HTTP server (the local emulator) and a refused connection (nothing listening)."""
    found = _POOL_RE.search(text)
    endpoint = f"{found[1].lower()}://{found[2]}:{found[3]}" if found else "the VPC/ECS/EventBridge endpoint"
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return (
            f"{endpoint} does not answer TLS: it speaks plain HTTP (as the local VPC emulator does); "
            "set HAVIP_VPC_PROTOCOL=http for it"
        )
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return (
            f"{endpoint} refused the connection: nothing listens there; check HAVIP_VPC_ENDPOINT / "
            "HAVIP_ECS_ENDPOINT / HAVIP_EVENTBRIDGE_ENDPOINT, and for the local emulator that it is running"
        )
    return None


def _scrub(text: str) -> str:
    # urllib3 messages name the URL, whose query never holds secrets (the SDK signs in
    # headers); still, keep messages short and single-line for logs.
    return " ".join(text.split())[:300]
