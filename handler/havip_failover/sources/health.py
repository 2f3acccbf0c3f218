"""Health-check events from the user's own checker -> one Signal.

Schema (sent directly, POSTed to the HTTP trigger, or as the `data` of an
EventBridge event whose type is ``havip.health``)::

    {
      "type": "havip.health",                 required when sent directly
      "instanceId": "i-…" | "eni-…",          required
      "healthy": false,                       required: true/false (or "true"/"false")
      "consecutiveFailures": 3,               optional, integer >= 0, default 1
      "haVipId": "havip-…",                   optional: only this HAVIP
      "regionId": "cn-hangzhou",              optional: default the function's region
      "checkedAt": "2026-11-27T03:00:00Z",    id or checkedAt required*: when the check ran
      "id": "…",                              id or checkedAt required*: unique per incident
      "checker": "keepalived-notify@db1",     optional, who checked (shown in the detail)
      "message": "…",                         optional, why (shown in the detail)
      "dryRun": true                          optional, a JSON boolean: decide, never mutate
    }

  * ``id`` (or else ``checkedAt``) gives the check its identity, which feeds the
    ClientToken: a retried delivery is the same incident, the next failure another
    one. Sent directly or over HTTP, a check with neither is rejected: its content
    alone would make the node's next failure reuse this one's ClientToken, and the
    API would replay this one's answer instead of acting. Inside EventBridge the
    CloudEvent's ``source:id`` is the identity.

``healthy`` takes the same spellings as a manual event's ``Force``/``DryRun`` (one
helper, `_common.parse_bool`). Time: ``checkedAt`` (ISO 8601; epoch seconds or
milliseconds also read).

State: ``healthy: true`` -> recovered; ``healthy: false`` with ``consecutiveFailures``
at least ``HAVIP_MIN_CONSECUTIVE_FAILURES`` -> failed; below it -> info ("2 of 3
consecutive failures"). A key that looks like a misspelt field (``consecutivefailures``)
is rejected, so a typo cannot silently fall back to the default; other keys are ignored.

Event id: ``health:{id}``, else ``health:{instanceId}:{checkedAt}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from havip_failover.model import ParseOptions, Signal, SignalState

from ._common import (
    clean_text,
    epoch_seconds,
    fail,
    havip_id,
    id_part,
    instance_id,
    iso_seconds,
    json_type,
    parse_bool,
    region_id,
    reject_typos,
    safe_repr,
)

HEALTH_TYPE = "havip.health"
_KEYS = frozenset(
    {
        "type",
        "id",
        "instanceId",
        "haVipId",
        "regionId",
        "healthy",
        "consecutiveFailures",
        "checkedAt",
        "checker",
        "message",
        "dryRun",
    }
)
_MAX_FAILURES = 10**9
_TEXT_LIMIT = 128


def looks_like_health(obj: Mapping[str, object]) -> bool:
    return obj.get("type") == HEALTH_TYPE


def parse_health(
    obj: Mapping[str, object],
    options: ParseOptions,
    *,
    event_id: str | None = None,
    default_region: str | None = None,
    path: str = "",
    default_time: float | None = None,
) -> Signal:
    """One health-check object -> one Signal.

    `event_id` overrides the derived id (EventBridge's `source:id`); `default_region`
    applies when the check names none; `path` prefixes field names in messages;
    `default_time` is the wrapper's time when the check has no readable `checkedAt`.
    """
    reject_typos(obj, sorted(_KEYS), "health-check")
    kind = obj.get("type")
    if kind is not None and kind != HEALTH_TYPE:
        fail("InvalidParameter", f"{path}type must be {HEALTH_TYPE!r}, got {safe_repr(kind)}")

    if obj.get("instanceId") is None:
        fail("MissingInstanceId", f"{path}instanceId is required in a health check")
    instance = instance_id(obj["instanceId"], f"{path}instanceId")
    ha_vip = None if obj.get("haVipId") is None else havip_id(obj["haVipId"], f"{path}haVipId")
    region = default_region
    if obj.get("regionId") is not None:
        region = region_id(obj["regionId"], f"{path}regionId")

    if obj.get("healthy") is None:
        fail("MissingParameter", f"{path}healthy is required (true or false)")
    healthy = parse_bool(obj["healthy"], f"{path}healthy")
    failures = _failures(obj.get("consecutiveFailures"), f"{path}consecutiveFailures")
    raw_checked_at = obj.get("checkedAt")
    if isinstance(raw_checked_at, (int, float)) and not isinstance(raw_checked_at, bool):
        raw_checked_at = str(raw_checked_at)  # epoch seconds/ms sent as a number
    checked_at = _text(raw_checked_at, f"{path}checkedAt")
    check_id = _text(obj.get("id"), f"{path}id")
    checker = _text(obj.get("checker"), f"{path}checker")
    message = _text(obj.get("message"), f"{path}message")
    dry_run = None if obj.get("dryRun") is None else parse_bool(obj["dryRun"], f"{path}dryRun")

    if event_id is None:
        if check_id is not None:
            event_id = f"health:{id_part(check_id)}"
        elif checked_at is not None:
            event_id = f"health:{instance}:{id_part(checked_at)}"
        else:
            fail(
                "MissingParameter",
                f"a health check needs {path}id (unique per incident) or {path}checkedAt (when it ran): "
                "one of them tells this failure from the node's next one",
            )
    event_time = None
    if checked_at is not None:
        event_time = iso_seconds(checked_at)
        if event_time is None:
            event_time = epoch_seconds(checked_at)
    if event_time is None:
        event_time = default_time

    threshold = max(1, options.min_consecutive_failures)
    state: SignalState
    if healthy:
        state, detail = "recovered", "health check healthy"
    elif failures >= threshold:
        state = "failed"
        detail = f"health check unhealthy, {failures} consecutive failure(s) (threshold {threshold})"
    else:
        state = "info"
        detail = f"health check unhealthy, {failures} of {threshold} consecutive failures: no action yet"
    if checker is not None:
        detail += f" by {clean_text(checker, 60)}"
    if message is not None:
        detail += f": {clean_text(message, 120)}"
    if dry_run:
        detail += ", dry run"

    return Signal(
        source="health-check",
        event_id=event_id,
        instance_id=instance,
        state=state,
        detail=detail,
        region_id=region,
        ha_vip_id=ha_vip,
        event_time=event_time,
        dry_run=dry_run,
    )


def _failures(value: object, field: str) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int):
        fail(
            "InvalidParameter",
            f"{field} must be a non-negative integer, got {json_type(value)} {safe_repr(value)}",
        )
    if value < 0 or value > _MAX_FAILURES:
        fail("InvalidParameter", f"{field} must be between 0 and {_MAX_FAILURES}, got {safe_repr(value)}")
    return value


def _text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        fail("InvalidParameter", f"{field} must be a string, got {json_type(value)}")
    if not value.strip() or len(value) > _TEXT_LIMIT:
        fail(
            "InvalidParameter",
            f"{field} must be 1 to {_TEXT_LIMIT} characters, got {safe_repr(value)}",
        )
    return value
