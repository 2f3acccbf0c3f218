"""Raw FC event bytes -> normalised signals.

One module per source (`cloudmonitor`, `eventbridge`, `manual`, `health`), one for
the HTTP-trigger envelope (`http`), shared validation in `_common`. The single
entry point is `parse_event`; it raises nothing but `BadEvent` (and its subclass
`Unauthorized`), whatever the bytes.

Shapes, tried in this order on a decoded JSON value:

1. an FC HTTP-trigger request (``requestContext.http`` …): token, method, the node the
   callback URL names, then the body is read as a CloudMonitor form callback or as one
   of the JSON shapes below — except a manual order, refused over HTTP (403);
2. a JSON array: a batch, every element a CloudEvent (an object or a JSON string holding
   one) or a bare ECS notification, each read on its own (unreadable ones are reported
   in ``Parsed.rejected``, the rest still read);
3. an object with ``specversion``, or ``source`` + ``type`` + ``data``: a CloudEvent;
4. an object with ``"type": "havip.health"``: a health check;
5. an object with ``"product": "ECS"``, ``name`` and ``content``: a bare ECS notification;
6. an object with ``HaVipId`` or ``InstanceId``: a manual event;
7. an object with CloudMonitor alarm fields (``alertState``, ``dimensions``, …): an
   alarm callback sent as JSON;
8. anything else: ``UnknownEvent``.

A readable alarm that is not for this function (another product, no instance, an
availability alarm naming only its prober) is not an error: it lands in
``Parsed.ignored`` with its reason.
"""

from __future__ import annotations

from havip_failover.model import BadEvent, Parsed, ParseOptions

from . import http, timer
from ._common import MAX_EVENT_BYTES, decode_text, fail, load_json
from ._dispatch import dispatch_json

__all__ = ["MAX_EVENT_BYTES", "parse_event"]


def parse_event(raw: bytes, options: ParseOptions, callback_token: str | None) -> Parsed:
    """Decode and parse one invocation's event.

    `callback_token` is the configured shared secret for HTTP-trigger requests
    (None or empty: HTTP-trigger requests are refused). Raises `Unauthorized` for an
    HTTP request without a valid token and `BadEvent` for anything unreadable; never
    anything else.
    """
    try:
        return _parse(raw, options, callback_token)
    except BadEvent:
        raise
    except Exception as exc:  # a bug or hostile input we did not foresee: still a BadEvent
        raise BadEvent("MalformedEvent", f"the event could not be read ({type(exc).__name__})") from None


def _parse(raw: object, options: ParseOptions, callback_token: str | None) -> Parsed:
    if isinstance(raw, str):  # tolerated: some local runners pass text
        text = raw
        if len(text) > MAX_EVENT_BYTES:
            fail("EventTooLarge", f"the event is larger than {MAX_EVENT_BYTES} bytes")
    elif isinstance(raw, (bytes, bytearray, memoryview)):
        data = bytes(raw)
        if len(data) > MAX_EVENT_BYTES:
            fail("EventTooLarge", f"the event is larger than {MAX_EVENT_BYTES} bytes")
        text = decode_text(data, "the event")
    else:
        fail("MalformedEvent", f"the event must be bytes, got {type(raw).__name__}")
    text = text.lstrip("\ufeff")
    if not text.strip():
        fail("EmptyEvent", "the event is empty: expected a JSON object or array")
    value = load_json(text, "the event")
    if isinstance(value, dict) and http.is_http_envelope(value):
        return http.parse_http(value, options, callback_token)
    if isinstance(value, dict) and timer.looks_like_timer(value):
        return timer.parse_timer(value)
    return dispatch_json(value, options)
