"""Route one decoded JSON value (a direct event or an HTTP body) to its parser."""

from __future__ import annotations

from collections.abc import Mapping

from havip_failover.model import BadEvent, Ignored, NotForUs, Parsed, ParseOptions, Rejected, Signal

from . import cloudmonitor, drill, ecs, eventbridge, health, manual
from ._common import fail, json_type, load_json, safe_repr, suggest

ACCEPTED_SHAPES = (
    "an EventBridge CloudEvent (specversion, or source+type+data) or a JSON array of them "
    "(or of JSON strings each holding one); "
    'an ECS notification {"product": "ECS", "name", "content", ...}; '
    'a health check {"type": "havip.health", "instanceId", "healthy", ...}; '
    "a manual event with UnassociateHaVip's parameters (HaVipId, InstanceId, RegionId, Force, "
    "InstanceType, ClientToken, DryRun); "
    "a CloudMonitor alarm (alertState, alertName, metricName, dimensions, ...); "
    'a drill order {"action": "drill", "haVipId", "regionId", "dryRun"}; '
    "or an FC HTTP-trigger request carrying one of these"
)
_MAX_KEYS_SHOWN = 10


def dispatch_json(value: object, options: ParseOptions) -> Parsed:
    """A decoded JSON value -> Parsed (envelope "direct" or "eventbridge-batch")."""
    if isinstance(value, list):
        return _batch(value, options)
    if isinstance(value, dict) and drill.looks_like_order(value):
        return Parsed(envelope="direct", drill=drill.parse_drill(value))
    if isinstance(value, dict):
        try:
            return Parsed(signals=[parse_object(value, options)], envelope="direct")
        except NotForUs as skip:
            return Parsed(envelope="direct", ignored=[Ignored(skip.code, skip.message, skip.subject)])
    fail(
        "UnknownEvent",
        f"the event must be a JSON object or array, got {json_type(value)}; accepted: {ACCEPTED_SHAPES}",
    )


def parse_object(obj: Mapping[str, object], options: ParseOptions) -> Signal:
    """One JSON object -> one Signal, by its shape (`NotForUs` for an alarm not for us)."""
    if eventbridge.looks_like_cloudevent(obj):
        return eventbridge.parse_cloudevent(obj, options)
    if health.looks_like_health(obj):
        return health.parse_health(obj, options)
    if ecs.looks_like_notification(obj):
        return ecs.parse_notification(obj)
    if manual.looks_like_manual(obj):
        return manual.parse_manual(obj)
    if cloudmonitor.looks_like_alarm(obj):
        return cloudmonitor.parse_alarm(obj)
    fail("UnknownEvent", f"unrecognised event{_keys_hint(obj)}; accepted: {ACCEPTED_SHAPES}")


def _batch(items: list[object], options: ParseOptions) -> Parsed:
    """A batch: every element read on its own, so one unreadable element loses nothing else.

    Elements are CloudEvents (or bare ECS notifications, EventBridge's RawData), as
    objects or as JSON strings each holding one (the older delivery format). An
    unreadable element is reported in `rejected`; only a batch with nothing readable
    is a rejection of the whole event.
    """
    if not items:
        fail("EmptyBatch", "the event is an empty JSON array: expected EventBridge CloudEvents")
    parsed = Parsed(envelope="eventbridge-batch")
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            signal = _element(item, index, options)
        except NotForUs as skip:
            parsed.ignored.append(Ignored(skip.code, skip.message, skip.subject, index))
            continue
        except BadEvent as exc:
            parsed.rejected.append(Rejected(index, exc.code, f"batch element [{index}]: {exc.message}"))
            continue
        # EventBridge may deliver one event (source+id) twice, even within a batch.
        if signal.event_id not in seen:
            seen.add(signal.event_id)
            parsed.signals.append(signal)
    if parsed.rejected and not parsed.signals and not parsed.ignored:
        first = parsed.rejected[0]
        more = len(parsed.rejected) - 1
        message = first.message + (f" (and {more} more unreadable element(s))" if more else "")
        raise BadEvent(first.code, message, "eventbridge-batch")
    return parsed


def _element(item: object, index: int, options: ParseOptions) -> Signal:
    if isinstance(item, str):
        item = load_json(item, f"the JSON string of batch element [{index}]")
    if isinstance(item, dict) and eventbridge.looks_like_cloudevent(item):
        return eventbridge.parse_cloudevent(item, options)
    if isinstance(item, dict) and ecs.looks_like_notification(item):
        return ecs.parse_notification(item)
    what = json_type(item) if not isinstance(item, dict) else "object"
    hint = _keys_hint(item) if isinstance(item, dict) else ""
    fail(
        "InvalidBatchElement",
        f"a JSON array must hold EventBridge CloudEvents (objects or JSON strings), got a non-CloudEvent {what}{hint}",
    )


def _keys_hint(obj: Mapping[str, object]) -> str:
    if not obj:
        return " (an empty object)"
    keys = sorted(obj)
    shown = ", ".join(safe_repr(key) for key in keys[:_MAX_KEYS_SHOWN])
    more = f" and {len(keys) - _MAX_KEYS_SHOWN} more" if len(keys) > _MAX_KEYS_SHOWN else ""
    if "healthy" in obj and "type" not in obj:
        return f' with keys {shown}{more}; a health check needs "type": "{health.HEALTH_TYPE}"'
    hints = []
    for key in keys[:50]:
        guess = suggest(key, manual.MANUAL_KEYS)
        if guess is not None and guess != key:
            hints.append(f"{safe_repr(key)} -> {guess!r}")
    did_you_mean = f"; did you mean {', '.join(hints)}?" if hints else ""
    return f" with keys {shown}{more}{did_you_mean}"
