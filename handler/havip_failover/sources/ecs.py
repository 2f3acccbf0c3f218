"""ECS notifications -> one Signal, however they arrive.

The same notification reaches the function in two wrappings:

* as the ``data`` of an EventBridge CloudEvent whose ``type`` is ``ecs:<name>``
  (``ecs:Instance:StateChange``, ``ecs:Instance:SystemFailure.Reboot`` …);
* bare: ``{"ver", "id", "product": "ECS", "resourceId", "level", "name", "userId",
  "eventTime", "regionId", "content"}`` — EventBridge with ``eventSchema: RawData``,
  CloudMonitor's MNS and Function Compute push channels (invoked directly), and
  CloudMonitor's event subscription pushed to a webhook (a JSON POST to the HTTP
  trigger). ``content`` may be an object or a JSON string. (The documents behind these
  shapes: events/README.md, [ECS-N], [CMS-SUB], [FC-EB].)

The name is ``<resource type>:<event>[:<status>]`` (ECS "Event notification
overview"); the status of a system event is also in ``content.eventStatus``. Both are
read; when both are given they must agree.

What each event means (the signal):

* ``Instance:StateChange``: ``content.state`` Stopping / Stopped / Deleted -> failed
  (Stopping also covers a reboot: ECS documents Stopping as "stopping or
  rebooting"), Running -> recovered, any other state -> info.
* System events that take the node down — ``SystemFailure.*``,
  ``InstanceFailure.Reboot`` and ``SystemMaintenance.*`` whose action reboots,
  redeploys, stops or deletes — by their status:

  ===================================  ===================================================
  eventStatus                          signal
  ===================================  ===================================================
  ``Executing``                        failed: it is happening now, the node is going down
  ``Executed`` of a reboot / redeploy  recovered: it is over and the node is back
  ``Executed`` of a stop / delete      failed: the node is stopped or released
  ``Scheduled``, ``Inquiring``         info: announced, it has not happened (the node is up)
  ``Avoided``, ``Canceled``            info: it will not happen
  ``Failed``, any other                info: says nothing certain about the node
  (none)                               ``SystemFailure`` / ``InstanceFailure``: failed (the
                                       type itself reports a failure); ``SystemMaintenance``:
                                       info (maintenance is announced before it happens)
  ===================================  ===================================================

  ``SystemMaintenance`` events that touch only disks (``IsolateErrorDisk``,
  ``ReInitErrorDisk``) are info whatever their status.
* ``Instance:PreemptibleInstanceInterruption`` (``content.action``: ``delete``): the
  spot instance is released in about five minutes -> failed. Moving the VIP while
  the node can still answer costs one planned switch; waiting costs an outage from
  the release until something else notices. Another ``action`` -> info.

Event id: the CloudEvent's ``source:id`` when wrapped, else ``ecs:{id}`` (the
notification's own id: unique per notification, the same on a re-delivery).
Instance: ``content.instanceId`` / ``content.resourceId``, else the ``resourceId`` ARN
``acs:ecs:<region>:<account>:instance/i-…``. Time: ``eventTime``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from havip_failover.model import Signal, SignalState

from ._common import (
    clean_text,
    ecs_time_seconds,
    fail,
    id_part,
    instance_id,
    is_absent,
    is_instance_id,
    json_type,
    load_json,
    optional_region,
    safe_repr,
)

STATE_CHANGE = "Instance:StateChange"
PREEMPTIBLE = "Instance:PreemptibleInstanceInterruption"
# System events whose action can take the node down; the action is the part after the dot.
SYSTEM_EVENT_FAMILIES = ("SystemFailure", "InstanceFailure", "SystemMaintenance")
# Names ECS documents, for messages and for s.yaml's rule (tests/deploy checks both agree).
SUPPORTED_NAMES = (
    STATE_CHANGE,
    "Instance:SystemFailure.Reboot",
    "Instance:SystemFailure.Redeploy",
    "Instance:SystemFailure.Stop",
    "Instance:SystemFailure.Delete",
    "Instance:InstanceFailure.Reboot",
    "Instance:SystemMaintenance.Reboot",
    "Instance:SystemMaintenance.Redeploy",
    "Instance:SystemMaintenance.Stop",
    "Instance:SystemMaintenance.RebootAndIsolateErrorDisk",
    "Instance:SystemMaintenance.RebootAndReInitErrorDisk",
    PREEMPTIBLE,
)
STATUSES = ("Scheduled", "Inquiring", "Executing", "Executed", "Avoided", "Canceled", "Failed")

_FAILED_STATES = frozenset({"stopping", "stopped", "deleted"})
_RECOVERED_STATES = frozenset({"running"})
_STATUS_BY_LOWER = {status.lower(): status for status in STATUSES} | {"cancelled": "Canceled"}
_NOT_YET = frozenset({"Scheduled", "Inquiring"})
_NEVER = frozenset({"Avoided", "Canceled"})
_DOWN_WORDS = ("Reboot", "Redeploy", "Stop", "Delete")
_BACK_WORDS = ("Reboot", "Redeploy")
_RELEASE_ACTIONS = frozenset({"delete", "stop"})
_ARN_RE = re.compile(r"acs:ecs:[^:]*:[^:]*:(?:instance|networkinterface|eni)/(?P<id>[^/]+)")
_NAME_RE = re.compile(r"Instance:(?P<event>[A-Za-z]+(?:\.[A-Za-z]+)?)(?::(?P<status>[A-Za-z]+))?")
_MAX_ID_LEN = 256


def looks_like_notification(obj: Mapping[str, object]) -> bool:
    """A bare ECS notification: product ECS with a name and content."""
    product = obj.get("product")
    return isinstance(product, str) and product.strip().upper() == "ECS" and "name" in obj and "content" in obj


def is_supported(name: str) -> bool:
    """Whether `name` (``Instance:<event>[:<status>]``) is an event this module reads."""
    match = _NAME_RE.fullmatch(name)
    return match is not None and _kind(match.group("event")) is not None


def parse_notification(obj: Mapping[str, object]) -> Signal:
    """A bare ECS notification (no CloudEvent around it) -> one Signal."""
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        fail("MissingParameter", f"the ECS notification's name must be a non-empty string, got {safe_repr(name)}")
    ident = obj.get("id")
    if not isinstance(ident, str) or not ident.strip() or len(ident) > _MAX_ID_LEN:
        fail(
            "MissingParameter",
            "the ECS notification needs its id (a non-empty string: it is the incident's identity), "
            f"got {safe_repr(ident)}",
        )
    region = optional_region(obj.get("regionId"), "regionId")
    return read(obj, name.strip(), event_id=f"ecs:{id_part(ident)}", region=region, path="")


def read(
    data: Mapping[str, object],
    name: str,
    *,
    event_id: str,
    region: str | None,
    path: str,
    event_time: float | None = None,
) -> Signal:
    """The notification `data` named `name` (``Instance:…``, no ``ecs:`` prefix) -> one Signal.

    `path` prefixes field names in messages ("data." inside a CloudEvent); `event_time`
    is the wrapper's own time (the CloudEvent's), else ``eventTime`` is read.
    """
    match = _NAME_RE.fullmatch(name)
    kind = _kind(match.group("event")) if match else None
    if match is None or kind is None:
        fail(
            "UnsupportedEventType",
            f"ECS event {safe_repr(name)} is not supported; supported: {', '.join(SUPPORTED_NAMES)} "
            "(a system event's name may end with :<status>)",
        )
    if event_time is None:
        event_time = ecs_time_seconds(data.get("eventTime"))
    content = _object(data.get("content"), f"{path}content")
    event = match.group("event")
    if kind == "state":
        state, detail, instance = _state_change(data, content, path)
    elif kind == "preemptible":
        state, detail, instance = _preemptible(data, content, path)
    else:
        status = _status(match.group("status"), content, name, path)
        state, detail = _system_event(event, status)
        instance = _instance(data, content, path, ("instanceId", "resourceId"))
    return Signal(
        source="eventbridge-ecs",
        event_id=event_id,
        instance_id=instance,
        state=state,
        detail=detail,
        region_id=region,
        event_time=event_time,
    )


def _kind(event: str) -> str | None:
    if event == "StateChange":
        return "state"
    if event == "PreemptibleInstanceInterruption":
        return "preemptible"
    family, _, action = event.partition(".")
    if family in SYSTEM_EVENT_FAMILIES and action:
        return "system"
    return None


def _state_change(
    data: Mapping[str, object], content: Mapping[str, object] | None, path: str
) -> tuple[SignalState, str, str]:
    instance = _instance(data, content, path, ("resourceId", "instanceId"))
    raw_state = None if content is None else content.get("state")
    if is_absent(raw_state):
        fail("MissingParameter", f"{path}content.state is required in Instance:StateChange")
    if not isinstance(raw_state, str):
        fail("InvalidParameter", f"{path}content.state must be a string, got {json_type(raw_state)}")
    lowered = raw_state.strip().lower()
    state: SignalState = "info"
    if lowered in _FAILED_STATES:
        state = "failed"
    elif lowered in _RECOVERED_STATES:
        state = "recovered"
    return state, f"ecs state {clean_text(raw_state, 40)}", instance


def _preemptible(
    data: Mapping[str, object], content: Mapping[str, object] | None, path: str
) -> tuple[SignalState, str, str]:
    instance = _instance(data, content, path, ("instanceId", "resourceId"))
    action = None if content is None else content.get("action")
    if not is_absent(action) and not isinstance(action, str):
        fail("InvalidParameter", f"{path}content.action must be a string, got {json_type(action)}")
    shown = clean_text(action, 30) if isinstance(action, str) and not is_absent(action) else "delete"
    if isinstance(action, str) and not is_absent(action) and action.strip().lower() not in _RELEASE_ACTIONS:
        return "info", f"ecs preemptible instance interruption, action {shown}: not a release, no action", instance
    return (
        "failed",
        f"ecs preemptible instance interruption (action {shown}): released in about 5 minutes, moving the VIP now",
        instance,
    )


def _status(from_name: str | None, content: Mapping[str, object] | None, name: str, path: str) -> str | None:
    raw = None if content is None else content.get("eventStatus")
    if not is_absent(raw) and not isinstance(raw, str):
        fail("InvalidParameter", f"{path}content.eventStatus must be a string, got {json_type(raw)}")
    from_content = raw.strip() if isinstance(raw, str) and not is_absent(raw) else None
    if from_name and from_content and from_name.lower() != from_content.lower():
        fail(
            "ConflictingEventStatus",
            f"the event's name {safe_repr(name)} says status {safe_repr(from_name)} but "
            f"{path}content.eventStatus says {safe_repr(from_content)}",
        )
    status = from_content or from_name
    if status is None:
        return None
    return _STATUS_BY_LOWER.get(status.lower(), clean_text(status, 30))


def _system_event(event: str, status: str | None) -> tuple[SignalState, str]:
    family, _, action = event.partition(".")
    detail = f"ecs event {event}"
    takes_down = any(word in action for word in _DOWN_WORDS)
    if status is not None:
        detail += f" ({status})"
    if not takes_down:
        return "info", detail + ": touches disks only, the node stays up"
    if status is None:
        if family == "SystemMaintenance":
            return "info", detail + ": maintenance without a status, nothing has happened yet"
        return "failed", detail
    if status == "Executing":
        return "failed", detail + ": happening now, the node is going down"
    if status == "Executed":
        if any(word in action for word in _BACK_WORDS):
            return "recovered", detail + ": done, the node is back"
        return "failed", detail + ": done, the node is stopped or released"
    if status in _NOT_YET:
        return "info", detail + ": announced, it has not happened"
    if status in _NEVER:
        return "info", detail + ": will not happen, no action"
    return "info", detail + ": says nothing certain about the node, no action"


def _instance(
    data: Mapping[str, object], content: Mapping[str, object] | None, path: str, keys: tuple[str, ...]
) -> str:
    candidates: list[tuple[str, str]] = []
    if content is not None:
        for key in keys:
            if not is_absent(content.get(key)):
                field = f"{path}content.{key}"
                candidates.append((field, instance_id(content[key], field)))
    add_arn(candidates, data.get("resourceId"), f"{path}resourceId", strict=True)
    where = " or ".join(f"{path}content.{key}" for key in keys)
    return pick(candidates, f"{where} or the {path}resourceId ARN")


def _object(value: object, field: str) -> Mapping[str, object] | None:
    """An optional object of the event (a JSON string of an object is accepted)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = load_json(value, field)
    if not isinstance(value, dict):
        fail("InvalidParameter", f"{field} must be an object, got {json_type(value)}")
    return value


def add_arn(candidates: list[tuple[str, str]], value: object, field: str, *, strict: bool) -> None:
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


def pick(candidates: list[tuple[str, str]], where: str) -> str:
    distinct = {ident for _, ident in candidates}
    if not distinct:
        fail("MissingInstanceId", f"the event names no instance: looked in {where}")
    if len(distinct) > 1:
        listed = ", ".join(f"{field}={ident}" for field, ident in candidates)
        fail("ConflictingInstanceId", f"the event names different instances: {listed}")
    return candidates[0][1]
