"""FC's timer trigger (its documented event format: events/README.md, [FC-TIMER]):
`{"triggerTime": "2026-12-01T03:00:00Z", "triggerName": "...", "payload": "<string>"}`.

The payload says what the tick is for: empty (or absent) or `reconcile` -> a reconcile of every
managed HAVIP (no signal: the reconcile is the decision without an event); `ping` -> a warm-up
that makes no API call at all. Anything else is rejected, naming what is accepted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from havip_failover.model import Parsed

from ._common import fail, safe_repr

TIMER_KEYS = frozenset({"triggerTime", "triggerName"})
PAYLOADS = ("", "reconcile", "ping")


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
    what = (payload or "").strip().lower()
    if what not in PAYLOADS:
        fail(
            "InvalidTimerEvent",
            f'the timer\'s payload must be empty or "reconcile" (reconcile every managed HAVIP) or "ping" '
            f"(a warm-up, no API call), got {safe_repr(payload)}",
        )
    if what == "ping":
        return Parsed(signals=[], envelope="timer", warmup=True)
    return Parsed(signals=[], envelope="timer", reconcile=True)
