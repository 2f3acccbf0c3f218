"""In-memory stand-ins for the functional tests: a VPC API with the real rules (in
brief) and a clock that advances only when the code sleeps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from havip_failover.model import HaVip
from havip_failover.vpc import HaVipPage, VpcError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


@dataclass
class Call:
    action: str
    params: dict[str, object]


@dataclass
class FakeVpc:
    """HAVIPs by id; UnassociateHaVip goes through `Unassociating` for `settle` seconds of clock."""

    clock: FakeClock
    havips: dict[str, HaVip] = field(default_factory=dict)
    settle: float = 0.5
    errors: dict[str, list[VpcError]] = field(default_factory=dict)  # action -> queue
    # action -> state changes to make just before serving it (a race with our look)
    before: dict[str, list[Callable[[FakeVpc], None]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    # ECS: instance -> status (an instance not listed is Running, as in a healthy pair;
    # set "Absent" to make ECS not know it); ENI -> the instance it is attached to.
    ecs: dict[str, str] = field(default_factory=dict)
    enis: dict[str, str | None] = field(default_factory=dict)
    # DescribeHaVips answers from the state as it was this many seconds of clock ago.
    lag: float = 0.0
    limit: int = 2  # instances per HAVIP
    _history: list[tuple[float, dict[str, HaVip]]] = field(default_factory=list)
    _pending: dict[str, tuple[float, str]] = field(default_factory=dict)

    def add(self, havip: HaVip) -> None:
        self.havips[havip.ha_vip_id] = havip

    def race(self, action: str, change: Callable[[FakeVpc], None]) -> None:
        self.before.setdefault(action, []).append(change)

    def fail_next(self, action: str, *errors: VpcError) -> None:
        self.errors.setdefault(action, []).extend(errors)

    def _tick(self) -> None:
        for hid, (at, instance) in list(self._pending.items()):
            if self.clock.now >= at and instance.startswith("+"):  # an association finishing
                h = self.havips[hid]
                self.havips[hid] = replace(
                    h, associated_instances=(*h.associated_instances, instance[1:]), status="InUse"
                )
                del self._pending[hid]
            elif self.clock.now >= at:
                h = self.havips[hid]
                rest = tuple(i for i in h.associated_instances if i != instance)
                master = h.master_instance_id if h.master_instance_id != instance else (rest[0] if rest else None)
                self.havips[hid] = replace(
                    h, associated_instances=rest, master_instance_id=master, status="InUse" if rest else "Available"
                )
                del self._pending[hid]

    def _as_of(self, at: float) -> dict[str, HaVip]:
        """The HAVIPs as they were at clock time `at` (describe lag)."""
        self._history.append((self.clock.now, dict(self.havips)))
        state = self._history[0][1]
        for when, snapshot in self._history:
            if when <= at:
                state = snapshot
        return state

    def _maybe_fail(self, action: str) -> None:
        changes = self.before.get(action)
        if changes:
            changes.pop(0)(self)
        queue = self.errors.get(action)
        if queue:
            raise queue.pop(0)

    def describe_ha_vips(
        self,
        region_id: str,
        *,
        ha_vip_ids: Sequence[str] = (),
        tags: Sequence[tuple[str, str]] = (),
        page_number: int = 1,
        page_size: int = 50,
        timeout: float = 5.0,
    ) -> HaVipPage:
        self.calls.append(Call("DescribeHaVips", {"region": region_id, "ids": tuple(ha_vip_ids), "page": page_number}))
        self._maybe_fail("DescribeHaVips")
        self._tick()
        items = [h for h in self._as_of(self.clock.now - self.lag).values() if h.region_id in (None, region_id)]
        if ha_vip_ids:
            items = [h for h in items if h.ha_vip_id in ha_vip_ids]
        if tags:
            items = [h for h in items if all(t in h.tags for t in tags)]
        start = (page_number - 1) * page_size
        return HaVipPage(items[start : start + page_size], len(items), f"req-describe-{len(self.calls)}")

    def unassociate_ha_vip(
        self,
        region_id: str,
        ha_vip_id: str,
        instance_id: str,
        *,
        force: bool,
        instance_type: str,
        client_token: str,
        timeout: float = 5.0,
    ) -> str:
        self.calls.append(
            Call(
                "UnassociateHaVip",
                {
                    "havip": ha_vip_id,
                    "instance": instance_id,
                    "force": force,
                    "type": instance_type,
                    "token": client_token,
                },
            )
        )
        self._maybe_fail("UnassociateHaVip")
        self._tick()
        if client_token in self.tokens:
            return self.tokens[client_token]
        h = self.havips.get(ha_vip_id)
        if h is None:
            raise VpcError("InvalidHaVipId.NotFound", "The specified HaVip does not exist.", http_status=404)
        if h.status not in ("Available", "InUse"):
            raise VpcError("IncorrectHaVipStatus", "The status of HaVip is incorrect.", http_status=400)
        if instance_id not in h.associated_instances:
            raise VpcError("ResourceNotAssociated", "not associated", http_status=400)
        if h.master_instance_id == instance_id and not force:  # the API's own rule
            raise VpcError("Forbidden.UnassociateMaster", "master needs Force", http_status=400)
        self.havips[ha_vip_id] = replace(h, status="Unassociating")
        self._pending[ha_vip_id] = (self.clock.now + self.settle, instance_id)
        request_id = f"req-unassociate-{len(self.calls)}"
        self.tokens[client_token] = request_id
        return request_id

    def associate_ha_vip(
        self,
        region_id: str,
        ha_vip_id: str,
        instance_id: str,
        *,
        instance_type: str,
        client_token: str,
        timeout: float = 5.0,
    ) -> str:
        self.calls.append(Call("AssociateHaVip", {"havip": ha_vip_id, "instance": instance_id, "token": client_token}))
        self._maybe_fail("AssociateHaVip")
        self._tick()
        if client_token in self.tokens:
            return self.tokens[client_token]
        h = self.havips.get(ha_vip_id)
        if h is None:
            raise VpcError("InvalidHaVipId.NotFound", "The specified HaVip does not exist.", http_status=404)
        if h.status not in ("Available", "InUse"):
            raise VpcError("IncorrectHaVipStatus", "The status of HaVip is incorrect.", http_status=400)
        if len(h.associated_instances) >= self.limit:
            raise VpcError("CountLimitExceed.HaVipOnInstance", "too many instances", http_status=400)
        if self.ecs.get(instance_id, "Running") not in ("Running", "Stopped"):
            raise VpcError("IncorrectInstanceStatus", "The status of instance is incorrect.", http_status=400)
        self.havips[ha_vip_id] = replace(h, status="Associating")
        self._pending[ha_vip_id] = (self.clock.now + self.settle, "+" + instance_id)
        request_id = f"req-associate-{len(self.calls)}"
        self.tokens[client_token] = request_id
        return request_id

    def tag_resources(self, region_id: str, ha_vip_id: str, tags: Mapping[str, str], *, timeout: float = 5.0) -> str:
        self.calls.append(Call("TagResources", {"havip": ha_vip_id, "tags": dict(tags)}))
        self._maybe_fail("TagResources")
        h = self.havips[ha_vip_id]
        kept = tuple(t for t in h.tags if t[0] not in tags)
        self.havips[ha_vip_id] = replace(h, tags=kept + tuple(tags.items()))
        return f"req-tag-{len(self.calls)}"

    def untag_resources(self, region_id: str, ha_vip_id: str, keys: Sequence[str], *, timeout: float = 5.0) -> str:
        self.calls.append(Call("UnTagResources", {"havip": ha_vip_id, "keys": tuple(keys)}))
        self._maybe_fail("UnTagResources")
        h = self.havips[ha_vip_id]
        self.havips[ha_vip_id] = replace(h, tags=tuple(t for t in h.tags if t[0] not in keys))
        return f"req-untag-{len(self.calls)}"

    def describe_instance_status(
        self, region_id: str, instance_ids: Sequence[str], *, timeout: float = 5.0
    ) -> dict[str, str]:
        self.calls.append(Call("DescribeInstanceStatus", {"region": region_id, "ids": tuple(instance_ids)}))
        self._maybe_fail("DescribeInstanceStatus")
        found = {i: self.ecs.get(i, "Running") for i in instance_ids}
        return {i: s for i, s in found.items() if s != "Absent"}

    def describe_network_interfaces(
        self, region_id: str, eni_ids: Sequence[str], *, timeout: float = 5.0
    ) -> dict[str, str | None]:
        self.calls.append(Call("DescribeNetworkInterfaces", {"region": region_id, "ids": tuple(eni_ids)}))
        self._maybe_fail("DescribeNetworkInterfaces")
        return {e: self.enis[e] for e in eni_ids if e in self.enis}

    def mutations(self) -> list[Call]:
        return [c for c in self.calls if c.action in ("UnassociateHaVip", "AssociateHaVip")]

    def count(self, action: str) -> int:
        return sum(1 for c in self.calls if c.action == action)


def pair(
    ha_vip_id: str = "havip-bp1pair0000000001",
    master: str = "i-bp1master000000001",
    standby: str = "i-bp1standby00000001",
    region: str = "cn-hangzhou",
    instance_type: str = "EcsInstance",
) -> HaVip:
    return HaVip(
        ha_vip_id=ha_vip_id,
        status="InUse",
        associated_instances=(master, standby),
        master_instance_id=master,
        associated_instance_type=instance_type,
        ip_address="192.168.1.100",
        vpc_id="vpc-bp1demo",
        region_id=region,
    )
