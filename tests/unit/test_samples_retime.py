"""`havip_failover.samples.retime`: every time of every shape set to now, nothing else changed.

(tests/unit/test_events_dir.py checks it on every sample of events/; these are the details.)
"""

from __future__ import annotations

import base64
import json
from typing import Any

from havip_failover.samples import retime

NOW = 1_796_000_000.25  # 2026-11-30T00:53:20.250Z


def _retimed(value: Any) -> Any:
    return json.loads(retime(json.dumps(value).encode(), NOW))


def _http(body: str, *, b64: bool = False) -> dict[str, Any]:
    return {
        "version": "v1",
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "queryParameters": {"token": "demo-callback-token"},
        "body": base64.b64encode(body.encode()).decode() if b64 else body,
        "isBase64Encoded": b64,
        "requestContext": {"http": {"method": "POST"}, "time": "2026-11-27T03:00:01Z", "timeEpoch": "1795748401234"},
    }


def test_form_timestamp_keeps_its_unit_and_the_rest_of_the_body() -> None:
    body = "alertState=ALERT&dimensions={instanceId=i-a, userId=1}&timestamp=1795748400000&x=1"
    out = _retimed(_http(body))
    assert out["body"] == "alertState=ALERT&dimensions={instanceId=i-a, userId=1}&timestamp=1796000000250&x=1"
    assert out["requestContext"]["time"] == "2026-11-30T00:53:20.250Z"
    assert out["requestContext"]["timeEpoch"] == "1796000000250"
    seconds = _retimed(_http("timestamp=1795748400&alertState=OK"))
    assert seconds["body"] == "timestamp=1796000000&alertState=OK"


def test_base64_body_is_retimed_and_stays_base64() -> None:
    out = _retimed(_http("alertState=OK&timestamp=1795748400000", b64=True))
    assert base64.b64decode(out["body"]).decode() == "alertState=OK&timestamp=1796000000250"


def test_json_alarm_body_keeps_numbers_numbers() -> None:
    out = _retimed(
        _http(json.dumps({"alertState": "OK", "timestamp": 1795748400})) | {"body": '{"timestamp": 1795748400}'}
    )
    assert json.loads(out["body"]) == {"timestamp": 1796000000}


def test_cloudevent_ecs_and_health_times() -> None:
    event = {
        "id": "e-1",
        "time": "2026-11-27T03:05:00Z",
        "aliyunpublishtime": "2026-11-27T03:05:00.128Z",
        "data": {"eventTime": "20261127T110500.412+0800", "content": {"state": "Stopped"}},
    }
    out = _retimed(event)
    assert (out["id"], out["time"], out["aliyunpublishtime"]) == (
        "e-1",
        "2026-11-30T00:53:20.250Z",
        "2026-11-30T00:53:20.250Z",
    )
    assert out["data"] == {"eventTime": "20261130T005320.250+0000", "content": {"state": "Stopped"}}


def test_checked_at_that_is_not_a_time_is_left_alone() -> None:
    assert _retimed({"type": "havip.health", "checkedAt": "run-42"})["checkedAt"] == "run-42"
    assert _retimed({"type": "havip.health", "checkedAt": "2026-11-27T03:00:00+08:00"})["checkedAt"] == (
        "2026-11-30T00:53:20.250Z"
    )


def test_batch_of_json_strings_stays_strings() -> None:
    out = _retimed([json.dumps({"id": "a", "time": "2026-11-27T03:05:00Z"})])
    assert isinstance(out[0], str)
    assert json.loads(out[0]) == {"id": "a", "time": "2026-11-30T00:53:20.250Z"}


def test_manual_order_and_non_json_are_unchanged() -> None:
    order = {"HaVipId": "havip-a", "InstanceId": "i-a", "ClientToken": "t-1"}
    assert _retimed(order) == order
    assert retime(b"\xff not json", NOW) == b"\xff not json"
