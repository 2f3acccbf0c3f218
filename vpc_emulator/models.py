"""State and rules of the emulated VPC API (HAVIPs, their tags), of the ECS API's view of
instances and ENIs, and of EventBridge's custom buses (PutEvents, and what each bus received).
No HTTP here.

Every public method is thread-safe. Asynchronous operations (UnassociateHaVip,
AssociateHaVip, an instance's reboot phases) are recorded with a due time on a monotonic
clock and applied lazily at the start of every access, so no timer thread is needed
and nothing can be observed half-applied. Every state change is also kept in a timestamped
history, so a describe can answer from the state of N seconds ago (the describe-lag fault).
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import re
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
# How many HAVIPs one ECS instance / ENI may hold (AssociateHaVip's CountLimitExceed.HaVipOnInstance).
MAX_HAVIPS_PER_INSTANCE = 5
# The account's default resource group, where a HAVIP lands when created without one.
DEFAULT_RESOURCE_GROUP_ID = "rg-acfmemulator00001"
MAX_PAGE_SIZE = 50
CLIENT_TOKEN_MAX_LEN = 64
# Tags (VPC TagResources family): per resource and per request.
MAX_TAGS_PER_RESOURCE = 20
MAX_TAG_LEN = 128
MAX_TAG_RESOURCE_IDS = 50
TAG_RESOURCE_TYPE = "HAVIP"
_TAG_FORBIDDEN_PREFIXES = ("aliyun", "acs:")
_TAG_FORBIDDEN_PARTS = ("http://", "https://")
# ECS limits.
MAX_ECS_IDS = 100
MAX_INSTANCE_STATUS_PAGE_SIZE = 50
MAX_ENI_PAGE_SIZE = 100
# How far back the history answers a lagged describe (older entries are pruned).
HISTORY_SECONDS = 900.0
# EventBridge's limits (its "Limits" page): a batch of at most 16 events, 256 KB an event, 1 MB a
# batch; the fields' lengths; a custom bus's name. Codes for what breaks them are the emulator's
# own (InvalidParameter, as the VPC rules here), where the pages name none.
MAX_EVENTS_PER_PUT = 16
MAX_EVENT_BYTES = 256 * 1024
MAX_PUT_BYTES = 1024 * 1024
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$")
EVENT_BUS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,126}$")
EVENT_FIELD_LIMITS = {"Source": 128, "Subject": 512, "Type": 64}
MAX_KEPT_EVENTS = 10_000  # per bus: the oldest are dropped (an emulator, not an archive)

_ID_ALPHABET = string.ascii_lowercase + string.digits


class VpcApiError(Exception):
    """An error the real VPC API would return: HTTP status, error code and message.

    `extra`: further fields of the error body (e.g. a RAM denial's AccessDeniedDetail)."""

    def __init__(self, http_status: int, code: str, message: str, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{http_status} {code}: {message}")
        self.http_status = http_status
        self.code = code
        self.message = message
        self.extra: dict[str, Any] = dict(extra or {})


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
    attached_to: str | None = None  # ENIs only: the ECS instance it is attached to
    # Status changes still to come, (due, status), oldest first (a reboot's phases).
    schedule: list[tuple[float, str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return instance_kind(self.instance_id)

    def to_seed(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.instance_id, "vswitch": self.vswitch_id, "status": self.status}
        if self.kind == "NetworkInterface":
            out["instance"] = self.attached_to
        return out


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
    tags: dict[str, str] = field(default_factory=dict)  # insertion order is the API's order

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
            "Tags": {"Tag": [{"Key": k, "Value": v} for k, v in self.tags.items()]},
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
        self.max_havips_per_instance = MAX_HAVIPS_PER_INSTANCE
        # A quirk to test clients against: DescribeHaVips reports this TotalCount whatever
        # the truth (None: the truth). A client must read pages while they come back full.
        self.reported_total_count: int | None = None
        # id -> [(time, region, state or None when gone)], oldest first: what a lagged
        # describe reads. HAVIP states are DescribeHaVips items; instance states are seeds.
        self._havip_history: dict[str, list[tuple[float, str, dict[str, Any] | None]]] = {}
        self._instance_history: dict[str, list[tuple[float, str, dict[str, Any] | None]]] = {}
        self._havip_seq: dict[str, int] = {}
        self._seeding = False
        self._instances: dict[str, dict[str, Instance]] = {}
        self._havips: dict[str, dict[str, HaVip]] = {}
        self._tokens: dict[tuple[str, str], _TokenRecord] = {}
        self._seq = 0
        # Completed asynchronous transitions: (ha_vip_id, instance_id, op, completed_at) where
        # completed_at is when it was due on the backend clock, not when an access noticed it.
        self._transitions: list[tuple[str, str, str, float]] = []
        # EventBridge: custom bus name -> the events it received, oldest first.
        self._buses: dict[str, list[dict[str, Any]]] = {}

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

    def now(self) -> float:
        """The backend's clock (the time base of `transitions` and of the history)."""
        return self._clock()

    # ------------------------------------------------------------------ internals

    def _tick(self) -> None:
        """Apply every pending transition that is due, recorded at its due time. Caller holds the lock."""
        now = self._clock()
        for instances in self._instances.values():
            for inst in instances.values():
                while inst.schedule and inst.schedule[0][0] <= now:
                    due, status = inst.schedule.pop(0)
                    inst.status = status
                    self._remember(self._instance_history, inst.instance_id, inst.region, inst.to_seed(), due)
        for region in self._havips.values():
            for havip in region.values():
                pending = havip.pending
                if pending is not None and pending.due <= now:
                    self._complete(havip, pending)
                    self._transitions.append((havip.ha_vip_id, pending.instance_id, pending.op, pending.due))
                    self._remember(self._havip_history, havip.ha_vip_id, havip.region, havip.to_api(), pending.due)

    @staticmethod
    def _remember(
        history: dict[str, list[tuple[float, str, dict[str, Any] | None]]],
        key: str,
        region: str,
        state: dict[str, Any] | None,
        at: float,
    ) -> None:
        entries = history.setdefault(key, [])
        if entries and entries[-1][2] == state:
            return
        at = max(at, entries[-1][0]) if entries else at  # history never runs backwards
        entries.append((at, region, copy.deepcopy(state)))

    def _record(self, at: float | None = None) -> None:
        """Put every state that changed since the last record into the history, at now.

        Every mutating method ends with this (holding the lock)."""
        if self._seeding:
            return
        now = self._clock() if at is None else at
        live_havips = {h.ha_vip_id: h for r in self._havips.values() for h in r.values()}
        for hid, h in live_havips.items():
            self._havip_seq.setdefault(hid, h.seq)
            self._remember(self._havip_history, hid, h.region, h.to_api(), now)
        for hid, entries in self._havip_history.items():
            if hid not in live_havips and entries[-1][2] is not None:
                self._remember(self._havip_history, hid, entries[-1][1], None, now)
        live_instances = {i.instance_id: i for r in self._instances.values() for i in r.values()}
        for iid, inst in live_instances.items():
            self._remember(self._instance_history, iid, inst.region, inst.to_seed(), now)
        for iid, entries in self._instance_history.items():
            if iid not in live_instances and entries[-1][2] is not None:
                self._remember(self._instance_history, iid, entries[-1][1], None, now)
        self._prune(self._clock() - HISTORY_SECONDS)

    def _prune(self, cutoff: float) -> None:
        for history in (self._havip_history, self._instance_history):
            for key in list(history):
                entries = history[key]
                # keep the newest entry at or before the cutoff: it is the state as of then
                keep_from = 0
                for index, (at, _, _) in enumerate(entries):
                    if at <= cutoff:
                        keep_from = index
                if keep_from:
                    del entries[:keep_from]
                if entries[-1][2] is None and entries[-1][0] <= cutoff:
                    del history[key]

    @staticmethod
    def _as_of(
        history: Mapping[str, list[tuple[float, str, dict[str, Any] | None]]],
        region: str,
        when: float,
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, entries in history.items():
            state: dict[str, Any] | None = None
            for at, reg, st in entries:
                if at > when:
                    break
                state = st if reg == region else None
            if state is not None:
                out[key] = copy.deepcopy(state)
        return out

    def _havip_items(self, region: str, lag: float) -> list[dict[str, Any]]:
        """DescribeHaVips items of a region, now or as they were `lag` seconds ago. Caller holds the lock."""
        if lag <= 0:
            return [h.to_api() for h in sorted(self._havips.get(region, {}).values(), key=lambda h: h.seq)]
        then = self._as_of(self._havip_history, region, self._clock() - lag)
        return [then[k] for k in sorted(then, key=lambda k: self._havip_seq.get(k, 0))]

    def _instance_items(self, region: str, lag: float) -> list[dict[str, Any]]:
        """Instance/ENI seeds of a region, now or `lag` seconds ago, in creation order. Caller holds the lock."""
        if lag <= 0:
            return [i.to_seed() for i in self._instances.get(region, {}).values()]
        then = self._as_of(self._instance_history, region, self._clock() - lag)
        order = list(self._instance_history)
        return [then[k] for k in sorted(then, key=order.index)]

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
            self._record()
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
            held = sum(1 for h in self._havips.get(region_id, {}).values() if instance_id in h.instances)
            if held >= self.max_havips_per_instance:
                raise VpcApiError(
                    400,
                    "CountLimitExceed.HaVipOnInstance",
                    "The number of HaVips associated with the specified instance exceeds the limit.",
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
            self._record()
            return request_id

    def describe_ha_vips(
        self,
        region_id: str | None,
        filters: Sequence[tuple[str, Sequence[str]]] = (),
        page_number: str | int | None = None,
        page_size: str | int | None = None,
        tags: Sequence[tuple[str, str | None]] = (),
        *,
        lag: float = 0.0,
    ) -> dict[str, Any]:
        """DescribeHaVips without RequestId: TotalCount, PageNumber, PageSize, HaVips.

        `tags`: (Key, Value) pairs every result must carry (Value None: the key at all).
        `lag`: answer from the state of that many seconds ago."""
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
        for key, _ in tags:
            if not key:
                raise VpcApiError(400, "InvalidTagKey", "The tag keys are not valid.")
        with self._lock:
            self._tick()
            matched = [h for h in self._havip_items(region_id, lag) if _matches(h, wanted) and _has_tags(h, tags)]
            start = (number - 1) * size
            total = len(matched) if self.reported_total_count is None else self.reported_total_count
            return {
                "TotalCount": total,
                "PageNumber": number,
                "PageSize": size,
                "HaVips": {"HaVip": matched[start : start + size]},
            }

    # ------------------------------------------------------------------ tags (VPC TagResources family)

    @staticmethod
    def _check_tag_request(region_id: str | None, resource_type: str | None, resource_ids: Sequence[str]) -> None:
        if not region_id:
            raise missing_parameter("RegionId")
        if not resource_type:
            raise missing_parameter("ResourceType")
        if resource_type.upper() != TAG_RESOURCE_TYPE:  # the API takes the type case-insensitively
            raise VpcApiError(400, "InvalidInstanceType.NotFound", "The instance type is not found")
        if len(resource_ids) > MAX_TAG_RESOURCE_IDS:
            raise VpcApiError(400, "SizeLimitExceeded.ResourceId", "The maximum number of resource IDs is exceeded.")

    @staticmethod
    def _check_tag_key(key: str) -> None:
        if (
            not key
            or len(key) > MAX_TAG_LEN
            or key.lower().startswith(_TAG_FORBIDDEN_PREFIXES)
            or any(p in key for p in _TAG_FORBIDDEN_PARTS)
        ):
            raise VpcApiError(400, "InvalidTagKey", "The tag keys are not valid.")

    def _tagged_havips(self, region_id: str, resource_ids: Sequence[str]) -> list[HaVip]:
        found = self._havips.get(region_id, {})
        if any(r not in found for r in resource_ids):
            raise VpcApiError(400, "InvalidInstanceIds.NotFound", "The instanceIds are not found")
        return [found[r] for r in dict.fromkeys(resource_ids)]

    def tag_resources(
        self,
        region_id: str | None,
        resource_type: str | None,
        resource_ids: Sequence[str],
        tags: Sequence[tuple[str, str]],
    ) -> None:
        """TagResources: add or overwrite tags on HAVIPs, all or none (≤ 20 per HAVIP)."""
        self._check_tag_request(region_id, resource_type, resource_ids)
        assert region_id is not None
        if not resource_ids:
            raise missing_parameter("ResourceId.N")
        if not tags:
            raise missing_parameter("Tag.N.Key")
        if len(tags) > MAX_TAGS_PER_RESOURCE:
            raise VpcApiError(400, "SizeLimitExceeded.TagNum", "The maximum number of tags is exceeded.")
        keys = [k for k, _ in tags]
        if len(set(keys)) != len(keys):
            raise VpcApiError(400, "Forbidden.TagKey.Duplicated", "The specified tag key already exists.")
        for key, value in tags:
            self._check_tag_key(key)
            if (
                len(value) > MAX_TAG_LEN
                or value.lower().startswith(_TAG_FORBIDDEN_PREFIXES)
                or any(p in value for p in _TAG_FORBIDDEN_PARTS)
            ):
                raise VpcApiError(400, "InvalidTagValue", "The tag values are not valid.")
        with self._lock:
            self._tick()
            havips = self._tagged_havips(region_id, resource_ids)
            for havip in havips:
                if len(set(havip.tags) | set(keys)) > MAX_TAGS_PER_RESOURCE:
                    raise VpcApiError(400, "QuotaExceeded.TagNum", "Custom Tags quota exceeded")
            for havip in havips:
                for key, value in tags:
                    havip.tags[key] = value
            self._record()

    def untag_resources(
        self,
        region_id: str | None,
        resource_type: str | None,
        resource_ids: Sequence[str],
        keys: Sequence[str],
        all_tags: str | None = None,
    ) -> None:
        """UnTagResources: remove these keys (or, with All=true, every tag); unknown keys are no error."""
        self._check_tag_request(region_id, resource_type, resource_ids)
        assert region_id is not None
        if not resource_ids:
            raise missing_parameter("ResourceId.N")
        remove_all = (all_tags or "").lower() == "true"
        if not keys and not remove_all:
            raise missing_parameter("TagKey.N")
        if len(keys) > MAX_TAGS_PER_RESOURCE:
            raise VpcApiError(400, "SizeLimitExceeded.TagNum", "The maximum number of tags is exceeded.")
        for key in keys:
            self._check_tag_key(key)
        with self._lock:
            self._tick()
            for havip in self._tagged_havips(region_id, resource_ids):
                if remove_all:
                    havip.tags.clear()
                for key in keys:
                    havip.tags.pop(key, None)
            self._record()

    def list_tag_resources(
        self,
        region_id: str | None,
        resource_type: str | None,
        resource_ids: Sequence[str],
        tags: Sequence[tuple[str, str | None]],
        *,
        max_results: str | int | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """ListTagResources without RequestId: TagResources.TagResource[], NextToken."""
        self._check_tag_request(region_id, resource_type, resource_ids)
        assert region_id is not None
        if not resource_ids and not tags:
            raise VpcApiError(
                403, "BothEmpty.TagsAndResources", "The specified Tags and ResourcesIds are not allow to both empty."
            )
        if len(tags) > MAX_TAGS_PER_RESOURCE:
            raise VpcApiError(400, "SizeLimitExceeded.TagNum", "The maximum number of tags is exceeded.")
        size = _parse_int("MaxResults", max_results, 50)
        if size < 1 or size > 50:
            raise VpcApiError(400, "InvalidParameter", "The specified MaxResults is invalid: 1 to 50.")
        start = _parse_int("NextToken", next_token, 0)
        with self._lock:
            self._tick()
            region = self._havips.get(region_id, {})
            chosen = [region[r] for r in dict.fromkeys(resource_ids) if r in region] if resource_ids else []
            if not resource_ids:
                chosen = sorted(region.values(), key=lambda h: h.seq)
            rows = [
                {"ResourceId": h.ha_vip_id, "ResourceType": TAG_RESOURCE_TYPE, "TagKey": k, "TagValue": v}
                for h in chosen
                if _has_tags(h.to_api(), tags)
                for k, v in h.tags.items()
            ]
            page = rows[start : start + size]
            more = start + size < len(rows)
            return {"NextToken": str(start + size) if more else "", "TagResources": {"TagResource": page}}

    # ------------------------------------------------------------------ ECS (API 2014-05-26)

    @staticmethod
    def _check_ecs_page(page_number: str | int | None, page_size: str | int | None, max_size: int) -> tuple[int, int]:
        number = _parse_int("PageNumber", page_number, 1)
        size = _parse_int("PageSize", page_size, 10)
        if number < 1:
            raise VpcApiError(400, "InvalidParameter.PageNumber", "The specified parameter PageNumber is not valid.")
        if size < 1 or size > max_size:
            raise VpcApiError(
                400, "InvalidParameter.PageSize", f"The specified parameter PageSize is not valid: 1 to {max_size}."
            )
        return number, size

    def describe_instance_status(
        self,
        region_id: str | None,
        instance_ids: Sequence[str] = (),
        page_number: str | int | None = None,
        page_size: str | int | None = None,
        *,
        lag: float = 0.0,
    ) -> dict[str, Any]:
        """ECS DescribeInstanceStatus without RequestId. A released instance is absent."""
        if not region_id:
            raise missing_parameter("RegionId")
        if len(instance_ids) > MAX_ECS_IDS:
            raise VpcApiError(
                400, "InvalidParameter.InstanceIds", f"The specified parameter InstanceId.N exceeds {MAX_ECS_IDS}."
            )
        number, size = self._check_ecs_page(page_number, page_size, MAX_INSTANCE_STATUS_PAGE_SIZE)
        wanted = set(instance_ids)
        with self._lock:
            self._tick()
            rows = [
                {"InstanceId": i["id"], "Status": i["status"]}
                for i in self._instance_items(region_id, lag)
                if str(i["id"]).startswith("i-") and (not wanted or i["id"] in wanted)
            ]
        start = (number - 1) * size
        return {
            "TotalCount": len(rows),
            "PageNumber": number,
            "PageSize": size,
            "InstanceStatuses": {"InstanceStatus": rows[start : start + size]},
        }

    def describe_network_interfaces(
        self,
        region_id: str | None,
        eni_ids: Sequence[str] = (),
        page_number: str | int | None = None,
        page_size: str | int | None = None,
        *,
        lag: float = 0.0,
    ) -> dict[str, Any]:
        """ECS DescribeNetworkInterfaces (PageNumber/PageSize paging) without RequestId."""
        if not region_id:
            raise missing_parameter("RegionId")
        if len(eni_ids) > MAX_ECS_IDS:
            raise VpcApiError(
                400,
                "InvalidParameter.NetworkInterfaceIds",
                f"The specified parameter NetworkInterfaceId.N exceeds {MAX_ECS_IDS}.",
            )
        number, size = self._check_ecs_page(page_number, page_size, MAX_ENI_PAGE_SIZE)
        wanted = set(eni_ids)
        with self._lock:
            self._tick()
            rows = [
                {
                    "NetworkInterfaceId": e["id"],
                    "InstanceId": e.get("instance") or "",
                    "Status": e["status"],
                    "VSwitchId": e.get("vswitch") or "",
                    "Type": "Secondary",
                }
                for e in self._instance_items(region_id, lag)
                if str(e["id"]).startswith("eni-") and (not wanted or e["id"] in wanted)
            ]
        start = (number - 1) * size
        return {
            "TotalCount": len(rows),
            "PageNumber": number,
            "PageSize": size,
            "NetworkInterfaceSets": {"NetworkInterfaceSet": rows[start : start + size]},
        }

    # ------------------------------------------------------------------ EventBridge

    def create_event_bus(self, name: str) -> None:
        """A custom bus (EventBridge's CreateEventBus): PutEvents onto a bus that does not exist fails."""
        if not EVENT_BUS_RE.match(name) or name == "default" or name.startswith("eventbridge-reserved-"):
            raise ValueError(f"{name!r} is not a custom event bus name")
        with self._lock:
            self._buses.setdefault(name, [])

    def event_buses(self) -> list[str]:
        with self._lock:
            return sorted(self._buses)

    def put_events(self, request_id: str, event_bus: str | None, event_list: str | None) -> dict[str, Any]:
        """PutEvents: the events (EventList, a JSON array of CloudEvents as the SDK sends it)
        land on the bus, each with its EventId and a TraceId."""
        if not event_bus:
            raise missing_parameter("EventBusName")
        if not event_list:
            raise missing_parameter("EventList")
        try:
            events = json.loads(event_list)
        except ValueError as exc:
            raise VpcApiError(400, "InvalidParameter", f"EventList is not JSON: {exc}") from None
        if not isinstance(events, list) or not events or not all(isinstance(e, dict) for e in events):
            raise VpcApiError(400, "InvalidParameter", "EventList must be a non-empty array of events.")
        if len(events) > MAX_EVENTS_PER_PUT:
            raise VpcApiError(400, "InvalidParameter", f"EventList holds at most {MAX_EVENTS_PER_PUT} events.")
        if len(event_list.encode()) > MAX_PUT_BYTES:
            raise VpcApiError(400, "InvalidParameter", "The events of one request exceed 1 MB.")
        for n, event in enumerate(events):
            for name in ("Id", "Source", "Type"):
                if not isinstance(event.get(name), str) or not event[name]:
                    raise VpcApiError(400, "InvalidParameter", f"EventList.{n + 1}.{name} is mandatory.")
            if not EVENT_ID_RE.match(event["Id"]):
                raise VpcApiError(
                    400, "InvalidParameter", f"EventList.{n + 1}.Id: letters, digits and hyphens, at most 128."
                )
            for name, most in EVENT_FIELD_LIMITS.items():
                if len(str(event.get(name) or "")) > most:
                    raise VpcApiError(400, "InvalidParameter", f"EventList.{n + 1}.{name}: at most {most} characters.")
            if len(json.dumps(event, ensure_ascii=False).encode()) > MAX_EVENT_BYTES:
                raise VpcApiError(400, "InvalidParameter", f"EventList.{n + 1} exceeds 256 KB.")
        with self._lock:
            if event_bus not in self._buses:
                raise VpcApiError(404, "EventBusNotExist", f"The event bus [{event_bus}] not existed!")
            received = self._buses[event_bus]
            entries = []
            for event in events:
                trace = secrets.token_hex(8)
                received.append({"bus": event_bus, "requestId": request_id, "traceId": trace, "event": event})
                entries.append({"EventId": event["Id"], "TraceId": trace})
            del received[:-MAX_KEPT_EVENTS]
        return {"Code": "200", "Success": True, "Data": {"FailedEntryCount": 0, "EntryList": entries}}

    def received_events(self, event_bus: str | None = None) -> list[dict[str, Any]]:
        """What the buses received, oldest first: {"bus", "requestId", "traceId", "event"}."""
        with self._lock:
            buses = [event_bus] if event_bus is not None else sorted(self._buses)
            return copy.deepcopy([e for b in buses for e in self._buses.get(b, [])])

    def clear_events(self) -> None:
        with self._lock:
            for received in self._buses.values():
                received.clear()

    # ------------------------------------------------------------------ helpers for tests

    def add_instance(
        self,
        instance_id: str,
        region: str,
        vswitch_id: str | None,
        status: str | None = None,
        attached_to: str | None = None,
    ) -> None:
        """Add (or replace) an ECS instance (`i-…`, default Running) or ENI (`eni-…`, InUse;
        `attached_to`: the ECS instance it is attached to)."""
        kind = instance_kind(instance_id)
        if status is None:
            status = "Running" if kind == "EcsInstance" else "InUse"
        _check_instance_status(kind, status)
        if attached_to is not None and kind != "NetworkInterface":
            raise ValueError("only an ENI is attached to an instance")
        with self._lock:
            self._instances.setdefault(region, {})[instance_id] = Instance(
                instance_id, region, vswitch_id, status, attached_to
            )
            self._record()

    def remove_instance(self, instance_id: str) -> None:
        """Forget an instance while leaving any HAVIP association (a platform that failed to
        clean up). `delete_instance` is what the real platform does."""
        with self._lock:
            inst = self._find_instance(instance_id)
            del self._instances[inst.region][instance_id]
            self._record()

    def delete_instance(self, instance_id: str) -> list[str]:
        """Release an ECS instance or ENI as the platform does (the HAVIP documentation: a deleted
        instance or ENI is disassociated by the platform itself): it leaves ECS
        (DescribeInstanceStatus no longer lists it), every HAVIP it was in disassociates it by
        itself at once (the master moving to the remaining node), ENIs attached to a released
        instance are detached. Returns the HAVIPs it was taken out of."""
        with self._lock:
            self._tick()
            inst = self._find_instance(instance_id)
            del self._instances[inst.region][instance_id]
            for other in self._instances.get(inst.region, {}).values():
                if other.attached_to == instance_id:
                    other.attached_to = None
                    other.status = "Available"
            released = []
            for havip in self._havips.get(inst.region, {}).values():
                if havip.pending is not None and havip.pending.instance_id == instance_id:
                    havip.pending = None
                if instance_id in havip.instances:
                    ongoing = havip.pending  # another node's operation goes on
                    self._complete(havip, PendingOp("unassociate", instance_id, self._clock()))
                    if ongoing is not None:
                        havip.pending = ongoing
                        havip.status = "Unassociating" if ongoing.op == "unassociate" else "Associating"
                    self._transitions.append((havip.ha_vip_id, instance_id, "released", self._clock()))
                    released.append(havip.ha_vip_id)
                elif havip.pending is None and havip.status in ("Associating", "Unassociating"):
                    havip.status = "InUse" if havip.instances else "Available"
            self._record()
            return released

    def set_instance_status(self, instance_id: str, status: str) -> None:
        """Set the status now (cancels a reboot in progress)."""
        with self._lock:
            self._tick()
            inst = self._find_instance(instance_id)
            _check_instance_status(inst.kind, status)
            inst.status = status
            inst.schedule.clear()
            self._record()

    def reboot_instance(self, instance_id: str, stopping: float = 1.0, starting: float = 1.0) -> None:
        """An ECS reboot: Stopping now, Starting after `stopping` s, Running `starting` s later."""
        if stopping < 0 or starting < 0:
            raise ValueError("reboot phases must be >= 0 seconds")
        with self._lock:
            self._tick()
            inst = self._find_instance(instance_id)
            if inst.kind != "EcsInstance":
                raise ValueError(f"{instance_id} is not an ECS instance")
            now = self._clock()
            inst.status = "Stopping"
            inst.schedule = [(now + stopping, "Starting"), (now + stopping + starting, "Running")]
            self._record()
            self._tick()  # zero-length phases complete at once

    def attach_eni(self, eni_id: str, instance_id: str | None) -> None:
        """Attach the ENI to an ECS instance (None: detach); its status follows (InUse/Available)."""
        with self._lock:
            eni = self._find_instance(eni_id)
            if eni.kind != "NetworkInterface":
                raise ValueError(f"{eni_id} is not an ENI")
            eni.attached_to = instance_id
            eni.status = "InUse" if instance_id else "Available"
            self._record()

    def set_tags(self, ha_vip_id: str, tags: Mapping[str, str]) -> None:
        """Replace the HAVIP's tags (no API limits: a test may seed any state)."""
        with self._lock:
            self._tick()
            havip = self._find_havip(ha_vip_id)
            havip.tags = {str(k): str(v) for k, v in tags.items()}
            self._record()

    def get_instance(self, instance_id: str) -> dict[str, Any]:
        with self._lock:
            self._tick()
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
            self._record()
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
            self._record()

    def set_master(self, ha_vip_id: str, instance_id: str | None) -> None:
        """Make `instance_id` the master now, as keepalived electing it would."""
        with self._lock:
            self._tick()
            havip = self._find_havip(ha_vip_id)
            if instance_id is not None and instance_id not in havip.instances:
                raise ValueError(f"{instance_id} is not associated with {ha_vip_id}")
            havip.master = instance_id
            self._record()

    def unassociate_now(self, ha_vip_id: str, instance_id: str) -> None:
        """Disassociate at once (no delay, no API rules): another actor's UnassociateHaVip that
        has already completed. The master moves to the first remaining instance, as when the
        API completes one; another instance's transition under way goes on."""
        with self._lock:
            self._tick()
            havip = self._find_havip(ha_vip_id)
            if instance_id not in havip.instances:
                raise ValueError(f"{instance_id} is not associated with {ha_vip_id}")
            ongoing = havip.pending
            if ongoing is not None and ongoing.instance_id == instance_id:
                ongoing = None  # its own transition is over with it
            self._complete(havip, PendingOp("unassociate", instance_id, self._clock()))
            if ongoing is not None:
                havip.pending = ongoing
                havip.status = "Unassociating" if ongoing.op == "unassociate" else "Associating"
            self._record()

    def set_havip_status(self, ha_vip_id: str, status: str) -> None:
        """Set the HAVIP's status now, as a seed can (a HAVIP stuck Creating, say). A transition
        under way is dropped unless the new status is the one it shows."""
        if status not in HAVIP_STATUSES:
            raise ValueError(f"unknown HAVIP status {status!r}")
        with self._lock:
            self._tick()
            havip = self._find_havip(ha_vip_id)
            pending = havip.pending
            shown = {"unassociate": "Unassociating", "associate": "Associating"}
            if pending is not None and shown[pending.op] != status:
                havip.pending = None
            havip.status = status
            self._record()

    def delete_havip(self, ha_vip_id: str) -> None:
        """Release the HAVIP at once (someone deleted it)."""
        with self._lock:
            for region in self._havips.values():
                region.pop(ha_vip_id, None)
            self._record()

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
            self._record()

    def reset(self) -> None:
        """Forget every region, instance, HAVIP and ClientToken (delays are kept)."""
        with self._lock:
            self._instances.clear()
            self._havips.clear()
            self._tokens.clear()
            self._seq = 0
            self._transitions.clear()
            self._havip_history.clear()
            self._instance_history.clear()
            self._havip_seq.clear()
            self._buses.clear()

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
            for bus in data.get("event_buses") or []:
                self.create_event_bus(str(bus))
            regions = data.get("regions") or {}
            if not isinstance(regions, Mapping):
                raise ValueError("seed 'regions' must be an object")
            # Seeded state has always been so: a lagged describe sees it however far back it looks.
            self._seeding = True
            try:
                for region, content in regions.items():
                    self._seed_region(str(region), content or {})
            finally:
                self._seeding = False
            self._record(at=-math.inf)

    def _seed_region(self, region: str, content: Mapping[str, Any]) -> None:
        for item in content.get("instances") or []:
            self.add_instance(str(item["id"]), region, item.get("vswitch"), item.get("status"), item.get("instance"))
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
            havip.tags = {str(k): str(v) for k, v in (item.get("tags") or {}).items()}
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
        "instance_type", "eips", "description", "name", "create_time", "tags", "resource_group",
        ["pending"]}]}}, (an ENI's instance entry also has "instance": the ECS instance it is
        attached to) "unassociate_delay", "associate_delay", "latency", "max_instances",
        ["event_buses": [EventBridge custom bus names], when there are any]}``
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
                        "tags": dict(h.tags),
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
            snapshot: dict[str, Any] = {
                "regions": regions,
                "unassociate_delay": self.unassociate_delay,
                "associate_delay": self.associate_delay,
                "latency": self.latency,
                "max_instances": self.max_instances,
            }
            if self._buses:
                snapshot["event_buses"] = sorted(self._buses)
            return copy.deepcopy(snapshot)


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


def _matches(item: Mapping[str, Any], wanted: Mapping[str, set[str]]) -> bool:
    """Filter.N on a DescribeHaVips item."""
    fields = {
        "HaVipId": item["HaVipId"],
        "VpcId": item["VpcId"],
        "VSwitchId": item["VSwitchId"],
        "Status": item["Status"],
        "HaVipAddress": item["IpAddress"],
    }
    return all(fields[key] in values for key, values in wanted.items())


def _has_tags(item: Mapping[str, Any], tags: Sequence[tuple[str, str | None]]) -> bool:
    """Tags.N on a DescribeHaVips item: it carries every pair (a None value: the key at all)."""
    have = {t["Key"]: t["Value"] for t in item["Tags"]["Tag"]}
    return all(k in have and (v is None or have[k] == v) for k, v in tags)


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
