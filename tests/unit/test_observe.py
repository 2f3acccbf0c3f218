"""Shared looks at HAVIPs, and one driver per incident in a process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from havip_failover.model import HaVip
from havip_failover.observe import REUSE_WINDOW, IncidentLocks, Observer
from havip_failover.vpc import HaVipPage


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CountingVpc:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def describe_ha_vips(self, region_id: str, *, ha_vip_ids: Sequence[str] = (), **_: Any) -> HaVipPage:
        self.calls.append(tuple(ha_vip_ids))
        return HaVipPage(
            [HaVip(i, "InUse", ("i-a", "i-b")) for i in ha_vip_ids if i != "havip-gone"], len(ha_vip_ids), "r"
        )

    def unassociate_ha_vip(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used")

    associate_ha_vip = tag_resources = untag_resources = list_tag_resources = unassociate_ha_vip
    describe_instance_status = describe_network_interfaces = put_events = unassociate_ha_vip


def observer(vpc: CountingVpc, clock: Clock) -> Observer:
    def retrying(call: Callable[[], HaVipPage]) -> HaVipPage:
        return call()

    return Observer(vpc, clock, retrying, lambda: 1.0)


def test_one_describe_serves_every_watched_havip_within_the_window() -> None:
    vpc, clock = CountingVpc(), Clock()
    obs = observer(vpc, clock)
    with obs.watching("r", "havip-1"), obs.watching("r", "havip-2"), obs.watching("r", "havip-3"):
        assert obs.look("r", "havip-1").havip is not None
        assert obs.look("r", "havip-2").havip is not None
        assert obs.look("r", "havip-3").havip is not None
        assert vpc.calls == [("havip-1", "havip-2", "havip-3")]
        clock.now += REUSE_WINDOW  # a new poll cycle: a new look
        obs.look("r", "havip-2")
        assert len(vpc.calls) == 2


def test_a_missing_havip_is_reported_as_none_and_shared_too() -> None:
    vpc, clock = CountingVpc(), Clock()
    obs = observer(vpc, clock)
    with obs.watching("r", "havip-gone"):
        assert obs.look("r", "havip-gone").havip is None
        assert obs.look("r", "havip-gone").havip is None
    assert len(vpc.calls) == 1


def test_forget_forces_a_new_look_after_a_call() -> None:
    vpc, clock = CountingVpc(), Clock()
    obs = observer(vpc, clock)
    obs.look("r", "havip-1")
    obs.forget("havip-1")
    obs.look("r", "havip-1")
    assert len(vpc.calls) == 2


def test_unwatched_havips_are_not_asked_for() -> None:
    vpc, clock = CountingVpc(), Clock()
    obs = observer(vpc, clock)
    with obs.watching("r", "havip-1"):
        pass
    obs.look("r", "havip-2")
    assert vpc.calls == [("havip-2",)]


def test_incident_lock_serialises_the_same_token_and_reports_waiting() -> None:
    locks = IncidentLocks()
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with locks.hold("tok", 5.0) as (mine, waited):
            assert (mine, waited) == (True, False)
            first_in.set()
            time.sleep(0.2)
            order.append("first done")

    def second() -> None:
        first_in.wait()
        with locks.hold("tok", 5.0) as (mine, waited):
            assert (mine, waited) == (True, True)
            order.append("second ran")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order == ["first done", "second ran"]
    assert locks._held == {}  # nothing left behind


def test_incident_lock_times_out_and_other_tokens_do_not_wait() -> None:
    locks = IncidentLocks()
    with locks.hold("tok", 1.0) as (mine, _):
        assert mine
        with locks.hold("other", 0.0) as (other, waited):
            assert (other, waited) == (True, False)
        result: list[tuple[bool, bool]] = []
        t = threading.Thread(target=lambda: result.append(_try(locks)))
        t.start()
        t.join()
        assert result == [(False, True)]


def _try(locks: IncidentLocks) -> tuple[bool, bool]:
    with locks.hold("tok", 0.05) as got:
        return got


class UnfilteredVpc(CountingVpc):
    """An API that ignores the HaVipId filter and pages through every HAVIP."""

    def describe_ha_vips(self, region_id: str, *, ha_vip_ids: Sequence[str] = (), **kw: Any) -> HaVipPage:
        self.calls.append((str(kw.get("page_number")),))
        everything = [HaVip(f"havip-{n:03d}", "InUse", ("i-a", "i-b")) for n in range(120)]
        start = (kw.get("page_number", 1) - 1) * kw.get("page_size", 50)
        return HaVipPage(everything[start : start + kw.get("page_size", 50)], len(everything), "r")


def test_a_havip_is_found_even_when_the_api_ignores_the_filter() -> None:
    vpc, clock = UnfilteredVpc(), Clock()
    found = observer(vpc, clock).look("r", "havip-105").havip
    assert found is not None and found.ha_vip_id == "havip-105"
    assert vpc.calls == [("1",), ("2",), ("3",)]


def test_a_missing_havip_on_an_unfiltering_api_stops_at_the_last_page() -> None:
    vpc, clock = UnfilteredVpc(), Clock()
    assert observer(vpc, clock).look("r", "havip-none").havip is None
    assert len(vpc.calls) == 3
