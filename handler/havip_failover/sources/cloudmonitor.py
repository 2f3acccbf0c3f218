"""CloudMonitor alarm callbacks (threshold and availability alarms) -> one Signal.

The same fields arrive form-encoded (the callback's normal body), as a JSON object
(older setups, or a JSON body posted by hand), or as the `data` of an EventBridge
`cms:CloudMonitor:AlertWebHook` event.

State mapping:

========================  ==============================  =========
alertState                triggerLevel                    state
========================  ==============================  =========
ALERT (also ``ALARM``)    CRITICAL, WARN, or absent       failed
ALERT                     INFO                            info (an informational level never fails a node over)
ALERT                     OK                              info (inconsistent: do nothing)
OK                        any                             recovered
INSUFFICIENT_DATA         any                             info
========================  ==============================  =========

Any other alertState or triggerLevel is rejected (BadEvent), case is ignored.

Quirks handled:

* ``dimensions`` is a Java-map string ``{instanceId=i-…, userId=12…}`` (spaces,
  extra keys, values containing commas are fine), a JSON object, a JSON array of one
  object (the old documented form), or a JSON string of either.
* The literal string ``null`` (and an empty value) means absent.
* ``timestamp`` in seconds or milliseconds, normalised to milliseconds.
* The instance comes from the callback URL when it names one (``instanceId`` and
  optional ``haVipId`` query parameters beside ``token``: the node the alarm rule
  watches; an availability alarm's own instance is its prober), else
  ``dimensions.instanceId`` (key case ignored), else a top-level ``instanceId``; both
  present and different is rejected.
* The region comes from ``regionId``, else ``dimensions.regionId``, else None.
  (``regionName`` is a display name such as "华东1（杭州）" and is not used.)
* ``signature`` is ignored (its algorithm is undocumented).

Readable alarms this function cannot act on raise `NotForUs` (answered 2xx,
"ignored", so CloudMonitor does not retry them):

* ``AvailabilityAlarmNamesNoNode``: ``metricProject=acs_networkmonitor`` and the URL
  names no node (its instance is the prober, never the failed node);
* ``OtherProduct``: the metric project is not ECS's and the instance is not an ECS
  instance or ENI (an RDS, SLB … alarm);
* ``NoInstanceInAlarm``: no instance at all (an alarm on an availability rate, a
  group, …).

An alarm at level ``INFO`` that names a node is an ``info`` signal (skipped).

Event id: ``cms:{ruleId}:{instanceId}:{timestamp in ms}:{alertState}``, the same for
every re-send of one callback and different for the rule's next alarm. ``timestamp``
is therefore required on a callback (CloudMonitor always sends it). Inside
EventBridge the CloudEvent's ``source:id`` is the id. Time: ``timestamp``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from havip_failover.model import NotForUs, Signal, SignalState, SourceName

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
    scalar_text,
)

# Keys whose presence makes a JSON object look like an alarm callback.
ALARM_KEYS = frozenset(
    {
        "alertState",
        "alertName",
        "metricName",
        "metricProject",
        "dimensions",
        "triggerLevel",
        "ruleId",
        "curValue",
        "expression",
    }
)

AVAILABILITY_PROJECT = "acs_networkmonitor"
_ECS_PROJECT_PREFIX = "acs_ecs"  # acs_ecs, acs_ecs_dashboard


@dataclass(frozen=True)
class AlarmNode:
    """The node an alarm rule watches, as its callback URL names it (validated)."""

    instance_id: str
    ha_vip_id: str | None = None


_FAILED_LEVELS = frozenset({"CRITICAL", "WARN"})
_KNOWN_LEVELS = frozenset({"CRITICAL", "WARN", "INFO", "OK"})
_SECONDS_BELOW = 10**11  # 1e11 s is year 5138; 1e11 ms is 1973
_MAX_TIMESTAMP_MS = 10**14
_NAME_LIMIT = 80


def looks_like_alarm(fields: Mapping[str, object]) -> bool:
    return any(key in fields for key in ALARM_KEYS)


def parse_alarm(
    fields: Mapping[str, object],
    *,
    source: SourceName = "cloudmonitor-callback",
    event_id: str | None = None,
    default_region: str | None = None,
    path: str = "",
    default_time: float | None = None,
    node: AlarmNode | None = None,
) -> Signal:
    """One alarm (form fields or a JSON object) -> one Signal.

    `event_id` overrides the alarm-derived id (EventBridge uses `source:id`);
    `default_region` is used when the alarm names no region; `path` prefixes field
    names in messages (e.g. "data."); `default_time` is the wrapper's time when the
    alarm has no timestamp; `node` is what the callback URL says the alarm is about.
    Raises `NotForUs` for a readable alarm this function cannot act on.
    """
    state_text = scalar_text(fields.get("alertState"), f"{path}alertState")
    if state_text is None:
        fail("MissingParameter", f"{path}alertState is required in a CloudMonitor alarm")
    alert_state = state_text.upper()
    if alert_state == "ALARM":  # some documentation versions spell it so
        alert_state = "ALERT"
    if alert_state not in ("ALERT", "OK", "INSUFFICIENT_DATA"):
        fail(
            "InvalidAlertState",
            f"{path}alertState must be ALERT, OK or INSUFFICIENT_DATA, got {safe_repr(state_text)}",
        )

    level_text = scalar_text(fields.get("triggerLevel"), f"{path}triggerLevel")
    level = level_text.upper() if level_text is not None else None
    if level is not None and level not in _KNOWN_LEVELS:
        fail(
            "InvalidTriggerLevel",
            f"{path}triggerLevel must be CRITICAL, WARN, INFO or OK, got {safe_repr(level_text)}",
        )

    dimensions = parse_dimensions(fields.get("dimensions"), f"{path}dimensions")
    project = _project(fields, path)
    # The alarm rule's own callback URL names the node it watches: that is the node,
    # whatever instance the dimensions carry (for availability alarms, the prober).
    instance = node.instance_id if node is not None else _instance(fields, dimensions, path, project)
    region = optional_region(fields.get("regionId"), f"{path}regionId")
    if region is None:
        found = get_ci(dimensions, "regionId")
        if found is not None:
            region = optional_region(found[1], f"{path}dimensions.{found[0]}")
    if region is None:
        region = default_region

    timestamp_ms = _timestamp_ms(fields.get("timestamp"), f"{path}timestamp")
    state, why = _state(alert_state, level)

    if event_id is None:
        if timestamp_ms is None:
            # The timestamp is what tells this alarm from the rule's next one: without it,
            # the next incident would reuse this one's ClientToken (and the API its answer).
            fail(
                "MissingParameter",
                f"{path}timestamp is required in an alarm callback (CloudMonitor always sends it): "
                "it tells one alarm from the next",
            )
        rule = scalar_text(fields.get("ruleId"), f"{path}ruleId")
        rule_part = id_part(rule) if rule else "-"
        event_id = f"cms:{rule_part}:{instance}:{timestamp_ms}:{alert_state}"

    detail = _detail(fields, alert_state, level, why, path)
    if node is not None:
        detail += " (node named by the callback URL)"
    return Signal(
        source=source,
        event_id=event_id,
        instance_id=instance,
        state=state,
        detail=detail,
        region_id=region,
        ha_vip_id=node.ha_vip_id if node is not None else None,
        event_time=timestamp_ms / 1000.0 if timestamp_ms is not None else default_time,
    )


def _project(fields: Mapping[str, object], path: str) -> str | None:
    for key in ("metricProject", "namespace"):
        value = scalar_text(fields.get(key), f"{path}{key}")
        if value:
            return value
    return None


def _subject(fields: Mapping[str, object], project: str | None) -> str:
    name = fields.get("alertName")
    rule = fields.get("ruleId")
    shown = clean_text(name, _NAME_LIMIT) if isinstance(name, str) and not is_absent(name) else "unnamed"
    parts = [f"rule {clean_text(rule, 60)}"] if isinstance(rule, str) and not is_absent(rule) else []
    if project:
        parts.append(clean_text(project, 60))
    return f"alarm '{shown}'" + (f" ({', '.join(parts)})" if parts else "")


def _state(alert_state: str, level: str | None) -> tuple[SignalState, str]:
    if alert_state == "OK":
        return "recovered", ""
    if alert_state == "INSUFFICIENT_DATA":
        return "info", " (insufficient data: no action)"
    if level is None or level in _FAILED_LEVELS:
        return "failed", ""
    if level == "INFO":
        return "info", " (INFO level: informational, no action)"
    return "info", " (ALERT with level OK is inconsistent: no action)"


def _detail(fields: Mapping[str, object], alert_state: str, level: str | None, why: str, path: str) -> str:
    name = scalar_text(fields.get("alertName"), f"{path}alertName") or "unnamed"
    detail = f"alarm '{clean_text(name, _NAME_LIMIT)}' {alert_state}"
    if level is not None:
        detail += f"/{level}"
    metric = scalar_text(fields.get("metricName"), f"{path}metricName")
    if metric is not None:
        value = scalar_text(fields.get("curValue"), f"{path}curValue")
        detail += f" {clean_text(metric, _NAME_LIMIT)}"
        if value is not None:
            detail += f"={clean_text(value, 40)}"
    project = scalar_text(fields.get("metricProject"), f"{path}metricProject")
    if project == "acs_networkmonitor":
        detail += " (availability monitoring)"
    return detail + why


def _instance(fields: Mapping[str, object], dimensions: Mapping[str, str], path: str, project: str | None) -> str:
    if project == AVAILABILITY_PROJECT:
        # Availability monitoring names the prober, never the probed node (events/README.md, [AVAIL]).
        raise NotForUs(
            "AvailabilityAlarmNamesNoNode",
            "an availability-monitoring alarm names its prober, not the node that failed: "
            "name the node in the alarm rule's callback URL, "
            "e.g. ?token=<token>&instanceId=i-…&haVipId=havip-…",
            _subject(fields, project),
        )
    other_product = project is not None and not project.lower().startswith(_ECS_PROJECT_PREFIX)
    from_dimensions: str | None = None
    found = get_ci(dimensions, "instanceId")
    if found is not None and not is_absent(found[1]):
        if other_product and not is_instance_id(str(found[1])):
            raise NotForUs(
                "OtherProduct",
                f"the alarm is about {safe_repr(found[1])} of {safe_repr(project)}, not an ECS instance or ENI: "
                "only alarms on the nodes of an HA pair can fail one over",
                _subject(fields, project),
            )
        from_dimensions = instance_id(found[1], f"{path}dimensions.{found[0]}")
    top_value = fields.get("instanceId")
    from_top = None if is_absent(top_value) else instance_id(top_value, f"{path}instanceId")
    if from_dimensions and from_top and from_dimensions != from_top:
        fail(
            "ConflictingInstanceId",
            f"{path}dimensions.instanceId {safe_repr(from_dimensions)} and "
            f"{path}instanceId {safe_repr(from_top)} differ",
        )
    instance = from_dimensions or from_top
    if instance is None:
        raise NotForUs(
            "NoInstanceInAlarm",
            f"the alarm names no instance (no instanceId in {path}dimensions, "
            f"got {safe_repr(fields.get('dimensions'))}): only alarms on an ECS instance or ENI can fail a "
            "node over; to act on this alarm, name the node in the callback URL (&instanceId=i-…)",
            _subject(fields, project),
        )
    return instance


def _timestamp_ms(value: object, field: str) -> int | None:
    if is_absent(value):
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip()) if len(value.strip()) <= 20 else None
    if number is None or number < 0:
        fail(
            "InvalidTimestamp",
            f"{field} must be epoch seconds or milliseconds, got {safe_repr(value)}",
        )
    if number < _SECONDS_BELOW:
        number *= 1000
    if number > _MAX_TIMESTAMP_MS:
        fail("InvalidTimestamp", f"{field} is out of range: {safe_repr(value)}")
    return number


# --------------------------------------------------------------------------- dimensions


def parse_dimensions(value: object, field: str) -> dict[str, str]:
    """The alarm's dimensions as a flat dict of text values ({} when absent)."""
    if is_absent(value):
        return {}
    if isinstance(value, dict):
        return _flatten(value, field)
    if isinstance(value, list):
        return _from_list(value, field)
    if not isinstance(value, str):
        fail(
            "InvalidParameter",
            f"{field} must be a map string, an object or an array, got {json_type(value)}",
        )
    text = value.strip()
    if text.startswith("[") or text.startswith('{"') or text.replace(" ", "") == "{}":
        parsed = load_json(text, field)
        if isinstance(parsed, dict):
            return _flatten(parsed, field)
        if isinstance(parsed, list):
            return _from_list(parsed, field)
        fail("InvalidParameter", f"{field} must hold an object, got {json_type(parsed)}")
    return parse_java_map(text, field)


def _from_list(items: list[object], field: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            fail("InvalidParameter", f"{field}[{index}] must be an object, got {json_type(item)}")
        for key, text in _flatten(item, f"{field}[{index}]").items():
            if key in merged and merged[key] != text:
                fail(
                    "InvalidParameter",
                    f"{field} gives {safe_repr(key)} twice with different values",
                )
            merged[key] = text
    return merged


def _flatten(mapping: Mapping[str, object], field: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, item in mapping.items():
        if isinstance(item, str):
            result[key] = item.strip()
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            result[key] = str(item)
        elif item is None:
            continue
        elif key.lower() == "instanceid":
            fail(
                "InvalidInstanceId",
                f"{field}.{clean_text(key, 30)} must be a string, got {json_type(item)}",
            )
        # other nested or boolean values carry nothing we use
    return result


def parse_java_map(text: str, field: str) -> dict[str, str]:
    """Parse Java's `Map.toString()`: `{k1=v1, k2=v2}` (braces optional).

    A piece without '=' continues the previous value (a value that contained a comma).
    """
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    elif inner.startswith("{") or inner.endswith("}"):
        fail("InvalidParameter", f"{field} has unbalanced braces: {safe_repr(text)}")
    result: dict[str, str] = {}
    if not inner.strip():
        return result
    last: str | None = None
    for piece in inner.split(","):
        if "=" in piece:
            key, _, item = piece.partition("=")
            key = key.strip()
            if not key:
                fail("InvalidParameter", f"{field} has an entry without a key: {safe_repr(text)}")
            if key in result and result[key] != item.strip():
                fail("InvalidParameter", f"{field} gives {safe_repr(key)} twice: {safe_repr(text)}")
            result[key] = item.strip()
            last = key
        elif last is not None:
            result[last] = f"{result[last]},{piece.rstrip()}"
        elif piece.strip():
            fail(
                "InvalidParameter",
                f"{field} is not a map like {{instanceId=i-…, userId=…}}: {safe_repr(text)}",
            )
    return result
