"""FC 3.0 HTTP-trigger requests: authenticate, then read the body as another source.

The envelope (how the event arrived) is FC's request struct: ``version``, ``rawPath``,
``headers``, ``queryParameters``, ``body`` (a string), ``isBase64Encoded`` and
``requestContext{…, http{method, …}}``.

Order of checks, each failing closed:

1. The callback token, before anything else is read. None configured -> 403
   ``CallbackTokenNotConfigured``; none sent -> 401 ``MissingCallbackToken``; a wrong
   one -> 403 ``InvalidCallbackToken``. It is sent as the query parameter ``token`` or
   the header ``X-Havip-Token`` (name case ignored); when both are sent, both must be
   right. An empty value counts as not sent. Compared with `hmac.compare_digest`;
   token values never appear in any message.
2. The method: POST (events) or GET (inspect: a read-only view of every managed pair);
   405 ``MethodNotAllowed`` otherwise.
3. The node an alarm rule watches, when its callback URL names it: the query
   parameters ``instanceId`` and optional ``haVipId`` beside ``token``, validated
   strictly (a bad value -> 400 naming the parameter). They apply to alarm bodies
   only (an availability-monitoring alarm names the ECS instance that runs the probe, not
   the node that failed: events/README.md, [AVAIL]).
4. The body: base64-decoded when ``isBase64Encoded``; then by Content-Type —
   ``application/x-www-form-urlencoded`` is a CloudMonitor alarm callback,
   ``application/json`` (or ``*+json``) is parsed like a direct event (CloudEvent,
   batch, health check, manual event, alarm as JSON). Without a Content-Type, or with
   ``text/plain`` / ``application/octet-stream``, the body is sniffed: ``{`` or ``[``
   first means JSON, else form. A form-typed body that starts with ``{`` or ``[`` is
   read as JSON too (``curl -d '{…}'`` sends JSON labelled as a form).
5. Only what goes through the full decision is accepted over HTTP: alarms, health
   checks, ECS notifications (CloudMonitor's event subscription pushed to a webhook),
   CloudEvents. A manual order (UnassociateHaVip's own parameters) carries authority
   the shared callback token must not grant: 403 ``ManualOrderNotAllowedOverHttp``;
   send it by RAM-authenticated invocation (FC console, ``s invoke``, the FC API).

Every rejection raised for an HTTP request carries ``envelope="http"`` and its HTTP
status (401/403 token, 403 manual order, 405 method, 413 too large, else 400).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from havip_failover.model import BadEvent, Ignored, NotForUs, Parsed, ParseOptions, Unauthorized

from . import cloudmonitor, drill, ecs, eventbridge, health, manual
from ._common import (
    MAX_EVENT_BYTES,
    decode_text,
    fail,
    havip_id,
    instance_id,
    json_type,
    load_json,
    parse_bool,
    parse_form,
    safe_repr,
    suggest,
)
from ._dispatch import dispatch_json

TOKEN_QUERY_PARAMETER = "token"  # noqa: S105 (a parameter name, not a secret)
TOKEN_HEADER = "x-havip-token"  # noqa: S105 (a header name, not a secret)
NODE_PARAMETER = "instanceId"
HAVIP_PARAMETER = "haVipId"
# Statuses other than 400 for rejections of an HTTP request.
STATUS_BY_CODE = {"MethodNotAllowed": 405, "EventTooLarge": 413, "ManualOrderNotAllowedOverHttp": 403}

_FORM_TYPES = frozenset({"application/x-www-form-urlencoded"})
_JSON_TYPES = frozenset({"application/json", "text/json"})
_SNIFF_TYPES = frozenset({"", "text/plain", "application/octet-stream"})


def is_http_envelope(obj: Mapping[str, object]) -> bool:
    """FC's HTTP-trigger request struct: requestContext.http plus the request parts."""
    context = obj.get("requestContext")
    return (
        isinstance(context, dict)
        and isinstance(context.get("http"), dict)
        and any(key in obj for key in ("headers", "rawPath", "body", "queryParameters"))
    )


def parse_http(obj: Mapping[str, object], options: ParseOptions, callback_token: str | None) -> Parsed:
    try:
        headers = _string_map(obj.get("headers"), "headers", lower_keys=True)
        query = _string_map(obj.get("queryParameters"), "queryParameters", lower_keys=False)
        check_token(headers, query, callback_token)
        if _check_method(obj) == "GET":
            # inspect: a read-only view of every managed pair (token required, like every request)
            return Parsed(signals=[], envelope="http", inspect=True)
        node = alarm_node(query)
        text, charset = _body_text(obj, headers)
        media_type = _media_type(headers)
        parsed = _parse_body(text, media_type, charset, options, node)
        parsed.envelope = "http"
        return parsed
    except Unauthorized:
        raise
    except BadEvent as exc:
        exc.envelope = "http"
        exc.status = exc.status or STATUS_BY_CODE.get(exc.code)
        raise
    except Exception as exc:  # never let an unexpected error escape as a non-BadEvent
        raise BadEvent(
            "MalformedEvent",
            f"the HTTP request could not be read ({type(exc).__name__})",
            envelope="http",
        ) from None


def check_token(headers: Mapping[str, str], query: Mapping[str, str], callback_token: str | None) -> None:
    """Raise Unauthorized unless every token the request carries equals the configured one."""
    if not callback_token:
        raise Unauthorized(
            "CallbackTokenNotConfigured",
            "HTTP-trigger requests are refused: no callback token is configured (set HAVIP_CALLBACK_TOKEN)",
            403,
        )
    sent = [value for value in (query.get(TOKEN_QUERY_PARAMETER), headers.get(TOKEN_HEADER)) if value]
    if not sent:
        raise Unauthorized(
            "MissingCallbackToken",
            "the request carries no callback token: send it as the query parameter "
            "'token' or the header 'X-Havip-Token'",
            401,
        )
    expected = callback_token.encode("utf-8", "surrogatepass")
    # Compare every token sent, without stopping early, so timing says nothing.
    results = [hmac.compare_digest(value.encode("utf-8", "surrogatepass"), expected) for value in sent]
    if not all(results):
        raise Unauthorized("InvalidCallbackToken", "the callback token is not valid", 403)


def alarm_node(query: Mapping[str, str]) -> cloudmonitor.AlarmNode | None:
    """The node named by the callback URL (`instanceId`, optional `haVipId`), validated.

    A parameter that looks like a misspelling of one (`instanceid`, `InstanceId`, `havipId`)
    is refused: ignoring it would read the alarm's own instance, for an availability alarm
    its prober."""
    known = (TOKEN_QUERY_PARAMETER, NODE_PARAMETER, HAVIP_PARAMETER)
    for key in sorted(query):
        hint = suggest(key, known) if key not in known else None
        if hint is not None:
            fail("InvalidQueryParameter", f"unknown query parameter {safe_repr(key)}: did you mean {hint!r}?")
    raw_instance = query.get(NODE_PARAMETER)
    raw_havip = query.get(HAVIP_PARAMETER)
    if raw_instance is None:
        if raw_havip is not None:
            fail(
                "InvalidQueryParameter",
                f"the query parameter {HAVIP_PARAMETER} needs {NODE_PARAMETER} beside it (the node the alarm watches)",
            )
        return None
    ident = instance_id(raw_instance, f"the query parameter {NODE_PARAMETER}")
    havip = None if raw_havip is None else havip_id(raw_havip, f"the query parameter {HAVIP_PARAMETER}")
    return cloudmonitor.AlarmNode(ident, havip)


def _check_method(obj: Mapping[str, object]) -> str:
    context = obj.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method") if isinstance(http, dict) else None
    if not isinstance(method, str) or not method.strip():
        fail("MalformedHttpEvent", "requestContext.http.method is missing")
    verb = method.strip().upper()
    if verb not in ("POST", "GET"):
        fail(
            "MethodNotAllowed",
            f"HTTP method {safe_repr(verb)} is not allowed: send events with POST (GET: inspect, read-only)",
        )
    return verb


def _string_map(value: object, field: str, *, lower_keys: bool) -> dict[str, str]:
    """Headers / query parameters as str -> str (FC joins repeated values with ',')."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        fail("MalformedHttpEvent", f"{field} must be an object, got {json_type(value)}")
    result: dict[str, str] = {}
    for key, item in value.items():
        text = ",".join(item) if isinstance(item, list) and all(isinstance(p, str) for p in item) else item
        if not isinstance(text, str):
            continue  # not something FC produces; never a usable header or token
        result[key.lower() if lower_keys else key] = text
    return result


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _charset(headers: Mapping[str, str]) -> str:
    for param in headers.get("content-type", "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


def _body_text(obj: Mapping[str, object], headers: Mapping[str, str]) -> tuple[str, str]:
    body = obj.get("body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        fail("MalformedHttpEvent", f"body must be a string, got {json_type(body)}")
    encoded = obj.get("isBase64Encoded")
    is_base64 = False if encoded is None else parse_bool(encoded, "isBase64Encoded")
    charset = _charset(headers)
    if is_base64:
        try:
            raw = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            fail("InvalidBase64", "the request body is marked isBase64Encoded but is not valid base64")
        if len(raw) > MAX_EVENT_BYTES:
            fail("EventTooLarge", f"the request body is larger than {MAX_EVENT_BYTES} bytes")
        text = decode_text(raw, "the request body", charset)
    else:
        text = body
    text = text.lstrip("\ufeff")
    if not text.strip():
        fail("EmptyBody", "the request has no body: expected a CloudMonitor alarm or a JSON event")
    return text, charset


def _parse_body(
    text: str, media_type: str, charset: str, options: ParseOptions, node: cloudmonitor.AlarmNode | None
) -> Parsed:
    looks_json = text.lstrip()[:1] in ("{", "[")
    is_json_type = media_type in _JSON_TYPES or media_type.endswith("+json")
    if is_json_type or (looks_json and (media_type in _FORM_TYPES or media_type in _SNIFF_TYPES)):
        return _parse_json_body(load_json(text, "the request body"), options, node)
    if media_type in _FORM_TYPES or media_type in _SNIFF_TYPES:
        fields = parse_form(text, "the form body", charset)
        if not cloudmonitor.looks_like_alarm(fields):
            fail(
                "UnknownEvent",
                "the form-encoded body is not a CloudMonitor alarm callback (none of "
                f"{', '.join(sorted(cloudmonitor.ALARM_KEYS))})",
            )
        return _alarm(fields, node)
    fail(
        "UnsupportedMediaType",
        f"Content-Type {safe_repr(media_type)} is not supported: use "
        "application/x-www-form-urlencoded or application/json",
    )


def _parse_json_body(value: object, options: ParseOptions, node: cloudmonitor.AlarmNode | None) -> Parsed:
    alarm: Mapping[str, object] | None = None
    other_shapes = (eventbridge.looks_like_cloudevent, health.looks_like_health, ecs.looks_like_notification)
    if isinstance(value, dict) and not any(looks(value) for looks in other_shapes):
        if drill.looks_like_order(value):
            fail(
                "ManualOrderNotAllowedOverHttp",
                "a drill order is not accepted over the HTTP trigger: it carries a person's authority, which the "
                "callback token does not grant; send it by a RAM-authenticated invocation (the FC console's test "
                "panel, `s invoke`, or `python -m havip_failover drill`)",
            )
        if manual.looks_like_manual(value):
            fail(
                "ManualOrderNotAllowedOverHttp",
                "a manual order (UnassociateHaVip's parameters) is not accepted over the HTTP trigger: the "
                "callback token is for alarms and checks, which go through the full decision; send the order by "
                "a RAM-authenticated invocation (the FC console's test panel, `s invoke`, or the FC API)",
            )
        if cloudmonitor.looks_like_alarm(value):
            alarm = value
    if node is not None:
        if alarm is None:
            fail(
                "InvalidQueryParameter",
                f"the query parameters {NODE_PARAMETER}/{HAVIP_PARAMETER} name the node of an alarm callback, "
                "but the body is not a CloudMonitor alarm",
            )
        return _alarm(alarm, node)
    return dispatch_json(value, options)


def _alarm(fields: Mapping[str, object], node: cloudmonitor.AlarmNode | None) -> Parsed:
    try:
        return Parsed(signals=[cloudmonitor.parse_alarm(fields, node=node)], envelope="http")
    except NotForUs as skip:
        return Parsed(envelope="http", ignored=[Ignored(skip.code, skip.message, skip.subject)])
