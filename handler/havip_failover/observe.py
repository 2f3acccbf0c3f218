"""Looking at HAVIPs without waste, and one driver per incident in a warm instance.

`Observer` serves every HAVIP an invocation is watching from one DescribeHaVips (a filter
with all their ids): eight HAVIPs being disassociated at once still cost about one call
per 250 ms, not eight — the API is rate-limited. `IncidentLocks` makes concurrent
deliveries of one incident inside one instance wait for each other instead of racing:
the second looks after the first has finished and finds the work done.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .model import HaVip
from .vpc import HaVipPage, VpcApi

# A look that started less than this ago is shared by the other HAVIPs' polls: half the
# 250 ms poll interval, so a HAVIP's own next poll (one interval later) always looks anew.
REUSE_WINDOW = 0.125
PAGE_SIZE = 50  # DescribeHaVips' maximum
MAX_PAGES = 200  # 10,000 HAVIPs: far beyond any region's quota; stops a runaway listing


@dataclass(frozen=True)
class View:
    """A HAVIP as one DescribeHaVips showed it (None: it does not exist), and the monotonic
    time that look started: the state shown is no newer than that (a describe may lag)."""

    havip: HaVip | None
    taken_at: float


def pages(
    vpc: VpcApi,
    retrying: Callable[[Callable[[], HaVipPage]], HaVipPage],
    call_timeout: Callable[[], float],
    region: str,
    ids: Sequence[str] = (),
    *,
    tags: Sequence[tuple[str, str]] = (),
) -> Iterator[list[HaVip]]:
    """DescribeHaVips page after page (filtered by `ids` / `tags` when given), lazily, until the last."""
    number, total = 1, 0
    while True:
        call = functools.partial(
            vpc.describe_ha_vips, region, ha_vip_ids=ids, tags=tuple(tags), page_number=number, page_size=PAGE_SIZE
        )
        page = retrying(lambda: call(timeout=call_timeout()))  # noqa: B023 - called at once
        yield page.havips
        total += len(page.havips)
        # Read on while pages come back full, whatever TotalCount says: a TotalCount smaller
        # than the truth must not hide a HAVIP. A short page is the last unless TotalCount
        # promises more.
        more = len(page.havips) >= PAGE_SIZE or total < page.total_count
        if not page.havips or not more or number >= MAX_PAGES:
            return
        number += 1


class Observer:
    def __init__(
        self,
        vpc: VpcApi,
        monotonic: Callable[[], float],
        retrying: Callable[[Callable[[], HaVipPage]], HaVipPage],
        call_timeout: Callable[[], float],
    ) -> None:
        self._vpc = vpc
        self._monotonic = monotonic
        self._retrying = retrying
        self._call_timeout = call_timeout
        self._fetch = threading.Lock()  # one DescribeHaVips at a time; the others reuse it
        self._watched: dict[str, set[str]] = {}
        self._seen: dict[str, tuple[float, HaVip | None]] = {}

    @contextmanager
    def watching(self, region: str, ha_vip_id: str) -> Iterator[None]:
        with self._fetch:
            self._watched.setdefault(region, set()).add(ha_vip_id)
        try:
            yield
        finally:
            with self._fetch:
                self._watched[region].discard(ha_vip_id)

    def forget(self, ha_vip_id: str) -> None:
        """After a call that may change it: the next look at this HAVIP must be new."""
        with self._fetch:
            self._seen.pop(ha_vip_id, None)

    def look(self, region: str, ha_vip_id: str, *, not_before: float = float("-inf")) -> View:
        """The HAVIP now: a look another HAVIP's poll started less than REUSE_WINDOW ago is
        shared, unless it started before `not_before` (our own last call's answer)."""
        with self._fetch:
            seen = self._seen.get(ha_vip_id)
            if seen is not None and seen[0] >= not_before and self._monotonic() - seen[0] < REUSE_WINDOW:
                return View(seen[1], seen[0])
            ids = tuple(sorted(self._watched.get(region, set()) | {ha_vip_id}))
            started = self._monotonic()  # the state seen is at least this fresh
            found: dict[str, HaVip] = {}
            # An API that ignores the filter pages through everything: follow it until every
            # id is found or the pages end (a filtering API answers in one page).
            for page in pages(self._vpc, self._retrying, self._call_timeout, region, ids):
                found.update((h.ha_vip_id, h) for h in page)
                if all(i in found for i in ids):
                    break
            for i in ids:
                self._seen[i] = (started, found.get(i))
            return View(found.get(ha_vip_id), started)


class IncidentLocks:
    """Per-process: one driver at a time per ClientToken (HAVIP, instance, incident)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, list[Any]] = {}  # token -> [lock, users]

    @contextmanager
    def hold(self, token: str, timeout: float) -> Iterator[tuple[bool, bool]]:
        """Yields (acquired, waited): waited means another driver held it first."""
        with self._lock:
            entry = self._held.setdefault(token, [threading.Lock(), 0])
            entry[1] += 1
        lock: threading.Lock = entry[0]
        waited = not lock.acquire(blocking=False)
        acquired = not waited or lock.acquire(timeout=max(0.0, timeout))
        try:
            yield acquired, waited
        finally:
            if acquired:
                lock.release()
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._held[token]


INCIDENTS = IncidentLocks()
