"""Sample events with their times moved to now.

The samples in `events/` carry fixed times, and an event that says it happened long
ago is stale (an old "node failed" may describe a world that has moved on), so a
sample fed to the entry with the expectation that it acts must first be *retimed*.
One helper does it for every shape the parsers read a time from:

* a CloudMonitor alarm's ``timestamp`` (seconds or milliseconds, kept in its unit and
  type), in a form body, a JSON body, or the ``data`` of an AlertWebHook CloudEvent;
* a CloudEvent's ``time`` and ``aliyunpublishtime``;
* an ECS notification's ``eventTime`` (``20190409T121826.922+0800``), bare (RawData)
  or as a CloudEvent's ``data``, with ``content`` as an object or a JSON string;
* a health check's ``checkedAt`` (ISO 8601 or epoch; a value that is not a time, used
  only as an identity, is left alone);
* an FC HTTP-trigger request: its ``requestContext.time``/``timeEpoch`` and its body
  (form or JSON, base64 or not);
* batches: arrays of objects or of JSON strings.

Everything else is kept byte for byte in meaning (ids, instances, tokens): a retimed
CloudEvent or ECS notification is still the same incident, while a retimed alarm
(whose identity includes its timestamp) or a health check identified by its
``checkedAt`` is a new one — which is what a demo run wants.

It lives in the package (not under tests/) because `python -m havip_failover invoke`
uses it, and tests, scripts/demo.py and bench/ import the package anyway. Nothing in
the FC entry imports it.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import time
from pathlib import Path
from typing import Any

_SECONDS_BELOW = 10**11  # the parsers' rule: epoch numbers below this are seconds
_FORM_TIMESTAMP_RE = re.compile(r"(?P<head>(?:^|&)timestamp=)(?P<value>\d+)(?=&|$)")
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:?\d{2})?")
_ECS_TIME_RE = re.compile(r"\d{8}T\d{6}(\.\d{1,9})?([Zz]|[+-]\d{2}:?\d{2})?")
_EPOCH_RE = re.compile(r"\d{9,13}")


def retime(raw: bytes, now: float | None = None) -> bytes:
    """The event `raw` (FC event bytes) with every time it carries set to `now`
    (default: the current time). Bytes that are not JSON are returned unchanged."""
    moment = time.time() if now is None else now
    try:
        value = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return raw
    return json.dumps(_walk(value, moment), ensure_ascii=False).encode("utf-8")


def retime_file(path: str | Path, now: float | None = None) -> bytes:
    """`retime` of a file's bytes."""
    return retime(Path(path).read_bytes(), now)


def _walk(value: Any, now: float) -> Any:
    if isinstance(value, list):
        return [_element(item, now) for item in value]
    if isinstance(value, dict):
        if isinstance(value.get("requestContext"), dict) and "body" in value:
            return _http(value, now)
        return {key: _field(key, item, now) for key, item in value.items()}
    return value


def _element(item: Any, now: float) -> Any:
    """A batch element: an object, or a JSON string holding one (kept a string)."""
    if isinstance(item, str):
        return _json_string(item, now)
    return _walk(item, now)


def _json_string(text: str, now: float) -> str:
    try:
        inner = json.loads(text)
    except ValueError:
        return text
    if not isinstance(inner, (dict, list)):
        return text
    return json.dumps(_walk(inner, now), ensure_ascii=False)


def _field(key: str, item: Any, now: float) -> Any:
    if key in ("time", "aliyunpublishtime", "checkedAt"):
        return _any_time(item, now)
    if key == "eventTime":
        return _ecs_time(item, now) if isinstance(item, str) and _ECS_TIME_RE.fullmatch(item) else item
    if key == "timestamp":
        return _epoch_like(item, now)
    if key in ("data", "content") and isinstance(item, str):
        return _json_string(item, now)
    return _walk(item, now)


def _http(request: dict[str, Any], now: float) -> dict[str, Any]:
    out = dict(request)
    context = dict(out["requestContext"])
    if "time" in context:
        context["time"] = _iso(now)
    if "timeEpoch" in context:
        context["timeEpoch"] = str(int(now * 1000))
    out["requestContext"] = context
    body = out.get("body")
    if not isinstance(body, str):
        return out
    encoded = out.get("isBase64Encoded") in (True, "true", "True")
    try:
        text = base64.b64decode(body).decode("utf-8") if encoded else body
    except (ValueError, UnicodeDecodeError):
        return out
    if text.lstrip()[:1] in ("{", "["):
        text = _json_string(text, now)
    else:
        # Only the timestamp is rewritten: re-encoding the form would change how its
        # Java-map dimensions are quoted, which the samples show on purpose.
        text = _FORM_TIMESTAMP_RE.sub(lambda m: m.group("head") + str(_epoch_like(m.group("value"), now)), text)
    out["body"] = base64.b64encode(text.encode("utf-8")).decode("ascii") if encoded else text
    return out


def _any_time(item: Any, now: float) -> Any:
    if isinstance(item, str):
        text = item.strip()
        if _ISO_RE.fullmatch(text):
            return _iso(now)
        if _ECS_TIME_RE.fullmatch(text):
            return _ecs_time(text, now)
        if _EPOCH_RE.fullmatch(text):
            return _epoch_like(text, now)
        return item  # not a time (a health check's checkedAt used as an identity)
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        return _epoch_like(item, now)
    return item


def _epoch_like(item: Any, now: float) -> Any:
    """`now` in the unit (seconds or milliseconds) and type (number or string) of `item`."""
    number: float | None = None
    if isinstance(item, (int, float)) and not isinstance(item, bool):
        number = float(item)
    elif isinstance(item, str) and item.strip().isdigit():
        number = float(item.strip())
    if number is None:
        return item
    value = int(now * 1000) if number >= _SECONDS_BELOW else int(now)
    return str(value) if isinstance(item, str) else value


def _iso(now: float) -> str:
    moment = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _ecs_time(text: str, now: float) -> str:
    del text  # the shape is ECS's; the zone written is UTC
    moment = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc)
    return moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}+0000"
