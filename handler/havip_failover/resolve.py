"""From an event's signals to intents: which HAVIPs does each failed node concern?

A signal that needs no HAVIP (a recovery, an informational or stale event) or that cannot be
placed (no region, not managed, on no HAVIP) ends here with its report. Every other becomes one
`remove` intent per HAVIP that holds the node, with the view the listing showed, for the engine.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from .decide import screen
from .engine import Engine
from .model import HaVip, Intent, Reason, Signal
from .observe import View, pages
from .result import Outcome, Report, error_dict, log_decision
from .vpc import VpcError

log = structlog.get_logger("havip_failover")


class Resolver:
    def __init__(self, engine: Engine, managed_ids: tuple[str, ...], max_event_age: float) -> None:
        self.engine = engine
        self.managed_ids = managed_ids
        self.max_event_age = max_event_age
        # Within one invocation a region is listed once, however many signals need it.
        self._listed: dict[str, tuple[list[HaVip], float]] = {}

    def resolve(
        self, signals: Iterable[tuple[Signal, str | None]]
    ) -> tuple[list[Report], list[tuple[Intent, View | None]]]:
        """Reports for the signals that end here (each logged), intents for the rest."""
        reports: list[Report] = []
        intents: list[tuple[Intent, View | None]] = []
        seen: set[tuple[str | None, str, str]] = set()
        for signal, region in signals:
            key = (signal.ha_vip_id, signal.instance_id, signal.state)
            if key in seen:  # the same statement twice in one batch: one decision
                continue
            seen.add(key)
            structlog.contextvars.bind_contextvars(eventId=signal.event_id)
            found = self._resolve(signal, region)
            if isinstance(found, Report):
                log_decision(found)
                reports.append(found)
            else:
                intents.extend(found)
        return reports, intents

    def _resolve(self, signal: Signal, region: str | None) -> Report | list[tuple[Intent, View | None]]:
        start = self.engine.clock.monotonic()
        age = None if signal.event_time is None else self.engine.wall() - signal.event_time
        screened = screen(state=signal.state, event_age=age, max_event_age=self.max_event_age)
        if screened is not None:
            report = _report(signal, region, signal.ha_vip_id).finish(Outcome.SKIPPED, screened.reason)
            if screened.reason == "stale-event" and age is not None:
                log.warning(
                    "havip.stale_event",
                    instanceId=signal.instance_id,
                    ageSeconds=round(age, 1),
                    maxEventAgeSeconds=self.max_event_age,
                )
                report.event_age, report.max_event_age = age, self.max_event_age
                report.message = (
                    f"the event is {age:.0f} s old, older than HAVIP_MAX_EVENT_AGE_SECONDS "
                    f"({self.max_event_age:.0f} s): the world it describes may have moved on, so nothing was done"
                )
            elif screened.reason == "event-time-in-future" and age is not None:
                report.event_age = age
                report.message = f"the event's time is {-age:.0f} s in the future: check the sender's clock"
            return report
        if region is None:
            return _report(signal, None, signal.ha_vip_id).finish(
                Outcome.FAILED,
                "no-region",
                {
                    "code": "MissingRegion",
                    "message": "the event names no region and neither HAVIP_REGION_ID nor FC_REGION is set",
                    "retryable": False,
                },
            )
        managed = self.managed_ids
        if signal.ha_vip_id is not None:
            if managed and signal.ha_vip_id not in managed:
                return _report(signal, region, signal.ha_vip_id).finish(Outcome.SKIPPED, "not-managed")
            return [(_intent(signal, region, signal.ha_vip_id), None)]
        try:
            candidates, taken_at = self._list(region)
        except VpcError as err:
            report = _report(signal, region, None).finish(Outcome.FAILED, "discovery-failed", error_dict(err))
            if err.request_id:
                report.api_request_ids.append(err.request_id)
            return report
        # A HAVIP being associated does not list the node it is taking on yet: it may be this one
        # (a failback, a person), so it is decided once it has settled.
        holding = [h for h in candidates if signal.instance_id in h.associated_instances or h.status == "Associating"]
        if not holding:
            # The end state we want already holds: the node is on no (managed) HAVIP. (This is
            # also what a re-delivered event finds after the first delivery.)
            reason: Reason = "no-managed-havip-holds-instance" if managed else "no-havip-holds-instance"
            report = _report(signal, region, None).finish(Outcome.ALREADY_UNASSOCIATED, reason)
            report.elapsed_ms = int((self.engine.clock.monotonic() - start) * 1000)
            return report
        return [(_intent(signal, region, h.ha_vip_id), View(h, taken_at)) for h in holding]

    def _list(self, region: str) -> tuple[list[HaVip], float]:
        """Every HAVIP of the region (or of the allowlist), over every page, and when the
        listing started (its first page is the oldest part of what it shows)."""
        if region not in self._listed:
            e = self.engine
            taken_at = e.clock.monotonic()
            found = [h for page in pages(e.vpc, e.retrying, e.call_timeout, region, self.managed_ids) for h in page]
            if self.managed_ids:  # an API that ignores the filter must not widen what we manage
                found = [h for h in found if h.ha_vip_id in self.managed_ids]
            self._listed[region] = (found, taken_at)
        return self._listed[region]


def _intent(signal: Signal, region: str, ha_vip_id: str) -> Intent:
    return Intent(
        kind="remove",
        region_id=region,
        ha_vip_id=ha_vip_id,
        node=signal.instance_id,
        source=signal.source,
        incident=signal.event_id,
        detail=signal.detail,
        requested_force=signal.force,
        instance_type=signal.instance_type,
        # A person's ClientToken is used as given only for the one HAVIP it was meant for: one
        # token on two different requests would make the API answer the second with the first's result.
        client_token=signal.client_token if signal.client_token and signal.ha_vip_id == ha_vip_id else None,
        dry_run=bool(signal.dry_run),
        event_time=signal.event_time,
    )


def _report(signal: Signal, region: str | None, ha_vip_id: str | None) -> Report:
    return Report(
        intent=None,
        source=signal.source,
        state=signal.state,
        node=signal.instance_id,
        event_id=signal.event_id,
        detail=signal.detail,
        region_id=region,
        ha_vip_id=ha_vip_id,
    )
