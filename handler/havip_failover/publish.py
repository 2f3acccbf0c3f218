"""Telling the operator: one CloudEvent on their EventBridge bus (HAVIP_EVENT_BUS) for every
change, so that a failover reaches a person (a DingTalk robot, a mail, a pager) through the rules
they already route, not only a log line someone has to search.

What is published (docs/operations.md, "Events"), all with source `havip-failover` and subject
`havip/<region>/<HAVIP id>`:

    havip-failover:HaVip:Unassociated   a decision took a node off the HAVIP      data: its result entry
    havip-failover:HaVip:Associated     a decision put a node back (failback)     data: its result entry
    havip-failover:HaVip:Failed         a decision could not be carried out       data: its result entry
    havip-failover:HaVip:Pending        a change was under way at the deadline    data: its result entry
    havip-failover:Pair:Degraded        a pair became degraded (once per change)  data: the pair as inspect shows it
    havip-failover:Pair:Whole           a degraded pair became whole again        data: the pair
    havip-failover:Record:WriteFailed   a record write failed                     data: what was written, the error

Never for `planned`, `skipped` or `already-…` (nothing changed, nothing was tried), never in a dry
run or inspect. Publishing happens after every act of the invocation, within what is left of its
time and at most PUBLISH_SECONDS, retried like any transient call; it never changes an outcome,
`ok`, or a decision's elapsedMs. A failure is in the result's `events` and a warning line.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from . import logs
from .engine import Clock, Deadline, Retry
from .lifecycle import LifecycleRun
from .record import PairState, iso
from .result import Outcome, Report, error_dict
from .vpc import MAX_EVENTS_PER_REQUEST, BusEvent, VpcApi, VpcError

log = structlog.get_logger("havip_failover")

SOURCE = "havip-failover"
# The most publishing may add to an invocation (after its acts): a few requests and a retry.
PUBLISH_SECONDS = 3.0
DECISION_TYPES: Mapping[Outcome, str] = {
    Outcome.UNASSOCIATED: "havip-failover:HaVip:Unassociated",
    Outcome.ASSOCIATED: "havip-failover:HaVip:Associated",
    Outcome.FAILED: "havip-failover:HaVip:Failed",
    Outcome.PENDING: "havip-failover:HaVip:Pending",
}
PAIR_TYPES = {"degraded": "havip-failover:Pair:Degraded", "whole": "havip-failover:Pair:Whole"}
RECORD_FAILED = "havip-failover:Record:WriteFailed"
TYPES = (*DECISION_TYPES.values(), *PAIR_TYPES.values(), RECORD_FAILED)


def subject(region: str | None, ha_vip_id: str | None) -> str:
    return f"havip/{region or 'unknown'}/{ha_vip_id or 'unknown'}"


@dataclass
class Outbox:
    """The events of one invocation, gathered as its decisions end; published at its end."""

    request_id: str
    wall: Callable[[], float]
    events: list[BusEvent] = field(default_factory=list)

    def _add(self, kind: str, key: str, region: str | None, ha_vip_id: str | None, data: Mapping[str, Any]) -> None:
        # Deterministic per invocation: FC's retry of the same invocation re-publishes the same
        # Ids, so a consumer can drop the duplicate ((source, id) is a CloudEvent's identity).
        digest = hashlib.sha256(f"{self.request_id}|{kind}|{key}".encode()).hexdigest()[:40]
        self.events.append(
            BusEvent(
                id=f"{SOURCE}-{digest}",
                source=SOURCE,
                type=kind,
                subject=subject(region, ha_vip_id),
                time=iso(self.wall()),
                data=logs.scrub(dict(data)),  # a secret never leaves in an event
            )
        )

    def decisions(self, reports: Iterable[Report]) -> None:
        for n, report in enumerate(reports):
            entry = report.to_result()
            kind = DECISION_TYPES.get(report.outcome)
            key = f"{n}|{report.ha_vip_id}|{report.node}|{report.intent}"
            if kind is not None and report.intent is not None:
                self._add(kind, key, report.region_id, report.ha_vip_id, entry)
            if report.record is not None and report.record.error is not None:
                self._add(RECORD_FAILED, key, report.region_id, report.ha_vip_id, entry)

    def pair(
        self, region: str, ha_vip_id: str, change: PairState, previous: str | None, pair: Mapping[str, Any]
    ) -> None:
        data = {**pair, "state": change.state, "previousState": previous, "since": iso(change.at)}
        self._add(PAIR_TYPES[change.state], f"pair|{ha_vip_id}", region, ha_vip_id, data)

    def reconciled(self, region: str, run: LifecycleRun) -> None:
        for pair in run.pairs:
            h = pair.havip.ha_vip_id
            if pair.change is not None:
                previous = pair.record.pair.state if pair.record.pair else None
                self.pair(region, h, pair.change, previous, pair.to_result())
            for written, error in pair.record_errors:
                self.record_failed(region, h, written, error)

    def record_failed(self, region: str, ha_vip_id: str, written: list[str], error: Mapping[str, Any]) -> None:
        """A record write of the reconciler's upkeep (no decision of its own to carry it)."""
        data = {"haVipId": ha_vip_id, "regionId": region, "record": {"ok": False, "written": written, "error": error}}
        self._add(RECORD_FAILED, f"upkeep|{ha_vip_id}|{len(self.events)}", region, ha_vip_id, data)


def publish(
    outbox: Outbox,
    vpc: VpcApi,
    *,
    bus: str,
    region: str | None,
    clock: Clock,
    seconds: float,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """Put the outbox's events on the bus, within `seconds`; what became of them, for the result."""
    events = outbox.events
    report: dict[str, Any] = {"bus": bus, "published": 0, "unpublished": len(events), "error": None}
    if not events:
        return report
    # A deadline of their own, with the engine's retries (backoff, jitter, throttling floor):
    # never the decisions' deadline, which may be spent.
    retry = Retry(Deadline(clock, seconds), rng or random.Random())  # noqa: S311 - jitter
    published = 0
    try:
        if region is None:
            raise VpcError("MissingRegion", "no region to publish in: set HAVIP_REGION_ID", kind="permanent")
        for start in range(0, len(events), MAX_EVENTS_PER_REQUEST):
            batch = events[start : start + MAX_EVENTS_PER_REQUEST]

            def put(batch: list[BusEvent] = batch, region: str = region) -> str:
                return vpc.put_events(region, bus, batch, timeout=retry.call_timeout())

            retry.call(put)
            published += len(batch)
    except VpcError as err:
        report["error"] = error_dict(err)
        log.warning(
            "havip.events.failed",
            bus=bus,
            code=err.code,
            message=err.message,
            published=published,
            unpublished=len(events) - published,
            types=[e.type for e in events[published:]],
        )
    else:
        log.info("havip.events.published", bus=bus, published=published, types=[e.type for e in events])
    report.update(published=published, unpublished=len(events) - published)
    return report


__all__ = ["PAIR_TYPES", "PUBLISH_SECONDS", "SOURCE", "TYPES", "Outbox", "publish", "subject"]
