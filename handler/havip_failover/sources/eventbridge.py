"""EventBridge CloudEvents (one per invocation, or an element of a batch) -> one Signal.

Event id: ``{source}:{id}`` (EventBridge may deliver one event twice; source + id
identify it). Region: ``aliyunregionid``, else ``data.regionId``, else None.

Types and states:

* ``ecs:Instance:StateChange``: ``data.content.state`` Stopping / Stopped / Deleted
  -> failed, Running -> recovered, anything else (Starting, Created, Pending, an
  unknown state) -> info. Instance: ``data.content.resourceId``, else the last part
  of the ``data.resourceId`` ARN ``acs:ecs:<region>:<account>:instance/i-…``.
* ``ecs:Instance:SystemFailure.Reboot|Redeploy|Stop|Delete`` and
  ``ecs:Instance:InstanceFailure.Reboot``: failed, whatever the
  ``data.content.eventStatus`` (Scheduled, Executing, Executed, Failed, …), except
  ``Canceled`` / ``Avoided`` -> info (the event will not happen). Instance:
  ``data.content.instanceId``, ``data.content.resourceId`` or the ``data.resourceId`` ARN.
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

import re
from collections.abc import Mapping

from havip_failover.model import ParseOptions, Signal, SignalState

from . import cloudmonitor, health
from ._common import (
    clean_text,
    fail,
    get_ci,
    id_part,
    instance_id,
    is_absent,
    is_instance_id,
    json_type,
    load_json,
    optional_region,
    safe_repr,
)

STATE_CHANGE = "ecs:Instance:StateChange"
FAILURE_TYPES = frozenset(
    {
        "ecs:Instance:SystemFailure.Reboot",
        "ecs:Instance:SystemFailure.Redeploy",
        "ecs:Instance:SystemFailure.Stop",
        "ecs:Instance:SystemFailure.Delete",
        "ecs:Instance:InstanceFailure.Reboot",
    }
)
AGENT_STOPPED = "cms:CloudMonitor:AgentStatusStopped"
AGENT_RUNNING = "cms:CloudMonitor:AgentStatusRunning"
ALERT_WEBHOOK = "cms:CloudMonitor:AlertWebHook"
SUPPORTED_TYPES = (
    STATE_CHANGE,
    *sorted(FAILURE_TYPES),
    AGENT_STOPPED,
    AGENT_RUNNING,
    ALERT_WEBHOOK,
    health.HEALTH_TYPE,
)

_FAILED_STATES = frozenset({"stopping", "stopped", "deleted"})
_RECOVERED_STATES = frozenset({"running"})
_NOT_HAPPENING = frozenset({"canceled", "cancelled", "avoided"})
_ARN_RE = re.compile(r"acs:ecs:[^:]*:[^:]*:(?:instance|networkinterface|eni)/(?P<id>[^/]+)")
_MAX_ID_LEN = 256


def looks_like_cloudevent(obj: Mapping[str, object]) -> bool:
    return "specversion" in obj or all(key in obj for key in ("source", "type", "data"))


def parse_cloudevent(obj: Mapping[str, object], options: ParseOptions) -> Signal:
    event_type = _envelope_text(obj, "type")
    source = _envelope_text(obj, "source")
    ident = _envelope_text(obj, "id")
    event_id = f"{id_part(source)}:{id_part(ident)}"

    data = _data(obj.get("data"))
    region = optional_region(obj.get("aliyunregionid"), "aliyunregionid")
    if region is None and data is not None:
        region = optional_region(data.get("regionId"), "data.regionId")

    if event_type == health.HEALTH_TYPE:
        return health.parse_health(_need(data), options, event_id=event_id, default_region=region, path="data.")
    if event_type == ALERT_WEBHOOK:
        fields = _need(data)
        content = fields.get("content")
        if not cloudmonitor.looks_like_alarm(fields) and isinstance(content, dict):
            return cloudmonitor.parse_alarm(
                content,
                source="eventbridge-cms-alert",
                event_id=event_id,
                default_region=region,
                path="data.content.",
            )
        return cloudmonitor.parse_alarm(
            fields,
            source="eventbridge-cms-alert",
            event_id=event_id,
            default_region=region,
            path="data.",
        )
    if event_type == STATE_CHANGE:
        return _state_change(_need(data), event_id, region)
    if event_type in FAILURE_TYPES:
        return _system_failure(_need(data), event_type, event_id, region)
    if event_type in (AGENT_STOPPED, AGENT_RUNNING):
        return _agent_status(obj, _need(data), event_type, event_id, region)
    fail(
        "UnsupportedEventType",
        f"EventBridge event type {safe_repr(event_type)} is not supported; supported: {', '.join(SUPPORTED_TYPES)}",
    )


def _state_change(data: Mapping[str, object], event_id: str, region: str | None) -> Signal:
    content = _content(data)
    candidates: list[tuple[str, str]] = []
    if content is not None and not is_absent(content.get("resourceId")):
        candidates.append(("data.content.resourceId", instance_id(content["resourceId"], "data.content.resourceId")))
    _add_arn(candidates, data.get("resourceId"), "data.resourceId", strict=True)
    instance = _pick(candidates, "data.content.resourceId or the data.resourceId ARN")

    raw_state = None if content is None else content.get("state")
    if is_absent(raw_state):
        fail("MissingParameter", "data.content.state is required in ecs:Instance:StateChange")
    if not isinstance(raw_state, str):
        fail("InvalidParameter", f"data.content.state must be a string, got {json_type(raw_state)}")
    lowered = raw_state.strip().lower()
    state: SignalState
    if lowered in _FAILED_STATES:
        state = "failed"
    elif lowered in _RECOVERED_STATES:
        state = "recovered"
    else:
        state = "info"
    return Signal(
        source="eventbridge-ecs",
        event_id=event_id,
        instance_id=instance,
        state=state,
        detail=f"ecs state {clean_text(raw_state, 40)}",
        region_id=region,
    )


def _system_failure(data: Mapping[str, object], event_type: str, event_id: str, region: str | None) -> Signal:
    content = _content(data)
    candidates: list[tuple[str, str]] = []
    if content is not None:
        for key in ("instanceId", "resourceId"):
            if not is_absent(content.get(key)):
                field = f"data.content.{key}"
                candidates.append((field, instance_id(content[key], field)))
    _add_arn(candidates, data.get("resourceId"), "data.resourceId", strict=True)
    instance = _pick(candidates, "data.content.instanceId or the data.resourceId ARN")

    status = None if content is None else content.get("eventStatus")
    if not is_absent(status) and not isinstance(status, str):
        fail(
            "InvalidParameter",
            f"data.content.eventStatus must be a string, got {json_type(status)}",
        )
    name = event_type.split(":", 2)[-1]
    detail = f"ecs event {name}"
    state: SignalState = "failed"
    if isinstance(status, str) and not is_absent(status):
        detail += f" ({clean_text(status, 30)})"
        if status.strip().lower() in _NOT_HAPPENING:
            state = "info"
            detail += ": will not happen, no action"
    return Signal(
        source="eventbridge-ecs",
        event_id=event_id,
        instance_id=instance,
        state=state,
        detail=detail,
        region_id=region,
    )


def _agent_status(
    obj: Mapping[str, object],
    data: Mapping[str, object],
    event_type: str,
    event_id: str,
    region: str | None,
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
    _add_arn(candidates, data.get("resourceId"), "data.resourceId", strict=False)
    _add_arn(candidates, obj.get("subject"), "subject", strict=False)
    instance = _pick(
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


def _add_arn(candidates: list[tuple[str, str]], value: object, field: str, *, strict: bool) -> None:
    """Add the instance named by an id or an `acs:ecs:…:instance/i-…` ARN.

    Values that are neither are ignored (the field may name another resource), unless
    `strict` and the value is an ECS instance ARN with a malformed id.
    """
    if not isinstance(value, str) or is_absent(value):
        return
    text = value.strip()
    if is_instance_id(text):
        candidates.append((field, text))
        return
    match = _ARN_RE.fullmatch(text)
    if match is None:
        return
    ident = match.group("id")
    if is_instance_id(ident):
        candidates.append((field, ident))
    elif strict:
        instance_id(ident, f"the instance id in {field}")


def _pick(candidates: list[tuple[str, str]], where: str) -> str:
    distinct = {ident for _, ident in candidates}
    if not distinct:
        fail("MissingInstanceId", f"the event names no instance: looked in {where}")
    if len(distinct) > 1:
        listed = ", ".join(f"{field}={ident}" for field, ident in candidates)
        fail("ConflictingInstanceId", f"the event names different instances: {listed}")
    return candidates[0][1]
