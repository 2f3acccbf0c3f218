"""In-memory stand-ins for the functional tests: the function's `VpcApi` over the local
emulator's own model of the cloud (`vpc_emulator.models.VpcBackend`: its rules, error codes,
asynchronous transitions, describe lag, tags, ECS instances and ENIs), in process, with no HTTP,
on a clock that advances only when the code sleeps.

`FakeVpc` holds no rule of its own: it translates parameters and results, and adds what a test
needs to state a situation and to watch the calls (`add`, `havips`, `ecs`, `enis`, `race`,
`fail_next`, `calls`). A rule a test needs belongs in `VpcBackend`, where the emulator serves it
too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from havip_failover.model import HaVip
from havip_failover.vpc import BusEvent, HaVipPage, VpcError, havip_from_map
from vpc_emulator.models import VpcApiError, VpcBackend, instance_kind

REGION = "cn-hangzhou"
# Every HAVIP and instance a FakeVpc creates is in this one vSwitch (AssociateHaVip's
# NotBelongToSameVSwitch never bites a test by accident); a test may add others via `backend`.
VSWITCH = "vsw-bp1fake0000000001"
VPC = "vpc-bp1demo"
IP = "192.168.1.100"
ACTIONS = (
    "DescribeHaVips",
    "UnassociateHaVip",
    "AssociateHaVip",
    "TagResources",
    "UnTagResources",
    "ListTagResources",
    "DescribeInstanceStatus",
    "DescribeNetworkInterfaces",
    "PutEvents",
)
# The pages the SDK adapter asks for (havip_failover.vpc): ECS ids per call, page sizes.
ECS_IDS_PER_CALL = 100
INSTANCE_STATUS_PAGE_SIZE = 50
ENI_PAGE_SIZE = 100
TAG_PAGE_SIZE = 50


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


@contextmanager
def _translated(request_id: str) -> Iterator[None]:
    """The emulator's API error as the function's: a VpcError carrying the request's id."""
    try:
        yield
    except VpcApiError as err:
        raise VpcError(err.code, err.message, http_status=err.http_status, request_id=request_id) from None


def _chunks(ids: Sequence[str], size: int) -> list[list[str]]:
    unique = list(dict.fromkeys(i for i in ids if i))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


class FakeVpc:
    """The function's VpcApi over a VpcBackend driven by `clock`.

    `lag`: DescribeHaVips answers from the state of that many seconds of clock ago.
    `settle`: seconds a HAVIP stays Unassociating / Associating after an accepted call.
    `limit`: how many instances one HAVIP may hold (the API's default is 2).
    """

    def __init__(
        self, clock: FakeClock, *, lag: float = 0.0, settle: float = 0.5, limit: int = 2, region: str = REGION
    ) -> None:
        self.clock = clock
        self.region = region  # where `add`, `ecs` and `enis` create what they need
        self.lag = lag
        self.backend = VpcBackend(unassociate_delay=settle, clock=clock.monotonic, max_instances=limit)
        self.calls: list[Call] = []
        self._errors: dict[str, list[VpcError]] = {}
        self._races: dict[str, list[Callable[[FakeVpc], None]]] = {}
        self._lock = threading.RLock()  # the engine calls from several threads
        self.havips: MutableMapping[str, HaVip] = _HaVips(self)
        self.ecs: MutableMapping[str, str] = _Ecs(self)
        self.enis: MutableMapping[str, str | None] = _Enis(self)

    # ------------------------------------------------------------------ test conveniences

    @property
    def settle(self) -> float:
        return self.backend.unassociate_delay

    @settle.setter
    def settle(self, seconds: float) -> None:
        self.backend.unassociate_delay = seconds  # AssociateHaVip takes as long (associate_delay None)

    @property
    def limit(self) -> int:
        return self.backend.max_instances

    @limit.setter
    def limit(self, count: int) -> None:
        self.backend.max_instances = count

    def add(self, havip: HaVip) -> None:
        """Create the HAVIP as it has always been (a lagging describe sees it too), its instances
        Running in ECS and associated, master first; an existing one is set as `havips[id] = ...`."""
        self.havips[havip.ha_vip_id] = havip

    def race(self, action: str, change: Callable[[FakeVpc], None]) -> None:
        """Make `change` just before serving the next `action` not yet raced (after our look)."""
        self._check_action(action)
        with self._lock:
            self._races.setdefault(action, []).append(change)

    def fail_next(self, action: str, *errors: VpcError) -> None:
        """The next calls of `action` fail with these errors, one each, before the backend sees them."""
        self._check_action(action)
        with self._lock:
            self._errors.setdefault(action, []).extend(errors)

    def clear_faults(self) -> None:
        """Drop every injected error and raced change not yet used."""
        with self._lock:
            self._errors.clear()
            self._races.clear()

    @contextmanager
    def without_faults(self) -> Iterator[None]:
        """Serve the calls made meanwhile with no injected error or raced change (those wait)."""
        with self._lock:
            errors, races = self._errors, self._races
            self._errors, self._races = {}, {}
        try:
            yield
        finally:
            with self._lock:
                self._errors, self._races = errors, races

    def mutations(self) -> list[Call]:
        return [c for c in self.calls if c.action in ("UnassociateHaVip", "AssociateHaVip")]

    def count(self, action: str) -> int:
        return sum(1 for c in self.calls if c.action == action)

    @staticmethod
    def _check_action(action: str) -> None:
        if action not in ACTIONS:
            raise ValueError(f"not an action of the VpcApi: {action!r}")

    def _serve(self, action: str, params: dict[str, object]) -> str:
        """Record the call, make a raced change, raise an injected error; the call's RequestId."""
        with self._lock:
            self.calls.append(Call(action, params))
            request_id = f"req-{action}-{len(self.calls)}"
            races = self._races.get(action)
            change = races.pop(0) if races else None
            errors = self._errors.get(action)
            error = errors.pop(0) if errors else None
        if change is not None:
            change(self)
        if error is not None:
            raise error
        return request_id

    # ------------------------------------------------------------------ VpcApi

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
        request_id = self._serve("DescribeHaVips", {"region": region_id, "ids": tuple(ha_vip_ids), "page": page_number})
        with _translated(request_id):
            body = self.backend.describe_ha_vips(
                region_id,
                [("HaVipId", list(ha_vip_ids))] if ha_vip_ids else [],
                page_number,
                page_size,
                list(tags),
                lag=self.lag,
            )
        items = body["HaVips"]["HaVip"]
        return HaVipPage([havip_from_map(i, region_id) for i in items], int(body["TotalCount"]), request_id)

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
        request_id = self._serve(
            "UnassociateHaVip",
            {"havip": ha_vip_id, "instance": instance_id, "force": force, "type": instance_type, "token": client_token},
        )
        with _translated(request_id):
            return self.backend.unassociate_ha_vip(
                request_id,
                region_id=region_id,
                ha_vip_id=ha_vip_id,
                instance_id=instance_id,
                client_token=client_token,
                force="true" if force else "false",
                instance_type=instance_type,
            )

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
        request_id = self._serve(
            "AssociateHaVip",
            {"havip": ha_vip_id, "instance": instance_id, "type": instance_type, "token": client_token},
        )
        with _translated(request_id):
            return self.backend.associate_ha_vip(
                request_id,
                region_id=region_id,
                ha_vip_id=ha_vip_id,
                instance_id=instance_id,
                client_token=client_token,
                instance_type=instance_type,
            )

    def tag_resources(self, region_id: str, ha_vip_id: str, tags: Mapping[str, str], *, timeout: float = 5.0) -> str:
        if not tags:
            return ""  # as the SDK adapter: no request
        request_id = self._serve("TagResources", {"havip": ha_vip_id, "tags": dict(tags)})
        with _translated(request_id):
            self.backend.tag_resources(region_id, "HAVIP", [ha_vip_id], list(tags.items()))
        return request_id

    def untag_resources(self, region_id: str, ha_vip_id: str, keys: Sequence[str], *, timeout: float = 5.0) -> str:
        if not keys:
            return ""  # as the SDK adapter: never All=true
        request_id = self._serve("UnTagResources", {"havip": ha_vip_id, "keys": tuple(keys)})
        with _translated(request_id):
            self.backend.untag_resources(region_id, "HAVIP", [ha_vip_id], list(keys))
        return request_id

    def list_tag_resources(self, region_id: str, ha_vip_id: str, *, timeout: float = 5.0) -> dict[str, str]:
        request_id = self._serve("ListTagResources", {"havip": ha_vip_id})
        tags: dict[str, str] = {}
        token: str | None = None
        with _translated(request_id):
            while True:
                body = self.backend.list_tag_resources(
                    region_id, "HAVIP", [ha_vip_id], [], max_results=TAG_PAGE_SIZE, next_token=token
                )
                for row in body["TagResources"]["TagResource"]:
                    tags[str(row["TagKey"])] = str(row["TagValue"])
                token = body["NextToken"] or None
                if token is None:
                    return tags

    def describe_instance_status(
        self, region_id: str, instance_ids: Sequence[str], *, timeout: float = 5.0
    ) -> dict[str, str]:
        request_id = self._serve("DescribeInstanceStatus", {"region": region_id, "ids": tuple(instance_ids)})
        found: dict[str, str] = {}
        with _translated(request_id):
            for chunk in _chunks(instance_ids, ECS_IDS_PER_CALL):
                for body in self._pages(
                    self.backend.describe_instance_status, region_id, chunk, INSTANCE_STATUS_PAGE_SIZE
                ):
                    for row in body["InstanceStatuses"]["InstanceStatus"]:
                        found[str(row["InstanceId"])] = str(row["Status"])
        return found

    def describe_network_interfaces(
        self, region_id: str, eni_ids: Sequence[str], *, timeout: float = 5.0
    ) -> dict[str, str | None]:
        request_id = self._serve("DescribeNetworkInterfaces", {"region": region_id, "ids": tuple(eni_ids)})
        found: dict[str, str | None] = {}
        with _translated(request_id):
            for chunk in _chunks(eni_ids, ECS_IDS_PER_CALL):
                for body in self._pages(self.backend.describe_network_interfaces, region_id, chunk, ENI_PAGE_SIZE):
                    for row in body["NetworkInterfaceSets"]["NetworkInterfaceSet"]:
                        found[str(row["NetworkInterfaceId"])] = str(row["InstanceId"]) or None
        return found

    def put_events(self, region_id: str, event_bus: str, events: Sequence[BusEvent], *, timeout: float = 5.0) -> str:
        """Onto the backend's bus, as the SDK adapter sends them (EventList as JSON)."""
        request_id = self._serve("PutEvents", {"bus": event_bus, "ids": tuple(e.id for e in events)})
        with _translated(request_id):
            listed = json.dumps([e.to_api() for e in events], ensure_ascii=False, separators=(",", ":"))
            self.backend.put_events(request_id, event_bus, listed)
        return request_id

    def events(self, event_bus: str | None = None) -> list[dict[str, Any]]:
        """The CloudEvents the backend's buses received, oldest first (each as PutEvents took it)."""
        return [e["event"] for e in self.backend.received_events(event_bus)]

    @staticmethod
    def _pages(
        listing: Callable[..., dict[str, Any]], region_id: str, ids: list[str], page_size: int
    ) -> Iterator[dict[str, Any]]:
        """Every page of an ECS PageNumber/PageSize listing of `ids`."""
        page = 1
        while True:
            body = listing(region_id, ids, page, page_size)
            yield body
            if page * page_size >= int(body["TotalCount"]):
                return
            page += 1

    # ------------------------------------------------------------------ setting a HAVIP

    def _put(self, havip: HaVip) -> None:
        """Make the backend's HAVIP what `havip` says, with the backend's own helpers."""
        kinds = {instance_kind(i) for i in havip.associated_instances}
        stated = havip.associated_instance_type
        if len(kinds) > 1 or (stated is not None and kinds and kinds != {stated}):
            raise ValueError(f"{havip.ha_vip_id}: one HAVIP holds instances of one type, not {havip}")
        master = havip.master_instance_id
        if master is not None and master not in havip.associated_instances:
            raise ValueError(f"{havip.ha_vip_id}: the master {master} is not one of its instances")
        backend = self.backend
        with self._lock:
            if havip.ha_vip_id not in backend.havip_ids():
                self._create(havip)
                return
            now = havip_from_map(backend.get_havip(havip.ha_vip_id))
            for name in ("region_id", "vpc_id", "ip_address"):
                if getattr(havip, name) not in (None, getattr(now, name)):
                    raise ValueError(f"{havip.ha_vip_id}: a HAVIP's {name} never changes")
            current, wanted = list(now.associated_instances), list(havip.associated_instances)
            keep = 0  # what already is as wanted stays; the rest is taken off and associated in order
            while keep < min(len(current), len(wanted)) and current[keep] == wanted[keep]:
                keep += 1
            for instance in current[keep:]:
                backend.unassociate_now(havip.ha_vip_id, instance)
            for instance in wanted[keep:]:
                backend.associate_now(havip.ha_vip_id, instance)
            self._finish(havip)

    def _create(self, havip: HaVip) -> None:
        master = havip.master_instance_id
        order = ([master] if master else []) + [i for i in havip.associated_instances if i != master]
        # A seed: the HAVIP has always been so, however far back a lagging describe looks.
        self.backend.seed(
            {
                "regions": {
                    havip.region_id or self.region: {
                        "havips": [
                            {
                                "id": havip.ha_vip_id,
                                "vpc": havip.vpc_id or VPC,
                                "vswitch": VSWITCH,
                                "ip": havip.ip_address or IP,
                                "instances": order,
                                "master": master,
                                "status": havip.status,
                                "tags": dict(havip.tags),
                            }
                        ]
                    }
                }
            }
        )
        self._finish(havip)  # what a seed cannot say (no master while holding instances)

    def _finish(self, havip: HaVip) -> None:
        backend, hid = self.backend, havip.ha_vip_id
        now = havip_from_map(backend.get_havip(hid))
        if now.master_instance_id != havip.master_instance_id:
            backend.set_master(hid, havip.master_instance_id)
        if now.status != havip.status:
            backend.set_havip_status(hid, havip.status)
        if now.tags != havip.tags:
            backend.set_tags(hid, dict(havip.tags))


class _HaVips(MutableMapping[str, HaVip]):
    """The backend's HAVIPs as the function's model reads them; assigning one sets it."""

    def __init__(self, vpc: FakeVpc) -> None:
        self._vpc = vpc

    def __getitem__(self, ha_vip_id: str) -> HaVip:
        return havip_from_map(self._vpc.backend.get_havip(ha_vip_id))

    def __setitem__(self, ha_vip_id: str, havip: HaVip) -> None:
        if havip.ha_vip_id != ha_vip_id:
            raise ValueError(f"havips[{ha_vip_id!r}] set to {havip.ha_vip_id}")
        self._vpc._put(havip)

    def __delitem__(self, ha_vip_id: str) -> None:
        if ha_vip_id not in self._vpc.backend.havip_ids():
            raise KeyError(ha_vip_id)
        self._vpc.backend.delete_havip(ha_vip_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._vpc.backend.havip_ids())

    def __len__(self) -> int:
        return len(self._vpc.backend.havip_ids())


class _Instances:
    """What ECS knows, read from the backend's snapshot (only to list them)."""

    def __init__(self, vpc: FakeVpc, kind: str) -> None:
        self._vpc = vpc
        self._kind = kind

    def _get(self, instance_id: str) -> dict[str, Any]:
        if not instance_id.startswith(("i-", "eni-")) or instance_kind(instance_id) != self._kind:
            raise KeyError(instance_id)
        return self._vpc.backend.get_instance(instance_id)

    def _known(self, instance_id: str) -> bool:
        try:
            self._get(instance_id)
        except KeyError:
            return False
        return True

    def _ids(self) -> list[str]:
        regions = self._vpc.backend.snapshot()["regions"].values()
        return [str(i["id"]) for r in regions for i in r["instances"] if instance_kind(str(i["id"])) == self._kind]

    def _check(self, instance_id: str) -> None:
        if instance_kind(instance_id) != self._kind:
            raise ValueError(f"{instance_id} is not an {self._kind}")


class _Ecs(_Instances, MutableMapping[str, str]):
    """ECS instance -> status. Setting an unknown instance creates it (in the fakes' vSwitch);
    "Absent" (or `del`) releases it, which VpcBackend.delete_instance plays as the platform does:
    every HAVIP holding it drops it at once, ENIs attached to it are detached."""

    def __init__(self, vpc: FakeVpc) -> None:
        super().__init__(vpc, "EcsInstance")

    def __getitem__(self, instance_id: str) -> str:
        return str(self._get(instance_id)["status"])

    def __setitem__(self, instance_id: str, status: str) -> None:
        self._check(instance_id)
        backend = self._vpc.backend
        if status == "Absent":
            if self._known(instance_id):
                backend.delete_instance(instance_id)
        elif self._known(instance_id):
            backend.set_instance_status(instance_id, status)
        else:
            backend.add_instance(instance_id, self._vpc.region, VSWITCH, status)

    def __delitem__(self, instance_id: str) -> None:
        self._get(instance_id)
        self._vpc.backend.delete_instance(instance_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids())

    def __len__(self) -> int:
        return len(self._ids())


class _Enis(_Instances, MutableMapping[str, str | None]):
    """ENI -> the ECS instance it is attached to (None: detached). Setting an unknown ENI creates
    it; attaching to an instance ECS does not know creates that Running (an ENI is only ever
    attached to an instance that exists), as `add` creates a HAVIP's instances."""

    def __init__(self, vpc: FakeVpc) -> None:
        super().__init__(vpc, "NetworkInterface")

    def __getitem__(self, eni_id: str) -> str | None:
        attached = self._get(eni_id).get("instance")
        return str(attached) if attached else None

    def __setitem__(self, eni_id: str, instance_id: str | None) -> None:
        self._check(eni_id)
        backend, region = self._vpc.backend, self._vpc.region
        if instance_id is not None and instance_id not in self._vpc.ecs:
            backend.add_instance(instance_id, region, VSWITCH)
        if not self._known(eni_id):
            backend.add_instance(eni_id, region, VSWITCH)
        backend.attach_eni(eni_id, instance_id)

    def __delitem__(self, eni_id: str) -> None:
        self._get(eni_id)
        self._vpc.backend.delete_instance(eni_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids())

    def __len__(self) -> int:
        return len(self._ids())


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
