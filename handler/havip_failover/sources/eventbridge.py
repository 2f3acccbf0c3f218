"""EventBridge CloudEvents (one per invocation, or an element of a batch) -> one Signal.

Event id: ``{source}:{id}`` (EventBridge may deliver one event twice; source + id
identify it). Region: ``aliyunregionid``, else ``data.regionId``, else None. Time: the
CloudEvent's ``time`` (for an alarm or a health check, their own ``timestamp`` /
``checkedAt`` first).

Types:

* ``ecs:<name>`` (source ``acs.ecs``): ``data`` is an ECS notification named
  ``<name>`` — ``Instance:StateChange``, the system events (``SystemFailure.*``,
  ``InstanceFailure.Reboot``, ``SystemMaintenance.*``, with or without a trailing
  ``:<status>``) and ``Instance:PreemptibleInstanceInterruption``; read by the
  `ecs` module (its docstring has the table of what each status means).
* ``cms:CloudMonitor:AgentStatusStopped`` -> failed, ``…AgentStatusRunning`` ->
  recovered. Their data schema is not well documented: the instance is looked for
  in ``data.instanceId``, ``data.InstanceId``, ``data.dimensions``,
  ``data.content.instanceId``, ``data.resourceId`` and ``subject`` (the last two
  only when they hold an instance id or an instance ARN); several different ids
  are rejected.
* ``cms:CloudMonitor:AlertWebHook``: ``data`` (or ``data.content``) is a CloudMonitor
  alarm, read as by the callback parser (source ``eventbridge-cms-alert``).
* ``havip.health`` (any source, typically a custom bus): ``data`` is a health check
  (source ``health-check``).

Any other type is rejected (``UnsupportedEventType``).
"""

from __future__ import annotations

from collections.abc import Mapping

from havip_failover.model import ParseOptions, Signal

from . import cloudmonitor, ecs, health
from ._common import (
    clean_text,
    fail,
    get_ci,
    id_part,
    instance_id,
    is_absent,
    iso_seconds,
    json_type,
    load_json,
    optional_region,
    safe_repr,
)

AGENT_STOPPED = "cms:CloudMonitor:AgentStatusStopped"
AGENT_RUNNING = "cms:CloudMonitor:AgentStatusRunning"
ALERT_WEBHOOK = "cms:CloudMonitor:AlertWebHook"
ECS_PREFIX = "ecs:"
SUPPORTED_TYPES = (
    *(ECS_PREFIX + name for name in ecs.SUPPORTED_NAMES),
    AGENT_STOPPED,
    AGENT_RUNNING,
    ALERT_WEBHOOK,
    health.HEALTH_TYPE,
)

_MAX_ID_LEN = 256


def looks_like_cloudevent(obj: Mapping[str, object]) -> bool:
    return "specversion" in obj or all(key in obj for key in ("source", "type", "data"))


def parse_cloudevent(obj: Mapping[str, object], options: ParseOptions) -> Signal:
    event_type = _envelope_text(obj, "type")
    source = _envelope_text(obj, "source")
    ident = _envelope_text(obj, "id")
    event_id = f"{id_part(source)}:{id_part(ident)}"
    event_time = iso_seconds(obj.get("time"))

    data = _data(obj.get("data"))
    region = optional_region(obj.get("aliyunregionid"), "aliyunregionid")
    if region is None and data is not None:
        region = optional_region(data.get("regionId"), "data.regionId")

    if event_type == health.HEALTH_TYPE:
        return health.parse_health(
            _need(data), options, event_id=event_id, default_region=region, path="data.", default_time=event_time
        )
    if event_type == ALERT_WEBHOOK:
        fields = _need(data)
        content = fields.get("content")
        inner, path = fields, "data."
        if not cloudmonitor.looks_like_alarm(fields) and isinstance(content, dict):
            inner, path = content, "data.content."
        return cloudmonitor.parse_alarm(
            inner,
            source="eventbridge-cms-alert",
            event_id=event_id,
            default_region=region,
            path=path,
            default_time=event_time,
        )
    name = event_type[len(ECS_PREFIX) :]
    if event_type.startswith(ECS_PREFIX) and ecs.is_supported(name):
        return ecs.read(_need(data), name, event_id=event_id, region=region, path="data.", event_time=event_time)
    if event_type in (AGENT_STOPPED, AGENT_RUNNING):
        return _agent_status(obj, _need(data), event_type, event_id, region=region, event_time=event_time)
    fail(
        "UnsupportedEventType",
        f"EventBridge event type {safe_repr(event_type)} is not supported; supported: {', '.join(SUPPORTED_TYPES)} "
        "(an ECS system event's type may end with :<status>)",
    )


def _agent_status(
    obj: Mapping[str, object],
    data: Mapping[str, object],
    event_type: str,
    event_id: str,
    *,
    region: str | None,
    event_time: float | None,
) -> Signal:
    candidates: list[tuple[str, str]] = []
    for key in ("instanceId", "InstanceId"):
        if not is_absent(data.get(key)):
            candidates.append((f"data.{key}", instance_id(data[key], f"data.{key}")))
    dimensions = cloudmonitor.parse_dimensions(data.get("dimensions"), "data.dimensions")
    found = get_ci(dimensions, "instanceId")
    if found is not None and not is_absent(found[1]):
        field = f"data.dimensions.{clean_text(found[0], 30)}"
        candidates.append((field, instance_id(found[1], field)))
    content = _content(data)
    if content is not None and not is_absent(content.get("instanceId")):
        candidates.append(("data.content.instanceId", instance_id(content["instanceId"], "data.content.instanceId")))
    ecs.add_arn(candidates, data.get("resourceId"), "data.resourceId", strict=False)
    ecs.add_arn(candidates, obj.get("subject"), "subject", strict=False)
    instance = ecs.pick(
        candidates,
        "data.instanceId, data.dimensions, data.content.instanceId, data.resourceId or subject",
    )
    stopped = event_type == AGENT_STOPPED
    return Signal(
        source="eventbridge-cms-agent",
        event_id=event_id,
        instance_id=instance,
        state="failed" if stopped else "recovered",
        detail="cloudmonitor agent stopped reporting" if stopped else "cloudmonitor agent running again",
        region_id=region,
        event_time=event_time,
    )


# --------------------------------------------------------------------------- helpers


def _envelope_text(obj: Mapping[str, object], key: str) -> str:
    value = obj.get(key)
    if value is None:
        fail("MissingParameter", f"the EventBridge event has no {key!r}")
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_ID_LEN:
        fail(
            "InvalidParameter",
            f"the EventBridge event's {key!r} must be a non-empty string of at most "
            f"{_MAX_ID_LEN} characters, got {safe_repr(value)}",
        )
    return value


def _object(value: object, field: str) -> Mapping[str, object] | None:
    """An optional object of the event (a JSON string of an object is accepted)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = load_json(value, field)
    if not isinstance(value, dict):
        fail("InvalidParameter", f"{field} must be an object, got {json_type(value)}")
    return value


def _data(value: object) -> Mapping[str, object] | None:
    """The CloudEvent's data as an object."""
    return _object(value, "data")


def _need(data: Mapping[str, object] | None) -> Mapping[str, object]:
    if data is None:
        fail("MissingParameter", "the EventBridge event has no data")
    return data


def _content(data: Mapping[str, object]) -> Mapping[str, object] | None:
    return _object(data.get("content"), "data.content")
