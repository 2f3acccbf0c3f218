"""State and rules of the emulated VPC API (HAVIPs, ECS instances, ENIs). No HTTP here.

Every public method is thread-safe. Asynchronous operations (UnassociateHaVip,
AssociateHaVip) are recorded as a pending transition with a due time on a monotonic
clock and applied lazily at the start of every access, so no timer thread is needed
and nothing can be observed half-applied.
"""

from __future__ import annotations

import copy
import datetime
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

HAVIP_STATUSES = frozenset({"Available", "InUse", "Unassociating", "Associating", "Creating", "Deleting"})
ECS_STATUSES = frozenset({"Running", "Stopped", "Stopping", "Starting", "Pending"})
ENI_STATUSES = frozenset({"Available", "InUse", "Attaching", "Detaching", "Creating", "Deleting"})
INSTANCE_TYPES = ("EcsInstance", "NetworkInterface")
FILTER_KEYS = ("HaVipId", "VpcId", "VSwitchId", "Status", "HaVipAddress")
MAX_INSTANCES_PER_HAVIP = 2  # the default: the English API pages say 2
MAX_INSTANCES_LIMIT = 10  # the current Chinese pages: up to 10 ECS instances or 10 ENIs
# The account's default resource group, where a HAVIP lands when created without one.
DEFAULT_RESOURCE_GROUP_ID = "rg-acfmemulator00001"
MAX_PAGE_SIZE = 50
CLIENT_TOKEN_MAX_LEN = 64

_ID_ALPHABET = string.ascii_lowercase + string.digits


class VpcApiError(Exception):
    """An error the real VPC API would return: HTTP status, error code and message."""

    def __init__(self, http_status: int, code: str, message: str) -> None:
        super().__init__(f"{http_status} {code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message


def missing_parameter(name: str) -> VpcApiError:
    return VpcApiError(
        400,
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
    )


def _random_suffix(length: int) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _utc_now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def instance_kind(instance_id: str) -> str:
    """`EcsInstance` for `i-…`, `NetworkInterface` for `eni-…`; ValueError otherwise."""
    if instance_id.startswith("eni-"):
        return "NetworkInterface"
    if instance_id.startswith("i-"):
        return "EcsInstance"
    raise ValueError(f"instance id must start with 'i-' or 'eni-': {instance_id!r}")


@dataclass
class Instance:
    instance_id: str
    region: str
    vswitch_id: str | None
    status: str

    @property
    def kind(self) -> str:
        return instance_kind(self.instance_id)

    def to_seed(self) -> dict[str, Any]:
        return {"id": self.instance_id, "vswitch": self.vswitch_id, "status": self.status}


@dataclass
class PendingOp:
    op: str  # "unassociate" | "associate"
    instance_id: str
    due: float


@dataclass
class HaVip:
    ha_vip_id: str
    region: str
    vpc_id: str
    vswitch_id: str
    ip_address: str
    status: str
    seq: int
    create_time: str
    master: str | None = None
    instances: list[str] = field(default_factory=list)
    instance_type: str | None = None
    eips: list[str] = field(default_factory=list)
    description: str = ""
    name: str = ""
    resource_group_id: str = DEFAULT_RESOURCE_GROUP_ID
    pending: PendingOp | None = None

    def to_api(self) -> dict[str, Any]:
        """The item as DescribeHaVips returns it (inner list keys lowercase, as the real API)."""
        return {
            "HaVipId": self.ha_vip_id,
            "RegionId": self.region,
            "VpcId": self.vpc_id,
            "VSwitchId": self.vswitch_id,
            "IpAddress": self.ip_address,
            "Status": self.status,
            "MasterInstanceId": self.master or "",
            "AssociatedInstanceType": self.instance_type or "",
            "AssociatedInstances": {"associatedInstance": list(self.instances)},
            "AssociatedEipAddresses": {"associatedEipAddresse": list(self.eips)},
            "Description": self.description,
            "Name": self.name,
            "CreateTime": self.create_time,
            "ChargeType": "PostPaid",
            "ResourceGroupId": self.resource_group_id,
            "Tags": {"Tag": []},
        }


@dataclass
class _TokenRecord:
    request_id: str
    identity: tuple[str, ...]


class VpcBackend:
    """In-memory VPC: regions → HAVIPs and ECS instances/ENIs, with the API's rules."""

    def __init__(
        self,
        unassociate_delay: float = 0.2,
        latency: float = 0.0,
        associate_delay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_instances: int = MAX_INSTANCES_PER_HAVIP,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self.max_instances = max_instances
        self.unassociate_delay = unassociate_delay
        self.associate_delay = associate_delay
        self.latency = latency
        self._instances: dict[str, dict[str, Instance]] = {}
        self._havips: dict[str, dict[str, HaVip]] = {}
        self._tokens: dict[tuple[str, str], _TokenRecord] = {}
        self._seq = 0
        # Completed asynchronous transitions: (ha_vip_id, instance_id, op, completed_at) where
        # completed_at is when it was due on the backend clock, not when an access noticed it.
        self._transitions: list[tuple[str, str, str, float]] = []

    @property
    def max_instances(self) -> int:
        """How many instances (or ENIs) one HAVIP may hold: 2 by default, at most 10."""
        return self._max_instances

    @max_instances.setter
    def max_instances(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INSTANCES_LIMIT:
            raise ValueError(f"max_instances must be an integer from 1 to {MAX_INSTANCES_LIMIT}: {value!r}")
        self._max_instances = value

    @property
    def transitions(self) -> list[tuple[str, str, str, float]]:
        """Every completed Unassociating/Associating transition, oldest first (a copy).

        Each is ``(ha_vip_id, instance_id, op, completed_at)``, op ``unassociate`` or
        ``associate``, completed_at the due time on the backend's monotonic clock.
        """
        with self._lock:
            return list(self._transitions)

    # ------------------------------------------------------------------ internals

    def _tick(self) -> None:
        """Apply every pending transition that is due. Caller holds the lock."""
        now = self._clock()
        for region in self._havips.values():
            for havip in region.values():
                pending = havip.pending
                if pending is not None and pending.due <= now:
                    self._complete(havip, pending)
                    self._transitions.append((havip.ha_vip_id, pending.instance_id, pending.op, pending.due))

    @staticmethod
    def _complete(havip: HaVip, pending: PendingOp) -> None:
        havip.pending = None
        if pending.op == "unassociate":
            if pending.instance_id in havip.instances:
                havip.instances.remove(pending.instance_id)
            if havip.master == pending.instance_id or havip.master not in havip.instances:
                havip.master = havip.instances[0] if havip.instances else None
        else:
            if pending.instance_id not in havip.instances:
                havip.instances.append(pending.instance_id)
            havip.instance_type = instance_kind(pending.instance_id)
            if havip.master is None:
                havip.master = pending.instance_id
        if havip.instances:
            havip.status = "InUse"
        else:
            havip.status = "Available"
            havip.instance_type = None

    def _find_havip(self, ha_vip_id: str) -> HaVip:
        for region in self._havips.values():
            if ha_vip_id in region:
                return region[ha_vip_id]
        raise KeyError(f"no such HAVIP: {ha_vip_id}")

    def _find_instance(self, instance_id: str) -> Instance:
        for region in self._instances.values():
            if instance_id in region:
                return region[instance_id]
        raise KeyError(f"no such instance: {instance_id}")

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _effective_associate_delay(self) -> float:
        if self.associate_delay is None:
            return self.unassociate_delay
        return self.associate_delay

    def _check_token(self, action: str, token: str | None, identity: tuple[str, ...]) -> str | None:
        """The RequestId of an earlier successful call with this token, if any."""
        if token is None or token == "":
            return None
        if len(token) > CLIENT_TOKEN_MAX_LEN or not token.isascii():
            raise VpcApiError(
                400,
                "InvalidClientToken.Malformed",
                "The specified ClientToken is invalid: at most 64 ASCII characters.",
            )
        record = self._tokens.get((action, token))
        if record is None:
            return None
        if record.identity != identity:
            raise VpcApiError(
                400,
                "IdempotentParameterMismatch",
                "The request uses the same client token as a previous, but non-identical request.",
            )
        return record.request_id

    def _resolve_instance(self, region_id: str, instance_id: str, instance_type: str | None) -> Instance:
        """Look the instance up as the API does for (Un)AssociateHaVip."""
        if instance_type == "NetworkInterface":
            inst = self._instances.get(region_id, {}).get(instance_id)
            if inst is None or inst.kind != "NetworkInterface":
                raise VpcApiError(
                    400,
                    "InvalidNetworkInterfaceId.NotFound",
                    f"The specified network interface {instance_id} does not exist.",
                )
            return inst
        inst = self._instances.get(region_id, {}).get(instance_id)
        if inst is None or inst.kind != "EcsInstance":
            raise VpcApiError(
                404,
                "InvalidInstanceId.NotFound",
                "The specified Instance does not exist in the specified region.",
            )
        return inst

    @staticmethod
    def _check_instance_type(instance_id: str, instance_type: str | None) -> None:
        if instance_type is not None and instance_type != "" and instance_type not in INSTANCE_TYPES:
            raise VpcApiError(
                400,
                "IllegalParam.InstanceType",
                f"The specified InstanceType {instance_type} is illegal: EcsInstance or NetworkInterface.",
            )
        if instance_id.startswith("eni-") and instance_type != "NetworkInterface":
            raise VpcApiError(
                400,
                "IllegalParam.InstanceType",
                "InstanceType must be NetworkInterface for a network interface.",
            )

    def _get_havip_in_region(self, region_id: str, ha_vip_id: str) -> HaVip:
        havip = self._havips.get(region_id, {}).get(ha_vip_id)
        if havip is None:
            raise VpcApiError(
                404,
                "InvalidHaVipId.NotFound",
                "The specified HaVip does not exist in the specified region.",
            )
        return havip

    @staticmethod
    def _check_ecs_status(inst: Instance) -> None:
        if inst.kind == "EcsInstance" and inst.status not in ("Running", "Stopped"):
            raise VpcApiError(
                400,
                "IncorrectInstanceStatus",
                "ECS instance can be operated by this action only when it's status is Running or Stopped.",
            )

    # ------------------------------------------------------------------ API actions

    def unassociate_ha_vip(
        self,
        request_id: str,
        *,
        region_id: str | None,
        ha_vip_id: str | None,
        instance_id: str | None,
        client_token: str | None = None,
        force: str | None = None,
        instance_type: str | None = None,
    ) -> str:
        """UnassociateHaVip. Returns the RequestId (an earlier one on a ClientToken replay)."""
        if not region_id:
            raise missing_parameter("RegionId")
        if not ha_vip_id:
            raise missing_parameter("HaVipId")
        if not instance_id:
            raise missing_parameter("InstanceId")
        with self._lock:
            self._tick()
            identity = (region_id, ha_vip_id, instance_id)
            earlier = self._check_token("UnassociateHaVip", client_token, identity)
            if earlier is not None:
                return earlier
            self._check_instance_type(instance_id, instance_type)
            havip = self._get_havip_in_region(region_id, ha_vip_id)
            try:
                inst = self._resolve_instance(region_id, instance_id, instance_type)
            except VpcApiError:
                if instance_id in havip.instances:  # bound, but the instance was released
                    raise VpcApiError(
                        400, "ResourceNotFound.Instance", "The bound resource of the HaVip does not exist."
                    ) from None
                raise
            if havip.status not in ("Available", "InUse"):
                raise VpcApiError(
                    400,
                    "IncorrectHaVipStatus",
                    "HaVip can be operated by this action only when it's status is "
                    f"Available or InUse (now {havip.status}).",
                )
            self._check_ecs_status(inst)
            if instance_id not in havip.instances:
                raise VpcApiError(
                    400,
                    "ResourceNotAssociated",
                    "The HaVip and ECS instance are not associated.",
                )
            if havip.master == instance_id and (force or "").lower() != "true":
                raise VpcApiError(
                    400,
                    "Forbidden.UnassociateMaster",
                    "Unassociating a master instance is not allowed unless the parameter Force is True.",
                )
            havip.status = "Unassociating"
            havip.pending = PendingOp("unassociate", instance_id, self._clock() + self.unassociate_delay)
            if client_token:
                self._tokens[("UnassociateHaVip", client_token)] = _TokenRecord(request_id, identity)
            self._tick()  # a zero delay completes at once
            return request_id

    def associate_ha_vip(
        self,
        request_id: str,
        *,
        region_id: str | None,
        ha_vip_id: str | None,
        instance_id: str | None,
        client_token: str | None = None,
        instance_type: str | None = None,
    ) -> str:
        """AssociateHaVip. Returns the RequestId (an earlier one on a ClientToken replay)."""
        if not region_id:
            raise missing_parameter("RegionId")
        if not ha_vip_id:
            raise missing_parameter("HaVipId")
        if not instance_id:
            raise missing_parameter("InstanceId")
        with self._lock:
            self._tick()
            identity = (region_id, ha_vip_id, instance_id)
            earlier = self._check_token("AssociateHaVip", client_token, identity)
            if earlier is not None:
                return earlier
            self._check_instance_type(instance_id, instance_type)
            havip = self._get_havip_in_region(region_id, ha_vip_id)
            inst = self._resolve_instance(region_id, instance_id, instance_type)
            if havip.status not in ("Available", "InUse"):
                raise VpcApiError(
                    400,
                    "IncorrectHaVipStatus",
                    "HaVip can be operated by this action only when it's status is "
                    f"Available or InUse (now {havip.status}).",
                )
            self._check_ecs_status(inst)
            if instance_id in havip.instances:
                raise VpcApiError(
                    400,
                    "InvalidParameter.HaVipAlreadyAssociated",
                    "The HaVip is already associated with the specified instance.",
                )
            if havip.instance_type is not None and havip.instances and havip.instance_type != inst.kind:
                raise VpcApiError(
                    400,
                    "IllegalParam.InstanceType",
                    f"The HaVip is associated with instances of type {havip.instance_type}.",
                )
            if len(havip.instances) >= self.max_instances:
                raise VpcApiError(
                    400,
                    "CountLimitExceeded.HaVipOnECSInstance",
                    "The amount of Instance associated with the specified HaVip reach its limits.",
                )
            if inst.vswitch_id is not None and inst.vswitch_id != havip.vswitch_id:
                raise VpcApiError(
                    400,
                    "NotBelongToSameVSwitch",
                    "The specified HaVip and ECS Instance do not belong to same VSwitch.",
                )
            havip.status = "Associating"
            havip.pending = PendingOp("associate", instance_id, self._clock() + self._effective_associate_delay())
            if client_token:
                self._tokens[("AssociateHaVip", client_token)] = _TokenRecord(request_id, identity)
            self._tick()
            return request_id

    def describe_ha_vips(
        self,
        region_id: str | None,
        filters: Sequence[tuple[str, Sequence[str]]] = (),
        page_number: str | int | None = None,
        page_size: str | int | None = None,
    ) -> dict[str, Any]:
        """DescribeHaVips without RequestId: TotalCount, PageNumber, PageSize, HaVips."""
        if not region_id:
            raise missing_parameter("RegionId")
        number = _parse_int("PageNumber", page_number, 1)
        size = _parse_int("PageSize", page_size, 10)
        if number < 1:
            raise VpcApiError(400, "InvalidParameter", "The specified PageNumber is invalid.")
        if size < 1 or size > MAX_PAGE_SIZE:
            raise VpcApiError(
                400,
                "InvalidParameter",
                f"The specified PageSize is invalid: 1 to {MAX_PAGE_SIZE}.",
            )
        wanted: dict[str, set[str]] = {}
        for key, values in filters:
            if key not in FILTER_KEYS:
                raise VpcApiError(
                    400,
                    "InvalidFilterKey.ValueNotSupported",
                    f"Specified filter key is not supported: {key}.",
                )
            if values:
                wanted.setdefault(key, set()).update(values)
        with self._lock:
            self._tick()
            matched = [
                h for h in sorted(self._havips.get(region_id, {}).values(), key=lambda h: h.seq) if _matches(h, wanted)
            ]
            start = (number - 1) * size
            page = matched[start : start + size]
            return {
                "TotalCount": len(matched),
                "PageNumber": number,
                "PageSize": size,
                "HaVips": {"HaVip": [h.to_api() for h in page]},
            }

    # ------------------------------------------------------------------ helpers for tests

    def add_instance(
        self,
        instance_id: str,
        region: str,
        vswitch_id: str | None,
        status: str | None = None,
    ) -> None:
        """Add (or replace) an ECS instance (`i-…`, default Running) or ENI (`eni-…`, InUse)."""
        kind = instance_kind(instance_id)
        if status is None:
            status = "Running" if kind == "EcsInstance" else "InUse"
        _check_instance_status(kind, status)
        with self._lock:
            self._instances.setdefault(region, {})[instance_id] = Instance(instance_id, region, vswitch_id, status)

    def remove_instance(self, instance_id: str) -> None:
        """Forget an instance (as if released) while leaving any HAVIP association."""
        with self._lock:
            inst = self._find_instance(instance_id)
            del self._instances[inst.region][instance_id]

    def set_instance_status(self, instance_id: str, status: str) -> None:
        with self._lock:
            inst = self._find_instance(instance_id)
            _check_instance_status(inst.kind, status)
            inst.status = status

    def get_instance(self, instance_id: str) -> dict[str, Any]:
        with self._lock:
            inst = self._find_instance(instance_id)
            return {"region": inst.region, **inst.to_seed()}

    def create_havip(
        self,
        region: str,
        vpc_id: str,
        vswitch_id: str,
        ip: str,
        ha_vip_id: str | None = None,
        *,
        status: str = "Available",
        description: str = "",
        name: str = "",
    ) -> str:
        """Create an HAVIP without associations; returns its id."""
        if status not in HAVIP_STATUSES:
            raise ValueError(f"unknown HAVIP status {status!r}")
        with self._lock:
            if ha_vip_id is None:
                ha_vip_id = "havip-" + _random_suffix(21)
            elif not ha_vip_id.startswith("havip-"):
                raise ValueError(f"HAVIP id must start with 'havip-': {ha_vip_id!r}")
            for existing in self._havips.values():
                if ha_vip_id in existing:
                    raise ValueError(f"HAVIP {ha_vip_id} already exists")
            self._havips.setdefault(region, {})[ha_vip_id] = HaVip(
                ha_vip_id=ha_vip_id,
                region=region,
                vpc_id=vpc_id,
                vswitch_id=vswitch_id,
                ip_address=ip,
                status=status,
                seq=self._next_seq(),
                create_time=_utc_now_iso(),
                description=description,
                name=name,
            )
            return ha_vip_id

    def associate_now(self, ha_vip_id: str, instance_id: str, master: bool = False) -> None:
        """Associate at once (no delay, no API rules but ≤ max_instances of one type and one region).

        The first associated instance, or any with master=True, becomes the master.
        An instance not yet known is created Running in the HAVIP's vSwitch.
        """
        with self._lock:
            self._tick()
            havip = self._find_havip(ha_vip_id)
            kind = instance_kind(instance_id)
            if instance_id not in self._instances.get(havip.region, {}):
                self.add_instance(instance_id, havip.region, havip.vswitch_id)
            if instance_id not in havip.instances:
                if havip.instances and havip.instance_type not in (None, kind):
                    raise ValueError(f"{ha_vip_id} holds {havip.instance_type}s, not {kind}")
                if len(havip.instances) >= self.max_instances:
                    raise ValueError(f"{ha_vip_id} already holds {self.max_instances} instances (max_instances)")
                havip.instances.append(instance_id)
            havip.instance_type = kind
            if master or havip.master is None:
                havip.master = instance_id
            if havip.status in ("Available", "Associating", "Unassociating"):
                havip.status = "InUse"
                havip.pending = None

    def set_master(self, ha_vip_id: str, instance_id: str | None) -> None:
        """Make `instance_id` the master now, as keepalived electing it would."""
        with self._lock:
            self._tick()
            havip = self._find_havip(ha_vip_id)
            if instance_id is not None and instance_id not in havip.instances:
                raise ValueError(f"{instance_id} is not associated with {ha_vip_id}")
            havip.master = instance_id

    def delete_havip(self, ha_vip_id: str) -> None:
        """Release the HAVIP at once (someone deleted it)."""
        with self._lock:
            for region in self._havips.values():
                region.pop(ha_vip_id, None)

    def get_havip(self, ha_vip_id: str) -> dict[str, Any]:
        """The HAVIP as DescribeHaVips returns it (KeyError if unknown)."""
        with self._lock:
            self._tick()
            return self._find_havip(ha_vip_id).to_api()

    def havip_ids(self, region: str | None = None) -> list[str]:
        with self._lock:
            regions = [region] if region is not None else list(self._havips)
            found = [h for r in regions for h in self._havips.get(r, {}).values()]
            return [h.ha_vip_id for h in sorted(found, key=lambda h: h.seq)]

    def settle(self) -> None:
        """Complete every pending transition now, whatever its due time."""
        with self._lock:
            for region in self._havips.values():
                for havip in region.values():
                    pending = havip.pending
                    if pending is not None:
                        self._complete(havip, pending)
                        at = min(pending.due, self._clock())
                        self._transitions.append((havip.ha_vip_id, pending.instance_id, pending.op, at))

    def reset(self) -> None:
        """Forget every region, instance, HAVIP and ClientToken (delays are kept)."""
        with self._lock:
            self._instances.clear()
            self._havips.clear()
            self._tokens.clear()
            self._seq = 0
            self._transitions.clear()

    def seed(self, data: Mapping[str, Any]) -> None:
        """Add the state described by a seed (see `snapshot()` for the format)."""
        with self._lock:
            if "unassociate_delay" in data:
                self.unassociate_delay = float(data["unassociate_delay"])
            if "associate_delay" in data:
                raw = data["associate_delay"]
                self.associate_delay = None if raw is None else float(raw)
            if "latency" in data:
                self.latency = float(data["latency"])
            if "max_instances" in data:
                self.max_instances = data["max_instances"]
            regions = data.get("regions") or {}
            if not isinstance(regions, Mapping):
                raise ValueError("seed 'regions' must be an object")
            for region, content in regions.items():
                self._seed_region(str(region), content or {})

    def _seed_region(self, region: str, content: Mapping[str, Any]) -> None:
        for item in content.get("instances") or []:
            self.add_instance(str(item["id"]), region, item.get("vswitch"), item.get("status"))
        for item in content.get("havips") or []:
            hid = self.create_havip(
                region,
                str(item.get("vpc", "vpc-emulator")),
                str(item["vswitch"]),
                str(item.get("ip", "192.168.0.100")),
                ha_vip_id=item.get("id"),
                description=str(item.get("description", "")),
                name=str(item.get("name", "")),
            )
            havip = self._havips[region][hid]
            if item.get("resource_group"):
                havip.resource_group_id = str(item["resource_group"])
            if item.get("create_time"):
                havip.create_time = str(item["create_time"])
            havip.eips = [str(e) for e in item.get("eips") or []]
            master = item.get("master")
            for inst_id in item.get("instances") or []:
                self.associate_now(hid, str(inst_id), master=(inst_id == master))
            status = item.get("status")
            if status is not None:
                if status not in HAVIP_STATUSES:
                    raise ValueError(f"unknown HAVIP status {status!r}")
                havip.status = str(status)
            elif not havip.instances:
                havip.status = "Available"
            pending = item.get("pending")
            if pending:
                havip.pending = PendingOp(
                    str(pending["op"]),
                    str(pending["instance"]),
                    self._clock() + float(pending.get("remaining", 0.0)),
                )

    def snapshot(self) -> dict[str, Any]:
        """The whole state as a JSON-able seed: `seed(snapshot())` rebuilds it.

        ``{"regions": {REGION: {"instances": [{"id", "vswitch", "status"}],
        "havips": [{"id", "vpc", "vswitch", "ip", "instances", "master", "status",
        "instance_type", "eips", "description", "name", "create_time", "resource_group",
        ["pending"]}]}}, "unassociate_delay", "associate_delay", "latency", "max_instances"}``
        """
        with self._lock:
            self._tick()
            now = self._clock()
            regions: dict[str, Any] = {}
            for region in sorted(set(self._instances) | set(self._havips)):
                havips = []
                for h in sorted(self._havips.get(region, {}).values(), key=lambda h: h.seq):
                    entry: dict[str, Any] = {
                        "id": h.ha_vip_id,
                        "vpc": h.vpc_id,
                        "vswitch": h.vswitch_id,
                        "ip": h.ip_address,
                        "instances": list(h.instances),
                        "master": h.master,
                        "status": h.status,
                        "instance_type": h.instance_type,
                        "eips": list(h.eips),
                        "description": h.description,
                        "name": h.name,
                        "create_time": h.create_time,
                        "resource_group": h.resource_group_id,
                    }
                    if h.pending is not None:
                        entry["pending"] = {
                            "op": h.pending.op,
                            "instance": h.pending.instance_id,
                            "remaining": max(0.0, round(h.pending.due - now, 3)),
                        }
                    havips.append(entry)
                regions[region] = {
                    "instances": [i.to_seed() for i in self._instances.get(region, {}).values()],
                    "havips": havips,
                }
            return copy.deepcopy(
                {
                    "regions": regions,
                    "unassociate_delay": self.unassociate_delay,
                    "associate_delay": self.associate_delay,
                    "latency": self.latency,
                    "max_instances": self.max_instances,
                }
            )


def _parse_int(name: str, value: str | int | None, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        raise VpcApiError(400, "InvalidParameter", f"The specified {name} is invalid: {value!r}.") from None


def _check_instance_status(kind: str, status: str) -> None:
    allowed = ECS_STATUSES if kind == "EcsInstance" else ENI_STATUSES
    if status not in allowed:
        raise ValueError(f"unknown {kind} status {status!r}: one of {sorted(allowed)}")


def _matches(havip: HaVip, wanted: Mapping[str, set[str]]) -> bool:
    fields = {
        "HaVipId": havip.ha_vip_id,
        "VpcId": havip.vpc_id,
        "VSwitchId": havip.vswitch_id,
        "Status": havip.status,
        "HaVipAddress": havip.ip_address,
    }
    return all(fields[key] in values for key, values in wanted.items())


def two_node_pair(region: str = "cn-hangzhou") -> dict[str, Any]:
    """Seed of one HAVIP held by a Running master and a Running standby."""
    return {
        "regions": {
            region: {
                "instances": [
                    {"id": "i-bp1master000000001", "vswitch": "vsw-bp1pair000000000001", "status": "Running"},
                    {"id": "i-bp1standby00000001", "vswitch": "vsw-bp1pair000000000001", "status": "Running"},
                ],
                "havips": [
                    {
                        "id": "havip-bp1pair0000000001",
                        "vpc": "vpc-bp1pair000000000001",
                        "vswitch": "vsw-bp1pair000000000001",
                        "ip": "192.168.1.100",
                        "instances": ["i-bp1master000000001", "i-bp1standby00000001"],
                        "master": "i-bp1master000000001",
                        "status": "InUse",
                        "name": "demo-pair",
                        "description": "keepalived pair (emulator scenario)",
                    }
                ],
            }
        },
        "unassociate_delay": 0.2,
        "latency": 0,
    }
