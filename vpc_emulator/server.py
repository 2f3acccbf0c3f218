"""A threaded HTTP server speaking the VPC API as the real SDK calls it, plus an admin API.

API requests: ``POST /`` (or GET), parameters in the query (and form body), the action in
``x-acs-action``/``x-acs-version`` headers or ``Action``/``Version`` parameters, signed with
ACS3-HMAC-SHA256, ACS3-HMAC-SM3 or v2 HMAC-SHA1 (see ``signing``).

Admin API (no signature), JSON in and out:

- ``GET /_emulator/state`` → the backend snapshot (seed format)
- ``POST /_emulator/reset`` body: seed JSON (empty = empty state); also clears journal,
  faults and seen nonces → the new snapshot
- ``GET /_emulator/journal`` → list of journal entries; ``DELETE /_emulator/journal`` clears it
- ``GET /_emulator/faults`` → pending faults; ``POST /_emulator/faults`` body: a list of
  Fault fields (or one object) → pending faults; ``DELETE /_emulator/faults`` clears them
- ``POST /_emulator/instances/<id>`` body ``{"status": "Stopped"}`` (also ``region`` and
  ``vswitch`` to create it; for an ENI ``"instance": "i-…"`` or null attaches/detaches it)
  → the instance
- ``DELETE /_emulator/instances/<id>`` → release it as the platform does (every HAVIP holding
  it disassociates it at once) → ``{"released_from": [HAVIP ids]}``
- ``POST /_emulator/instances/<id>/reboot`` body ``{"stopping": 1.0, "starting": 1.0}``
  → Stopping, then Starting, then Running
- ``POST /_emulator/havips/<id>/tags`` body ``{"k": "v"}`` → replaces the HAVIP's tags
- ``GET /_emulator/ram`` → denials; ``POST /_emulator/ram`` body ``{"deny": [actions],
  "access_key_id": "…"}`` (no key: every key; ``"allow"`` lifts); ``DELETE`` clears them
- ``GET /_emulator/health`` → ``{"ok": true}``
- ``GET /_emulator/events`` (``?bus=NAME``) → what EventBridge's PutEvents put on each bus,
  oldest first: ``[{"bus", "requestId", "traceId", "event": {Id, Source, Type, Subject, Time,
  Data, …}}]``; ``DELETE /_emulator/events`` forgets them
- ``GET /_emulator/buses`` → the custom buses; ``POST /_emulator/buses/<name>`` creates one
  (PutEvents onto a bus that does not exist answers 404 ``EventBusNotExist``)

Faults (``POST /_emulator/faults``) also take ``"lag": SECONDS`` (DescribeHaVips,
DescribeInstanceStatus or DescribeNetworkInterfaces answered from that long ago) and
``"code": "Forbidden.RAM"`` (the gateway's 403 with AccessDeniedDetail).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import Fault, FaultPlan, RamPolicy, access_denied
from .models import VpcApiError, VpcBackend
from .responses import JSON_CONTENT_TYPE, VpcResponses, error_body, new_request_id, product_of
from .signing import ApiRequest, Authenticator, action_params

log = logging.getLogger("vpc_emulator")

ADMIN_PREFIX = "/_emulator/"
_SECRET_PARAM_RE = re.compile(r"\b(SecurityToken|Signature)=[^&\s]*")
INTERNAL_ERROR_MESSAGE = "The request processing has failed due to some unknown error, exception or failure."


@dataclass(frozen=True)
class JournalEntry:
    """One API request as the emulator answered it.

    status 0 means no HTTP answer (code ``ConnectionDropped`` or ``ConnectionHung``).
    """

    time: float
    action: str
    params: dict[str, str]
    status: int
    code: str | None
    request_id: str
    client_token: str | None
    access_key_id: str | None = None
    # UnassociateHaVip only: the HAVIP as it was when the call was served (after any
    # injected mutation), so tests can check e.g. that Force=True went to the master.
    havip_before: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: EmulatorServer) -> None:
        self.emulator = emulator
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("vpc emulator: error on connection from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VpcEmulator/1.0"
    server: _HttpServer

    # -------------------------------------------------------------- plumbing

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK
        # add ~40 ms to every keep-alive request
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.open_connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # a v2 GET carries its STS token in the request line: never log it
        log.debug("%s - %s", self.address_string(), _SECRET_PARAM_RE.sub(r"\1=***", format % args))

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = JSON_CONTENT_TYPE,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _send_json(self, status: int, data: Any, extra_headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._send(status, body, extra_headers=extra_headers)

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self._send_json(400, {"error": "unreadable request body"})
            return
        path = urlsplit(self.path).path
        try:
            if path.startswith(ADMIN_PREFIX) or path == ADMIN_PREFIX.rstrip("/"):
                self._admin(path, body)
            else:
                self._api(body)
        except (BrokenPipeError, ConnectionResetError):  # the client left (its timeout): not a bug
            self.close_connection = True
        except Exception:  # a bug must answer 500, never kill the connection thread
            log.exception("vpc emulator: unhandled error for %s %s", self.command, self.path)
            rid = new_request_id()
            try:
                self._send_json(
                    500,
                    error_body("InternalError", INTERNAL_ERROR_MESSAGE, rid, self._host()),
                    {"x-acs-request-id": rid},
                )
            except OSError:
                self.close_connection = True

    def _host(self) -> str:
        return self.headers.get("Host") or self.server.emulator.endpoint

    # -------------------------------------------------------------- API

    def _api(self, body: bytes) -> None:
        emulator = self.server.emulator
        split = urlsplit(self.path)
        req = ApiRequest(
            method=self.command,
            path=split.path or "/",
            query=split.query,
            headers=list(self.headers.items()),
            body=body,
        )
        request_id = new_request_id()
        action = req.header("x-acs-action") or ""
        params: dict[str, str] = {}
        ak: str | None = None
        havip_before: dict[str, Any] | None = None

        def journal(status: int, code: str | None, rid: str) -> None:
            emulator._record(
                JournalEntry(
                    time=time.monotonic(),
                    action=action,
                    params=params,
                    status=status,
                    code=code,
                    request_id=rid,
                    client_token=params.get("ClientToken"),
                    access_key_id=ak,
                    havip_before=havip_before,
                )
            )

        try:
            raw_params = req.params()
            # v2-signed requests (legacy SDKs) name the action in the parameters
            action = action or raw_params.get("Action", "")
            params = action_params(raw_params)
            if self.command not in ("GET", "POST"):
                raise VpcApiError(
                    400, "UnsupportedHTTPMethod", f"Specified HTTP method {self.command} is not supported."
                )
            if req.path != "/":
                raise VpcApiError(404, "InvalidApi.NotFound", f"Specified api is not found: {req.path}.")
            ak = emulator.authenticator.authenticate(req, raw_params)
            emulator.responses.check_action(action, req.header("x-acs-version") or raw_params.get("Version"))
            emulator.ram.check(action, ak)
            latency = emulator.backend.latency
            if latency > 0:
                emulator._sleep(latency)
            fault = emulator.faults.take(action)
            if fault is not None:
                if fault.latency > 0:
                    emulator._sleep(fault.latency)
                if fault.drop:
                    journal(0, "ConnectionDropped", request_id)
                    self._drop()
                    return
                if fault.hang > 0:
                    journal(0, "ConnectionHung", request_id)
                    emulator._sleep(fault.hang)
                    self._drop()
                    return
                if fault.mutate is not None:
                    fault.mutate(emulator.backend)
                if fault.code == "Forbidden.RAM" and fault.message is None:
                    raise access_denied(action, ak)
                if fault.code is not None:
                    raise VpcApiError(fault.http_status, fault.code, fault.error_message)
            if action == "UnassociateHaVip":
                with contextlib.suppress(KeyError):
                    havip_before = emulator.backend.get_havip(params.get("HaVipId", ""))
            lag = emulator.faults.take_lag(action)
            result = emulator.responses.dispatch(action, params, request_id, lag)
        except VpcApiError as err:
            journal(err.http_status, err.code, request_id)
            self._send_json(
                err.http_status,
                {**error_body(err.code, err.message, request_id, self._host(), product_of(action)), **err.extra},
                {"x-acs-request-id": request_id},
            )
            return
        rid = str(result.get("RequestId", request_id))
        journal(200, None, rid)
        self._send_json(200, result, {"x-acs-request-id": rid})

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -------------------------------------------------------------- admin

    def _admin(self, path: str, body: bytes) -> None:
        emulator = self.server.emulator
        route = path[len(ADMIN_PREFIX) :].strip("/")
        method = self.command
        try:
            data: Any = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._send_json(400, {"error": f"body is not JSON: {exc}"})
            return
        try:
            if route == "health" and method == "GET":
                self._send_json(200, {"ok": True, "endpoint": emulator.endpoint})
            elif route == "state" and method == "GET":
                self._send_json(200, emulator.backend.snapshot())
            elif route == "reset" and method == "POST":
                if data is not None and not isinstance(data, dict):
                    raise ValueError("reset body must be a seed object")
                emulator.reset(data)
                self._send_json(200, emulator.backend.snapshot())
            elif route == "journal" and method == "GET":
                self._send_json(200, [e.to_dict() for e in emulator.journal])
            elif route == "journal" and method == "DELETE":
                emulator.clear_journal()
                self._send_json(200, [])
            elif route == "events" and method == "GET":
                bus = parse_qs(urlsplit(self.path).query).get("bus", [None])[0]
                self._send_json(200, emulator.backend.received_events(bus))
            elif route == "events" and method == "DELETE":
                emulator.backend.clear_events()
                self._send_json(200, [])
            elif route == "buses" and method == "GET":
                self._send_json(200, emulator.backend.event_buses())
            elif route.startswith("buses/") and method in ("POST", "PUT"):
                emulator.backend.create_event_bus(route[len("buses/") :])
                self._send_json(200, emulator.backend.event_buses())
            elif route == "faults" and method == "GET":
                self._send_json(200, [f.to_dict() for f in emulator.faults.pending()])
            elif route == "faults" and method == "POST":
                items = data if isinstance(data, list) else [data]
                faults = []
                for item in items:
                    if not isinstance(item, dict):
                        raise ValueError("each fault must be an object of Fault fields")
                    faults.append(Fault.from_dict(item))
                for fault in faults:
                    emulator.inject(fault)
                self._send_json(200, [f.to_dict() for f in emulator.faults.pending()])
            elif route == "faults" and method == "DELETE":
                emulator.clear_faults()
                self._send_json(200, [])
            elif route.startswith("instances/") and route.endswith("/reboot") and method == "POST":
                phases = data if isinstance(data, dict) else {}
                instance_id = route[len("instances/") : -len("/reboot")]
                emulator.reboot_instance(
                    instance_id, float(phases.get("stopping", 1.0)), float(phases.get("starting", 1.0))
                )
                self._send_json(200, emulator.backend.get_instance(instance_id))
            elif route.startswith("instances/") and method == "POST":
                self._admin_instance(route[len("instances/") :], data)
            elif route.startswith("instances/") and method == "DELETE":
                released = emulator.delete_instance(route[len("instances/") :])
                self._send_json(200, {"released_from": released})
            elif route.startswith("havips/") and route.endswith("/tags") and method == "POST":
                if not isinstance(data, dict):
                    raise ValueError('body must be an object of tags like {"key": "value"}')
                ha_vip_id = route[len("havips/") : -len("/tags")]
                emulator.backend.set_tags(ha_vip_id, data)
                self._send_json(200, emulator.backend.get_havip(ha_vip_id))
            elif route == "ram" and method == "GET":
                self._send_json(200, emulator.ram.to_dict())
            elif route == "ram" and method == "POST":
                if not isinstance(data, dict):
                    raise ValueError('body must be an object like {"deny": ["UnassociateHaVip"]}')
                key = data.get("access_key_id")
                if "deny" in data:
                    emulator.ram.deny([str(a) for a in data["deny"]], key)
                if "allow" in data:
                    allow = data["allow"]
                    emulator.ram.allow(None if allow is None else [str(a) for a in allow], key)
                self._send_json(200, emulator.ram.to_dict())
            elif route == "ram" and method == "DELETE":
                emulator.ram.clear()
                self._send_json(200, {})
            else:
                self._send_json(404, {"error": f"no admin route {method} {path}"})
        except (ValueError, TypeError, KeyError) as exc:
            self._send_json(400, {"error": str(exc)})

    def _admin_instance(self, instance_id: str, data: Any) -> None:
        backend = self.server.emulator.backend
        if not isinstance(data, dict):
            raise ValueError('body must be an object like {"status": "Stopped"}')
        try:
            backend.get_instance(instance_id)
            exists = True
        except KeyError:
            exists = False
        if not exists:
            if "region" not in data:
                self._send_json(404, {"error": f"no such instance {instance_id}"})
                return
            backend.add_instance(
                instance_id, str(data["region"]), data.get("vswitch"), data.get("status"), data.get("instance")
            )
        else:
            if "status" in data:
                backend.set_instance_status(instance_id, str(data["status"]))
            if "instance" in data:
                backend.attach_eni(instance_id, data["instance"])
        self._send_json(200, backend.get_instance(instance_id))


class EmulatorServer:
    """The VPC emulator on a local port: ``with EmulatorServer() as server: …``."""

    def __init__(
        self,
        backend: VpcBackend | None = None,
        credentials: Mapping[str, tuple[str, str | None]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_clock_skew: float | None = 900.0,
        check_nonce: bool = True,
    ) -> None:
        self.backend = backend if backend is not None else VpcBackend()
        self.authenticator = Authenticator(credentials, max_clock_skew=max_clock_skew, check_nonce=check_nonce)
        self.responses = VpcResponses(self.backend)
        self.faults = FaultPlan()
        self.ram = RamPolicy()
        self.host = host
        self._requested_port = port
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._journal: list[JournalEntry] = []
        self._journal_lock = threading.Lock()
        self._stopping = threading.Event()

    # -------------------------------------------------------------- lifecycle

    def start(self) -> EmulatorServer:
        """Bind, listen and serve in a daemon thread; returns once ready."""
        if self._httpd is not None:
            raise RuntimeError("emulator already started")
        self._stopping.clear()
        httpd = _HttpServer((self.host, self._requested_port), self)
        ready = threading.Event()

        def serve() -> None:
            ready.set()
            httpd.serve_forever(poll_interval=0.05)

        thread = threading.Thread(target=serve, name="vpc-emulator", daemon=True)
        self._httpd = httpd
        self._thread = thread
        thread.start()
        if not ready.wait(5.0):
            raise RuntimeError("emulator thread did not start")
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and every open connection (wakes hung requests)."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with httpd.connections_lock:
            connections = list(httpd.open_connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(5.0)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("emulator not started")
        return int(self._httpd.server_address[1])

    @property
    def endpoint(self) -> str:
        """``host:port`` as the SDK's ``Config(endpoint=…)`` wants it."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    # -------------------------------------------------------------- journal, faults

    @property
    def journal(self) -> list[JournalEntry]:
        with self._journal_lock:
            return list(self._journal)

    def calls(self, action: str) -> list[JournalEntry]:
        return [e for e in self.journal if e.action == action]

    def clear_journal(self) -> None:
        with self._journal_lock:
            self._journal.clear()

    def _record(self, entry: JournalEntry) -> None:
        with self._journal_lock:
            self._journal.append(entry)

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)

    # -------------------------------------------------------------- mid-scenario controls

    def set_describe_lag(self, seconds: float, action: str = "DescribeHaVips") -> None:
        """Answer `action` from the state of `seconds` ago until the faults are cleared."""
        self.inject(Fault.describe_lag(seconds, action))

    def deny(self, *actions: str, access_key_id: str | None = None) -> None:
        """RAM: refuse these actions (403 Forbidden.RAM) to that key, or to every key."""
        self.ram.deny(actions, access_key_id)

    def set_instance_status(self, instance_id: str, status: str) -> None:
        self.backend.set_instance_status(instance_id, status)

    def delete_instance(self, instance_id: str) -> list[str]:
        """Release an instance or ENI; the HAVIPs holding it disassociate it (returned)."""
        return self.backend.delete_instance(instance_id)

    def reboot_instance(self, instance_id: str, stopping: float = 1.0, starting: float = 1.0) -> None:
        self.backend.reboot_instance(instance_id, stopping, starting)

    def clear_faults(self) -> None:
        self.faults.clear()

    def reset(self, seed: Mapping[str, Any] | None = None) -> None:
        """Empty state (then `seed` if given), no journal, no faults, no seen nonces."""
        self.backend.reset()
        if seed:
            self.backend.seed(seed)
        self.clear_journal()
        self.clear_faults()
        self.ram.clear()
        self.authenticator.clear_nonces()

    def _sleep(self, seconds: float) -> None:
        """Sleep, cut short when the server stops."""
        self._stopping.wait(seconds)
