"""A local HTTP trigger: `python -m havip_failover serve [--port N] [--host 127.0.0.1]`.

What `s local start` does, without Docker: each HTTP request becomes the event an FC 3.0
HTTP trigger builds for a built-in runtime (``version``, ``rawPath``, ``headers`` with
canonical keys and repeated values joined by ``,``, ``queryParameters``, ``body`` — base64
with ``isBase64Encoded: true`` when it is binary — and ``requestContext``), the real entry
(`havip_failover.entry.handler`, i.e. ``index.handler``) is called with an FC-shaped context,
and its ``statusCode``, ``headers`` and ``body`` are the answer. One request at a time, like
one FC instance with reserved concurrency 1 (a second request waits for the first).

Never logs a query string or a header value (the callback token travels in them).
Not deployed: a tool for trying CloudMonitor callbacks and keepalived's notify script with
curl, against the VPC emulator or a real account.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_BODY = 1024 * 1024  # the function's own event limit (sources._common.MAX_EVENT_BYTES)
ACCOUNT_ID = "1234567890123456"
TRIGGER_ID = "local"

# Bodies FC passes as text; anything else (or text that is not UTF-8) arrives base64-encoded.
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/x-www-form-urlencoded",
        "application/xml",
        "application/javascript",
        "application/x-javascript",
        "application/yaml",
        "application/x-yaml",
    }
)

Handler = Callable[[Any, Any], Any]
ContextFactory = Callable[[str], Any]


def canonical_header_key(key: str) -> str:
    """Go's net/http CanonicalMIMEHeaderKey, as FC 3.0 applies it: `x-havip-token` -> `X-Havip-Token`."""
    if not key or any(c in key for c in " \t\r\n:"):
        return key
    return "-".join(part[:1].upper() + part[1:].lower() for part in key.split("-"))


def _is_text(content_type: str, body: bytes) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return True
    textual = media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml"))
    if not textual:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def request_id(now: float | None = None) -> str:
    """An FC-style request id: `1-<hex epoch seconds>-<random>`."""
    seconds = int(time.time() if now is None else now)
    return f"1-{seconds:08x}-{secrets.token_hex(12)}"


def build_event(
    *,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    protocol: str = "HTTP/1.1",
    host: str = "",
    req_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The FC 3.0 HTTP-trigger event (built-in runtimes) for one request."""
    when = time.time() if now is None else now
    split = urllib.parse.urlsplit(target)
    raw_path = split.path or "/"
    joined: dict[str, list[str]] = {}
    for key, value in headers:
        joined.setdefault(canonical_header_key(key), []).append(value)
    query: dict[str, list[str]] = {}
    for key, value in urllib.parse.parse_qsl(split.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    content_type = ",".join(joined.get("Content-Type", []))
    text = _is_text(content_type, body)
    user_agent = ",".join(joined.get("User-Agent", []))
    return {
        "version": "v1",
        "rawPath": raw_path,
        "body": body.decode("utf-8") if text else base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": not text,
        "headers": {k: ",".join(v) for k, v in joined.items()},
        "queryParameters": {k: ",".join(v) for k, v in query.items()},
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "domainName": host or f"{TRIGGER_ID}.fcapp.run",
            "domainPrefix": TRIGGER_ID,
            "http": {
                "method": method,
                "path": urllib.parse.unquote(raw_path),
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": req_id or request_id(when),
            "time": datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timeEpoch": str(int(when * 1000)),
        },
    }


def response_of(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Map the handler's return value to an HTTP response as FC does.

    `{"statusCode", "headers", "body", "isBase64Encoded"}` is used as given; any other
    value becomes the body of a 200 (a dict or list as JSON).
    """
    if isinstance(result, dict) and "statusCode" in result:
        try:
            status = int(result["statusCode"])
        except (TypeError, ValueError):
            return _error(502, "InvalidFunctionResponse", "statusCode is not an integer")
        raw_headers = result.get("headers") or {}
        headers = {str(k): str(v) for k, v in raw_headers.items()} if isinstance(raw_headers, dict) else {}
        body = result.get("body", "")
        if body is None:
            data = b""
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif isinstance(body, str):
            if result.get("isBase64Encoded") is True:
                try:
                    data = base64.b64decode(body, validate=True)
                except (binascii.Error, ValueError):
                    return _error(502, "InvalidFunctionResponse", "the body is not valid base64")
            else:
                data = body.encode("utf-8")
        else:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return status, headers, data
    if isinstance(result, (bytes, bytearray)):
        return 200, {}, bytes(result)
    if isinstance(result, str):
        return 200, {}, result.encode("utf-8")
    return 200, {"Content-Type": "application/json"}, json.dumps(result, ensure_ascii=False, default=str).encode()


def _error(status: int, kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"errorType": kind, "errorMessage": message}).encode()
    return status, {"Content-Type": "application/json", "X-Fc-Error-Type": kind}, body


class LocalTrigger(ThreadingHTTPServer):
    """The HTTP server; `handler(event_bytes, context)` is called once per request, serialised."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        handler: Handler,
        context_factory: ContextFactory,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.handler = handler
        self.context_factory = context_factory
        self.max_body = max_body
        self.log = log if log is not None else (lambda line: print(line, file=sys.stderr, flush=True))
        self.invoke_lock = threading.Lock()  # one request per instance, as FC's standard runtimes

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        host_text = f"[{host}]" if ":" in host else host
        return f"http://{host_text}:{port}"


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalTrigger
    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that stops sending mid-request is dropped

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the default line carries the request line, query string (token) included

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        started = time.monotonic()
        path = urllib.parse.urlsplit(self.path).path or "/"
        status, headers, data = self._answer()
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.server.log(f"local-http: {self.command} {path} -> {status} ({(time.monotonic() - started) * 1000:.0f} ms)")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _answer(self) -> tuple[int, dict[str, str], bytes]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            return _error(411, "LengthRequired", "send a Content-Length (chunked bodies are not accepted)")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return _error(400, "BadRequest", "Content-Length is not a number")
        if length < 0 or length > self.server.max_body:
            self.close_connection = True  # the body is not read: the connection cannot be reused
            return _error(413, "PayloadTooLarge", f"the body is larger than {self.server.max_body} bytes")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            self.close_connection = True
            return _error(400, "BadRequest", "the body is shorter than its Content-Length")
        req_id = request_id()
        event = build_event(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=str(self.client_address[0]),
            protocol=self.request_version,
            host=self.headers.get("Host", ""),
            req_id=req_id,
        )
        raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
        with self.server.invoke_lock:
            try:
                result = self.server.handler(raw, self.server.context_factory(req_id))
            except Exception as exc:  # FC answers an unhandled error with 502
                return _error(502, "UnhandledInvocationError", f"the function raised {type(exc).__name__}")
        status, headers, data = response_of(result)
        headers.setdefault("X-Fc-Request-Id", req_id)
        return status, headers, data


def serve(
    handler: Handler,
    context_factory: ContextFactory,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    max_body: int = DEFAULT_MAX_BODY,
    ready: Callable[[LocalTrigger], None] | None = None,
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM raise KeyboardInterrupt/SystemExit in the caller)."""
    server = LocalTrigger((host, port), handler, context_factory, max_body=max_body)
    try:
        if ready is not None:
            ready(server)
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
