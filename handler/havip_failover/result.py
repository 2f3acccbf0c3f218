"""What one decision reports: the outcome vocabulary, the result entry and the canonical
`havip.decision` log line — the same for every intent and every driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import structlog

from .model import HaVip, IntentKind, Reason, SignalState, SourceName
from .record import iso
from .vpc import VpcError

log = structlog.get_logger("havip_failover")


class Outcome(str, Enum):
    """How a decision ended. `ok` is false exactly for `failed` and `pending`."""

    UNASSOCIATED = "unassociated"  # we took the node off, and saw it finish
    ALREADY_UNASSOCIATED = "already-unassociated"  # it was not (or no longer) on the HAVIP
    ASSOCIATED = "associated"  # we put the node back, and saw it finish
    ALREADY_ASSOCIATED = "already-associated"  # it was back on the HAVIP already
    PLANNED = "planned"  # dry run: this call would have been made
    SKIPPED = "skipped"  # deliberately nothing (the reason says why)
    PENDING = "pending"  # under way or waited for when the deadline came
    FAILED = "failed"  # could not be done; `error` says why

    def __str__(self) -> str:
        return self.value

    @property
    def ok(self) -> bool:
        return self not in (Outcome.FAILED, Outcome.PENDING)


def error_dict(err: VpcError) -> dict[str, Any]:
    return {"code": err.code, "message": err.message, "retryable": err.transient, "requestId": err.request_id}


@dataclass
class RecordWrite:
    """What became of the record writes a decision made."""

    written: list[str] = field(default_factory=list)  # e.g. "removing i-…", "forced", "cleared i-…"
    error: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        return {"ok": self.error is None, "written": list(self.written), "error": self.error}


@dataclass
class Report:
    """The result of one decision, with everything the canonical log line carries."""

    intent: IntentKind | None  # None: the signal never became an intent (screened, no HAVIP)
    source: SourceName
    state: SignalState
    node: str
    event_id: str
    detail: str
    region_id: str | None
    ha_vip_id: str | None
    outcome: Outcome = Outcome.PENDING
    reason: Reason | None = None
    force: bool | None = None
    client_token: str | None = None
    api_request_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    elapsed_ms: int = 0
    error: dict[str, Any] | None = None
    before: HaVip | None = None
    after: HaVip | None = None
    survivors: dict[str, str] | None = None  # ECS status of the other nodes, when read
    node_status: str | None = None  # ECS status of the node itself, when read (failback)
    record: RecordWrite | None = None
    message: str | None = None  # a sentence for people, where the reason alone does not say enough
    event_age: float | None = None  # for a stale event: how old it was, and the limit
    max_event_age: float | None = None

    def finish(self, outcome: Outcome, reason: Reason | None = None, error: dict[str, Any] | None = None) -> Report:
        self.outcome = outcome
        if reason is not None:
            self.reason = reason
        if error is not None:
            self.error = error
        return self

    def to_result(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "haVipId": self.ha_vip_id,
            "instanceId": self.node,
            "regionId": self.region_id,
            "intent": self.intent,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "force": self.force,
            "clientToken": self.client_token,
            "apiRequestIds": list(self.api_request_ids),
            "attempts": self.attempts,
            "elapsedMs": self.elapsed_ms,
            "eventId": self.event_id,
            "statusBefore": self.before.status if self.before else None,
            "statusAfter": self.after.status if self.after else None,
            "masterBefore": self.before.master_instance_id if self.before else None,
            "masterAfter": self.after.master_instance_id if self.after else None,
            "nodesBefore": list(self.before.associated_instances) if self.before else None,
            "nodesAfter": list(self.after.associated_instances) if self.after else None,
            "survivors": dict(self.survivors) if self.survivors is not None else None,
            "record": self.record.public() if self.record is not None else None,
        }
        if self.message is not None:
            result["message"] = self.message
        if self.node_status is not None:
            result["nodeStatus"] = self.node_status
        if self.event_age is not None:
            result["eventAgeSeconds"] = round(self.event_age, 1)
            result["maxEventAgeSeconds"] = self.max_event_age
        if self.error is not None:
            result["error"] = self.error
        return result


def log_decision(report: Report) -> None:
    """The canonical line: one per decision, everything an operator asks at 3 a.m."""
    fields = report.to_result()
    fields.update(source=report.source, state=report.state, detail=report.detail)
    troubled = not report.outcome.ok or (report.record is not None and report.record.error is not None)
    (log.warning if troubled else log.info)("havip.decision", **fields)


__all__ = ["IntentKind", "Outcome", "RecordWrite", "Report", "error_dict", "iso", "log_decision"]
