"""Health-check events from the user's own checker -> one Signal.

Schema (sent directly, POSTed to the HTTP trigger, or as the `data` of an
EventBridge event whose type is ``havip.health``)::

    {
      "type": "havip.health",                 required when sent directly
      "instanceId": "i-…" | "eni-…",          required
      "healthy": false,                       required, a JSON boolean
      "consecutiveFailures": 3,               optional, integer >= 0, default 1
      "haVipId": "havip-…",                   optional: only this HAVIP
      "regionId": "cn-hangzhou",              optional: default the function's region
      "checkedAt": "2026-11-27T03:00:00Z",    optional*, when the check ran
      "id": "…",                              optional*, the checker's event id
      "checker": "keepalived-notify@db1",     optional, who checked (shown in the detail)
      "message": "…",                         optional, why (shown in the detail)
      "dryRun": true                          optional, a JSON boolean: decide, never mutate
    }

  * ``id`` (or else ``checkedAt``) gives the check its identity, which feeds the
    ClientToken: a retried delivery is the same incident. Without either, a hash of
    the content is used. Inside EventBridge the CloudEvent's ``source:id`` is used.

State: ``healthy: true`` -> recovered; ``healthy: false`` with ``consecutiveFailures``
at least ``HAVIP_MIN_CONSECUTIVE_FAILURES`` -> failed; below it -> info ("2 of 3
consecutive failures"). A key that looks like a misspelt field (``consecutivefailures``)
is rejected, so a typo cannot silently fall back to the default; other keys are ignored.

Event id: ``health:{id}``, else ``health:{instanceId}:{checkedAt}``, else
``health:{instanceId}:h{content hash}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from havip_failover.model import ParseOptions, Signal, SignalState

from ._common import (
    canonical_json,
    clean_text,
    fail,
    havip_id,
    id_part,
    instance_id,
    json_type,
    parse_bool,
    region_id,
    reject_typos,
    safe_repr,
    sha256_hex,
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
) -> Signal:
    """One health-check object -> one Signal.

    `event_id` overrides the derived id (EventBridge's `source:id`); `default_region`
    applies when the check names none; `path` prefixes field names in messages.
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

    healthy = obj.get("healthy")
    if healthy is None:
        fail("MissingParameter", f"{path}healthy is required (true or false)")
    if not isinstance(healthy, bool):
        fail(
            "InvalidParameter",
            f"{path}healthy must be a JSON boolean, got {json_type(healthy)} {safe_repr(healthy)}",
        )
    failures = _failures(obj.get("consecutiveFailures"), f"{path}consecutiveFailures")
    checked_at = _text(obj.get("checkedAt"), f"{path}checkedAt")
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
            # No identity given: the content is the identity (a re-sent check is the same incident).
            fields = {
                "instanceId": instance,
                "haVipId": ha_vip,
                "regionId": region,
                "healthy": healthy,
                "consecutiveFailures": failures,
                "checker": checker,
            }
            event_id = f"health:{instance}:h{sha256_hex(canonical_json(fields))[:24]}"

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
