"""The thin per-action layer: parameters → backend calls → JSON bodies.

Request signatures are checked before, in `signing`, the same way for every action.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .models import VpcApiError, VpcBackend

API_VERSION = "2016-04-28"
ECS_API_VERSION = "2014-05-26"
EVENTBRIDGE_API_VERSION = "2020-04-01"
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
_FILTER_KEY_RE = re.compile(r"^Filter\.(\d+)\.Key$")
_FILTER_VALUE_RE = re.compile(r"^Filter\.(\d+)\.Value\.(\d+)$")
_LIST_RE_CACHE: dict[str, re.Pattern[str]] = {}


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def error_body(code: str, message: str, request_id: str, host_id: str, product: str = "Vpc") -> dict[str, str]:
    return {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product={product}&requestId={request_id}",
    }


# ---------------------------------------------------------------------- actions


def parse_filters(params: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """`Filter.N.Key` / `Filter.N.Value.M` → [(key, [values…])] ordered by N."""
    keys: dict[int, str] = {}
    values: dict[int, list[tuple[int, str]]] = {}
    for name, value in params.items():
        m = _FILTER_KEY_RE.match(name)
        if m:
            keys[int(m.group(1))] = value
            continue
        m = _FILTER_VALUE_RE.match(name)
        if m:
            values.setdefault(int(m.group(1)), []).append((int(m.group(2)), value))
    return [(keys[n], [v for _, v in sorted(values.get(n, []))]) for n in sorted(keys)]


def parse_list(params: Mapping[str, str], prefix: str) -> list[str]:
    """`Prefix.N` → [values…] ordered by N (ResourceId.N, TagKey.N, InstanceId.N …)."""
    pattern = _LIST_RE_CACHE.setdefault(prefix, re.compile(rf"^{re.escape(prefix)}\.(\d+)$"))
    found = [(int(m.group(1)), v) for k, v in params.items() if (m := pattern.match(k))]
    return [v for _, v in sorted(found)]


def parse_tags(params: Mapping[str, str], prefix: str) -> list[tuple[str, str | None]]:
    """`Prefix.N.Key` / `Prefix.N.Value` → [(key, value or None)] ordered by N."""
    keys = dict(
        (int(m.group(1)), v) for k, v in params.items() if (m := re.match(rf"^{re.escape(prefix)}\.(\d+)\.Key$", k))
    )
    values = dict(
        (int(m.group(1)), v) for k, v in params.items() if (m := re.match(rf"^{re.escape(prefix)}\.(\d+)\.Value$", k))
    )
    return [(keys[n], values.get(n)) for n in sorted(keys)]


# Each action with its API version: VPC, ECS and EventBridge are served on one endpoint, told
# apart by action.
ACTION_VERSIONS = {
    "DescribeHaVips": API_VERSION,
    "UnassociateHaVip": API_VERSION,
    "AssociateHaVip": API_VERSION,
    "TagResources": API_VERSION,
    "UnTagResources": API_VERSION,
    "ListTagResources": API_VERSION,
    "DescribeInstanceStatus": ECS_API_VERSION,
    "DescribeNetworkInterfaces": ECS_API_VERSION,
    "PutEvents": EVENTBRIDGE_API_VERSION,
}
PRODUCTS = {ECS_API_VERSION: "Ecs", EVENTBRIDGE_API_VERSION: "eventbridge"}


def product_of(action: str) -> str:
    """The product an action belongs to, as its errors' Recommend link names it."""
    return PRODUCTS.get(ACTION_VERSIONS.get(action, API_VERSION), "Vpc")


class VpcResponses:
    """Dispatches an authenticated action to the backend; returns the JSON body."""

    def __init__(self, backend: VpcBackend) -> None:
        self.backend = backend
        self._actions: dict[str, Callable[[dict[str, str], str, float], dict[str, Any]]] = {
            "DescribeHaVips": self.describe_ha_vips,
            "UnassociateHaVip": self.unassociate_ha_vip,
            "AssociateHaVip": self.associate_ha_vip,
            "TagResources": self.tag_resources,
            "UnTagResources": self.untag_resources,
            "ListTagResources": self.list_tag_resources,
            "DescribeInstanceStatus": self.describe_instance_status,
            "DescribeNetworkInterfaces": self.describe_network_interfaces,
            "PutEvents": self.put_events,
        }

    @property
    def actions(self) -> list[str]:
        return sorted(self._actions)

    def check_action(self, action: str | None, version: str | None) -> str:
        if not action:
            raise VpcApiError(400, "MissingAction", "Action is mandatory for this action.")
        if not version:
            raise VpcApiError(400, "MissingVersion", "Version is mandatory for this action.")
        # The endpoint of the action's product answers: a VPC action with ECS's version is
        # InvalidVersion, as the VPC endpoint would say.
        expected = ACTION_VERSIONS.get(action)
        if version not in (API_VERSION, ECS_API_VERSION, EVENTBRIDGE_API_VERSION) or (
            expected is not None and version != expected
        ):
            raise VpcApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if action not in self._actions:
            raise VpcApiError(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        return action

    def dispatch(self, action: str, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        """The JSON body; `lag` > 0 answers a describe from the state of that many seconds ago."""
        return self._actions[action](params, request_id, lag)

    def describe_ha_vips(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        result = self.backend.describe_ha_vips(
            params.get("RegionId"),
            parse_filters(params),
            params.get("PageNumber"),
            params.get("PageSize"),
            parse_tags(params, "Tags"),
            lag=lag,
        )
        return {"RequestId": request_id, **result}

    def tag_resources(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        self.backend.tag_resources(
            params.get("RegionId"),
            params.get("ResourceType"),
            parse_list(params, "ResourceId"),
            [(k, v or "") for k, v in parse_tags(params, "Tag")],
        )
        return {"RequestId": request_id}

    def untag_resources(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        self.backend.untag_resources(
            params.get("RegionId"),
            params.get("ResourceType"),
            parse_list(params, "ResourceId"),
            parse_list(params, "TagKey"),
            params.get("All"),
        )
        return {"RequestId": request_id}

    def list_tag_resources(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        result = self.backend.list_tag_resources(
            params.get("RegionId"),
            params.get("ResourceType"),
            parse_list(params, "ResourceId"),
            parse_tags(params, "Tag"),
            max_results=params.get("MaxResults"),
            next_token=params.get("NextToken"),
        )
        return {"RequestId": request_id, **result}

    def describe_instance_status(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        result = self.backend.describe_instance_status(
            params.get("RegionId"),
            parse_list(params, "InstanceId"),
            params.get("PageNumber"),
            params.get("PageSize"),
            lag=lag,
        )
        return {"RequestId": request_id, **result}

    def describe_network_interfaces(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        result = self.backend.describe_network_interfaces(
            params.get("RegionId"),
            parse_list(params, "NetworkInterfaceId"),
            params.get("PageNumber"),
            params.get("PageSize"),
            lag=lag,
        )
        return {"RequestId": request_id, **result}

    def put_events(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        result = self.backend.put_events(request_id, params.get("EventBusName"), params.get("EventList"))
        return {"RequestId": request_id, **result}

    def unassociate_ha_vip(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        rid = self.backend.unassociate_ha_vip(
            request_id,
            region_id=params.get("RegionId"),
            ha_vip_id=params.get("HaVipId"),
            instance_id=params.get("InstanceId"),
            client_token=params.get("ClientToken"),
            force=params.get("Force"),
            instance_type=params.get("InstanceType"),
        )
        return {"RequestId": rid}

    def associate_ha_vip(self, params: dict[str, str], request_id: str, lag: float = 0.0) -> dict[str, Any]:
        rid = self.backend.associate_ha_vip(
            request_id,
            region_id=params.get("RegionId"),
            ha_vip_id=params.get("HaVipId"),
            instance_id=params.get("InstanceId"),
            client_token=params.get("ClientToken"),
            instance_type=params.get("InstanceType"),
        )
        return {"RequestId": rid}
