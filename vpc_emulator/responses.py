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
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
_FILTER_KEY_RE = re.compile(r"^Filter\.(\d+)\.Key$")
_FILTER_VALUE_RE = re.compile(r"^Filter\.(\d+)\.Value\.(\d+)$")


def new_request_id() -> str:
    return str(uuid.uuid4()).upper()


def error_body(code: str, message: str, request_id: str, host_id: str) -> dict[str, str]:
    return {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Vpc&requestId={request_id}",
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


class VpcResponses:
    """Dispatches an authenticated action to the backend; returns the JSON body."""

    def __init__(self, backend: VpcBackend) -> None:
        self.backend = backend
        self._actions: dict[str, Callable[[dict[str, str], str], dict[str, Any]]] = {
            "DescribeHaVips": self.describe_ha_vips,
            "UnassociateHaVip": self.unassociate_ha_vip,
            "AssociateHaVip": self.associate_ha_vip,
        }

    @property
    def actions(self) -> list[str]:
        return sorted(self._actions)

    def check_action(self, action: str | None, version: str | None) -> str:
        if not action:
            raise VpcApiError(400, "MissingAction", "Action is mandatory for this action.")
        if not version:
            raise VpcApiError(400, "MissingVersion", "Version is mandatory for this action.")
        if version != API_VERSION:
            raise VpcApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if action not in self._actions:
            raise VpcApiError(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        return action

    def dispatch(self, action: str, params: dict[str, str], request_id: str) -> dict[str, Any]:
        return self._actions[action](params, request_id)

    def describe_ha_vips(self, params: dict[str, str], request_id: str) -> dict[str, Any]:
        result = self.backend.describe_ha_vips(
            params.get("RegionId"),
            parse_filters(params),
            params.get("PageNumber"),
            params.get("PageSize"),
        )
        return {"RequestId": request_id, **result}

    def unassociate_ha_vip(self, params: dict[str, str], request_id: str) -> dict[str, Any]:
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

    def associate_ha_vip(self, params: dict[str, str], request_id: str) -> dict[str, Any]:
        rid = self.backend.associate_ha_vip(
            request_id,
            region_id=params.get("RegionId"),
            ha_vip_id=params.get("HaVipId"),
            instance_id=params.get("InstanceId"),
            client_token=params.get("ClientToken"),
            instance_type=params.get("InstanceType"),
        )
        return {"RequestId": rid}
