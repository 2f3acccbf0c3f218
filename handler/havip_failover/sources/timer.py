"""FC's timer trigger (its documented event format: events/README.md, [FC-TIMER]):
`{"triggerTime": "2026-12-01T03:00:00Z", "triggerName": "...", "payload": "<string>"}` -> a
reconcile of every managed HAVIP. No signal: the reconcile is the decision without an event."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from havip_failover.model import Parsed

from ._common import fail, safe_repr

TIMER_KEYS = frozenset({"triggerTime", "triggerName"})


def looks_like_timer(obj: Mapping[str, object]) -> bool:
    return set(obj) >= TIMER_KEYS and "specversion" not in obj


def parse_timer(obj: Mapping[str, object]) -> Parsed:
    when = obj.get("triggerTime")
    name = obj.get("triggerName")
    if not isinstance(name, str) or not name:
        fail("InvalidTimerEvent", f"triggerName must be a non-empty string, got {safe_repr(name)}")
    if not isinstance(when, str):
        fail("InvalidTimerEvent", f"triggerTime must be an ISO-8601 time, got {safe_repr(when)}")
    try:
        datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        fail("InvalidTimerEvent", f"triggerTime must be an ISO-8601 time, got {safe_repr(when)}")
    payload = obj.get("payload")
    if payload is not None and not isinstance(payload, str):
        fail("InvalidTimerEvent", f"payload must be a string (FC's timer sends one), got {safe_repr(payload)}")
    return Parsed(signals=[], envelope="timer", reconcile=True)
