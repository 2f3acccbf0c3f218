"""The VPC API as this function uses it: two calls, timeouts, and error classification.

`SdkVpc` drives the official SDK: alibabacloud-tea-openapi's `call_api`, with exactly the
`Params` and query that the generated alibabacloud-vpc20160428 client builds for
DescribeHaVips and UnassociateHaVip (tests/unit/test_vpc_sdk.py proves they match). The
generated client module imports its ~2,000 model modules eagerly — about 0.8 s and 20 MB
of a cold start, for two requests; the generic call is how the SDK lets us skip that.
The SDK is imported on first use, not at module import: a recovery event or a rejected
event never pays for it. Everything above this module sees only `VpcApi`, `HaVipPage`
and `VpcError`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .model import HaVip

ErrorKind = Literal["transient", "permanent", "auth"]

# DESIGN §1: retry these within the deadline.
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
    }
)

API_VERSION = "2016-04-28"
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
class Credentials:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


class VpcApi(Protocol):
    """The two calls the function makes. `timeout` bounds the whole call, in seconds."""

    def describe_ha_vips(
        self,
        region_id: str,
        *,
        ha_vip_ids: Sequence[str] = (),
        tags: Sequence[tuple[str, str]] = (),
        page_number: int = 1,
        page_size: int = 50,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> HaVipPage: ...

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

    def describe_instance_status(
        self, region_id: str, instance_ids: Sequence[str], *, timeout: float = DEFAULT_READ_TIMEOUT
    ) -> dict[str, str]:
        """ECS DescribeInstanceStatus: {instance id: Status}; an unknown id is absent."""
        ...

    def associate_ha_vip(
        self,
        region_id: str,
        ha_vip_id: str,
        instance_id: str,
        *,
        instance_type: str,
        client_token: str,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> str: ...

    def tag_resources(
        self, region_id: str, ha_vip_id: str, tags: Mapping[str, str], *, timeout: float = DEFAULT_READ_TIMEOUT
    ) -> str: ...

    def untag_resources(
        self, region_id: str, ha_vip_id: str, keys: Sequence[str], *, timeout: float = DEFAULT_READ_TIMEOUT
    ) -> str: ...

    def describe_network_interfaces(
        self, region_id: str, eni_ids: Sequence[str], *, timeout: float = DEFAULT_READ_TIMEOUT
    ) -> dict[str, str | None]:
        """ECS DescribeNetworkInterfaces: {ENI id: the instance it is attached to, or None}."""
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
    )


class SdkVpc:
    """VpcApi over the official SDK. One SDK client per region, built on first use and kept:
    warm invocations reuse it and the SDK's pooled HTTP connections."""

    def __init__(
        self,
        credentials: Credentials | None,
        *,
        endpoint: str | None = None,
        protocol: str = "https",
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        self._credentials = credentials
        self._endpoint = endpoint
        self._protocol = protocol
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def scope(self) -> str:
        """Which VPC API this talks to (with the region, it scopes a ClientToken)."""
        return self._endpoint or "default"

    def _client(self, region_id: str) -> Any:
        client = self._clients.get(region_id)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(region_id)
            if client is None:
                client = self._new_client(region_id)
                self._clients[region_id] = client
            return client

    def _new_client(self, region_id: str) -> Any:
        if self._credentials is None:
            raise VpcError(
                "NoCredentials",
                "no AccessKey: give the function a role (context.credentials) or set "
                "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                kind="auth",
            )
        from alibabacloud_tea_openapi.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        config = Config(
            access_key_id=self._credentials.access_key_id,
            access_key_secret=self._credentials.access_key_secret,
            security_token=self._credentials.security_token or None,
            region_id=region_id,
            endpoint=self._endpoint or default_endpoint(region_id),
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
        page_number: int = 1,
        page_size: int = 50,
        timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> HaVipPage:
        query: dict[str, Any] = {"PageNumber": page_number, "PageSize": page_size, "RegionId": region_id}
        if ha_vip_ids:
            query["Filter"] = [{"Key": "HaVipId", "Value": list(ha_vip_ids)}]
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

    def _call(self, action: str, region_id: str, query: dict[str, Any], timeout: float) -> dict[str, Any]:
        client = self._client(region_id)
        try:
            from alibabacloud_tea_openapi.utils import Utils
            from alibabacloud_tea_openapi.utils_models import OpenApiRequest

            request = OpenApiRequest(query=Utils.query(query))
            response = client.call_api(sdk_params(action), request, self._runtime(timeout))
        except Exception as exc:  # the SDK raises many types; translate all of them
            raise translate(exc) from None
        body = response.get("body") if isinstance(response, dict) else None
        if not isinstance(body, dict):
            raise VpcError("UnexpectedResponse", f"{action} answered without a JSON object body", kind="transient")
        return body


def preload_sdk() -> None:
    """Import the SDK now (the FC initializer), so the first failover does not wait for it."""
    from alibabacloud_tea_openapi.client import Client  # noqa: F401
    from alibabacloud_tea_openapi.utils import Utils  # noqa: F401


def sdk_params(action: str) -> Any:
    """The request description alibabacloud_vpc20160428.client.Client uses for `action`."""
    from alibabacloud_tea_openapi.utils_models import Params

    return Params(
        action=action,
        version=API_VERSION,
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
    return VpcError("Timeout" if is_timeout else "NetworkError", _scrub(text), kind="transient")


def _scrub(text: str) -> str:
    # urllib3 messages name the URL, whose query never holds secrets (the SDK signs in
    # headers); still, keep messages short and single-line for logs.
    return " ".join(text.split())[:300]
