"""The local HTTP trigger (`python -m havip_failover serve`): FC 3.0's event, FC's response mapping."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context
from havip_failover.local_http import LocalTrigger, build_event, canonical_header_key, response_of
from tests.conftest import BASE_ENV, CALLBACK_TOKEN
from tests.fakes import FakeClock, FakeVpc, pair

MASTER = "i-bp1master000000001"
HAVIP = "havip-bp1pair0000000001"


def test_the_event_has_fc_3_0_shape() -> None:
    event = build_event(
        method="POST",
        target="/cb/path%20x?token=abc&a=1&a=2&empty=",
        headers=[("content-type", "application/json"), ("x-havip-token", "t"), ("X-Multi", "1"), ("x-multi", "2")],
        body=b'{"k": "v"}',
        source_ip="127.0.0.1",
        host="127.0.0.1:9000",
        req_id="1-abc",
        now=1_795_748_400.123,
    )
    assert event["version"] == "v1"
    assert event["rawPath"] == "/cb/path%20x"
    assert event["body"] == '{"k": "v"}' and event["isBase64Encoded"] is False
    assert event["headers"] == {"Content-Type": "application/json", "X-Havip-Token": "t", "X-Multi": "1,2"}
    assert event["queryParameters"] == {"token": "abc", "a": "1,2", "empty": ""}
    ctx = event["requestContext"]
    assert ctx["http"] == {
        "method": "POST",
        "path": "/cb/path x",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "",
    }
    assert ctx["requestId"] == "1-abc"
    assert ctx["domainName"] == "127.0.0.1:9000"
    assert ctx["timeEpoch"] == "1795748400123"
    assert ctx["time"] == "2026-11-27T03:00:00Z"
    assert set(ctx) == {"accountId", "domainName", "domainPrefix", "http", "requestId", "time", "timeEpoch"}


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("application/x-www-form-urlencoded", b"a=1&b=%E4%B8%AD", False),
        ("text/plain; charset=utf-8", "中文".encode(), False),
        ("application/cloudevents+json", b"{}", False),
        ("application/octet-stream", b"\x00\x01binary", True),
        ("application/json", b"\xff\xfe not utf-8", True),
        ("", b"no type", True),
    ],
)
def test_binary_bodies_are_base64(content_type: str, body: bytes, encoded: bool) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    event = build_event(method="POST", target="/", headers=headers, body=body, source_ip="::1")
    assert event["isBase64Encoded"] is encoded
    decoded = base64.b64decode(event["body"]) if encoded else event["body"].encode()
    assert decoded == body


@pytest.mark.parametrize(("raw", "canonical"), [("x-havip-token", "X-Havip-Token"), ("CONTENT-TYPE", "Content-Type")])
def test_header_keys_are_canonical_as_fc_makes_them(raw: str, canonical: str) -> None:
    assert canonical_header_key(raw) == canonical


def test_the_response_is_mapped_as_fc_maps_it() -> None:
    assert response_of({"statusCode": 202, "headers": {"A": "b"}, "body": "x"}) == (202, {"A": "b"}, b"x")
    assert (
        response_of({"statusCode": 200, "body": base64.b64encode(b"\x00").decode(), "isBase64Encoded": True})[2]
        == b"\x00"
    )
    status, headers, data = response_of({"ok": True})
    assert (status, json.loads(data)) == (200, {"ok": True})
    assert headers["Content-Type"] == "application/json"
    assert response_of({"statusCode": "x"})[0] == 502


class Recorder:
    def __init__(self, answer: Any = None, fail: bool = False) -> None:
        self.calls: list[tuple[dict[str, Any], Any]] = []
        self.answer = answer if answer is not None else {"statusCode": 201, "headers": {"X-A": "1"}, "body": "made"}
        self.fail = fail

    def __call__(self, event: bytes, context: Any) -> Any:
        self.calls.append((json.loads(event), context))
        if self.fail:
            raise RuntimeError("boom")
        return self.answer


@pytest.fixture
def lines() -> list[str]:
    return []


def start(handler: Any, lines: list[str], max_body: int = 1024) -> tuple[LocalTrigger, threading.Thread]:
    server = LocalTrigger(
        ("127.0.0.1", 0), handler, lambda rid: Fc310Context(request_id=rid), max_body=max_body, log=lines.append
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def trigger(recorder: Recorder, lines: list[str]) -> Iterator[LocalTrigger]:
    server, thread = start(recorder, lines)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def request(
    server: LocalTrigger, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", int(server.server_address[1]), timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_each_request_calls_the_handler_with_the_event_and_an_fc_context(
    trigger: LocalTrigger, recorder: Recorder, lines: list[str]
) -> None:
    status, headers, body = request(
        trigger, "POST", "/p?token=secret-token-1234567", b"a=1", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (status, headers["x-a"], body) == (201, "1", b"made")
    ((event, context),) = recorder.calls
    assert event["requestContext"]["requestId"] == context.request_id == headers["x-fc-request-id"]
    assert event["queryParameters"] == {"token": "secret-token-1234567"}
    assert event["body"] == "a=1"
    # the log line names the method, path and status, never the query string
    assert lines and all("secret-token" not in line for line in lines)
    assert "POST /p -> 201" in lines[-1]


def test_an_oversized_body_is_refused_without_calling_the_handler(trigger: LocalTrigger, recorder: Recorder) -> None:
    status, _, body = request(trigger, "POST", "/", b"x" * 2048)
    assert status == 413 and b"PayloadTooLarge" in body
    assert recorder.calls == []


def test_a_raising_handler_is_a_502(lines: list[str]) -> None:
    server, thread = start(Recorder(fail=True), lines)
    try:
        status, headers, _ = request(server, "POST", "/", b"{}")
        assert status == 502 and headers["x-fc-error-type"] == "UnhandledInvocationError"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_real_entry_answers_through_it(lines: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the entry with an in-memory pair behind the local trigger
    vpc = FakeVpc(FakeClock())
    vpc.add(pair())
    env = {**BASE_ENV, "HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN}

    def handler(event: bytes, context: Any) -> Any:
        return invoke(event, context, env=env, vpc=vpc, clock=vpc.clock)

    server, thread = start(handler, lines, max_body=1024 * 1024)
    try:
        check = {"type": "havip.health", "instanceId": MASTER, "haVipId": HAVIP, "healthy": False, "id": "t-1"}
        # WHEN curl-like clients post a health check without, with a wrong, and with the right token
        no_token = request(server, "POST", "/", json.dumps(check).encode(), {"Content-Type": "application/json"})
        wrong = request(server, "POST", "/", json.dumps(check).encode(), {"X-Havip-Token": "x" * 20})
        right = request(server, "POST", "/", json.dumps(check).encode(), {"x-havip-token": CALLBACK_TOKEN})
        # THEN FC's statuses come back, and only the right token acts
        assert (no_token[0], wrong[0], right[0]) == (401, 403, 200)
        result = json.loads(right[2])
        assert [r["outcome"] for r in result["results"]] == ["unassociated"]
        assert [c.action for c in vpc.calls].count("UnassociateHaVip") == 1
        assert CALLBACK_TOKEN.encode() not in right[2]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
