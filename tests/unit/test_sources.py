"""Event parsing: raw FC event bytes -> signals, or a structured rejection.

Each test is GIVEN an event (built by the helpers below, named in the test) / WHEN
`parse_event` reads it / THEN one behaviour, which the test name states.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from havip_failover import sources
from havip_failover.model import BadEvent, Parsed, ParseOptions, Signal, Unauthorized
from havip_failover.sources import cloudmonitor, parse_event
from havip_failover.sources import manual as manual_source

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
ENI = "eni-bp1standbyeni0001"
HAVIP = "havip-bp1pair0000000001"
REGION = "cn-hangzhou"
ACCOUNT = "1234567890123456"
TOKEN = "s3cret-Callback-Token-4f9a"
FORM = "application/x-www-form-urlencoded; charset=UTF-8"
OPTIONS = ParseOptions()


# --------------------------------------------------------------------------- builders


def encode(event: Any) -> bytes:
    if isinstance(event, bytes):
        return event
    try:
        return json.dumps(event, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # lone surrogates: only representable as \u escapes
        return json.dumps(event).encode()


def parse(event: Any, *, token: str | None = TOKEN, options: ParseOptions = OPTIONS) -> Parsed:
    return parse_event(encode(event), options, token)


def one(event: Any, **kwargs: Any) -> Signal:
    parsed = parse(event, **kwargs)
    assert len(parsed.signals) == 1
    return parsed.signals[0]


def rejected(event: Any, *, token: str | None = TOKEN, options: ParseOptions = OPTIONS) -> BadEvent:
    with pytest.raises(BadEvent) as info:
        parse_event(encode(event), options, token)
    return info.value


def unauthorized(event: Any, *, token: str | None = TOKEN) -> Unauthorized:
    with pytest.raises(Unauthorized) as info:
        parse_event(encode(event), OPTIONS, token)
    return info.value


def alarm(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "alertName": "db master memory",
        "alertState": "ALERT",
        "curValue": "97.39",
        "dimensions": f"{{userId={ACCOUNT}, instanceId={MASTER}}}",
        "expression": "$Average>=95",
        "instanceName": "db1-master",
        "metricName": "Host.mem.usedutilization",
        "metricProject": "acs_ecs_dashboard",
        "namespace": "acs_ecs_dashboard",
        "preTriggerLevel": "null",
        "regionId": "null",
        "ruleId": "rule-0001",
        "signature": "eEq1zHuCUp0XSmLD8p8VtTKF****",
        "timestamp": "1795748400000",
        "triggerLevel": "CRITICAL",
        "userId": ACCOUNT,
    }
    for key, value in overrides.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return fields


def http(
    body: str = "",
    *,
    content_type: str | None = FORM,
    method: str = "POST",
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    all_headers = {"Host": "x.cn-hangzhou.fcapp.run", "User-Agent": "test"}
    if content_type is not None:
        all_headers["Content-Type"] = content_type
    all_headers.update(headers or {})
    return {
        "version": "v1",
        "rawPath": "/",
        "headers": all_headers,
        "queryParameters": {"token": TOKEN} if query is None else query,
        "body": base64.b64encode(body.encode()).decode() if base64_encoded else body,
        "isBase64Encoded": base64_encoded,
        "requestContext": {
            "accountId": ACCOUNT,
            "domainName": "x.cn-hangzhou.fcapp.run",
            "domainPrefix": "x",
            "http": {
                "method": method,
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "47.74.206.12",
                "userAgent": "test",
            },
            "requestId": "1-0000-0000",
            "time": "2026-11-27T03:00:01Z",
            "timeEpoch": "1795748401000",
        },
    }


def form_request(fields: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    return http(urllib.parse.urlencode(alarm() if fields is None else fields), **kwargs)


def json_request(payload: Any, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("content_type", "application/json")
    return http(json.dumps(payload, ensure_ascii=False), **kwargs)


def cloudevent(event_type: str, data: Any, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": "45ef4dew-dwe1-7c35-447a-bd93fab00001",
        "source": "acs.ecs",
        "specversion": "1.0",
        "type": event_type,
        "subject": f"acs:ecs:{REGION}:{ACCOUNT}:instance/{STANDBY}",
        "time": "2026-11-27T03:05:00Z",
        "datacontenttype": "application/json;charset=utf-8",
        "aliyunaccountid": ACCOUNT,
        "aliyunregionid": REGION,
        "aliyuneventbusname": "default",
        "aliyunpublishtime": "2026-11-27T03:05:00.128Z",
        "data": data,
    }
    for key, value in overrides.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def arn(instance: str) -> str:
    return f"acs:ecs:{REGION}:{ACCOUNT}:instance/{instance}"


def ecs_data(state: str = "Stopped", instance: str = STANDBY, **content: Any) -> dict[str, Any]:
    return {
        "ver": "1.0",
        "id": "2256A988-0B26-4E2B-820A-8A00000000E5",
        "product": "ECS",
        "resourceId": arn(instance),
        "level": "INFO",
        "name": "Instance:StateChange",
        "userId": ACCOUNT,
        "eventTime": "20261127T110500.000+0800",
        "regionId": REGION,
        "content": {"resourceId": instance, "resourceType": "ALIYUN::ECS::Instance", "state": state, **content},
    }


def failure_data(event_type: str, status: str = "Executing", instance: str = MASTER) -> dict[str, Any]:
    return {
        "ver": "1.0",
        "id": "2256A988-0B26-4E2B-820A-8A00000000E6",
        "product": "ECS",
        "resourceId": arn(instance),
        "level": "CRITICAL",
        "name": f"Instance:{event_type}:{status}",
        "userId": ACCOUNT,
        "eventTime": "20261127T110210.000+0800",
        "regionId": REGION,
        "content": {
            "eventId": "e-bp1d2f3h4j5k6m7n8p9q",
            "publishTime": "2026-11-27T03:02:10Z",
            "instanceId": instance,
            "eventType": event_type,
            "eventStatus": status,
        },
    }


def manual(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"RegionId": REGION, "HaVipId": HAVIP, "InstanceId": MASTER}
    for key, value in fields.items():
        if value is ...:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def health(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "havip.health",
        "id": "chk-0001",
        "instanceId": MASTER,
        "healthy": False,
        "consecutiveFailures": 3,
        "checkedAt": "2026-11-27T03:00:00Z",
        "checker": "keepalived-notify@db2",
    }
    for key, value in fields.items():
        if value is ...:
            base.pop(key, None)
        else:
            base[key] = value
    return base


# =========================================================================== bytes and JSON


def test_utf8_bom_is_tolerated() -> None:
    # GIVEN a manual event saved by an editor that writes a UTF-8 BOM
    raw = b"\xef\xbb\xbf" + encode(manual())
    # WHEN it is parsed THEN it reads like any other
    assert parse_event(raw, OPTIONS, None).signals[0].instance_id == MASTER


def test_invalid_utf8_is_rejected() -> None:
    # GIVEN bytes that are not UTF-8
    error = rejected(b'{"InstanceId": "\xff\xfe"}')
    # THEN the rejection says so
    assert error.code == "InvalidEncoding"


def test_invalid_json_names_the_position() -> None:
    error = rejected(b'{"InstanceId": ')
    assert error.code == "InvalidJson"
    assert "line 1" in error.message


@pytest.mark.parametrize("raw", [b"", b"   \n\t", b"\xef\xbb\xbf"])
def test_empty_event_is_rejected(raw: bytes) -> None:
    assert rejected(raw).code == "EmptyEvent"


def test_event_over_the_size_limit_is_rejected_before_decoding() -> None:
    # GIVEN an absurdly large event (valid JSON, 2 MiB)
    raw = b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    # THEN it is refused as too large
    assert rejected(raw).code == "EventTooLarge"


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 50_000, b"[" * 40 + b"]" * 40])
def test_deep_nesting_is_rejected_without_recursion_error(raw: bytes) -> None:
    # GIVEN JSON nested far deeper than any real event (complete or not)
    # WHEN parsed THEN a BadEvent, never a RecursionError
    assert rejected(raw).code == "NestingTooDeep"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    # GIVEN an alarm whose name is full of brackets and escaped quotes
    event = alarm(alertName='[{"\\' * 100)
    # WHEN parsed THEN it is read normally
    assert one(event).state == "failed"


@pytest.mark.parametrize("raw", [b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}'])
def test_non_standard_json_constants_are_rejected(raw: bytes) -> None:
    assert rejected(raw).code == "InvalidJson"


def test_duplicate_keys_are_rejected() -> None:
    # GIVEN a manual event naming two different instances under one key
    raw = f'{{"HaVipId": "{HAVIP}", "InstanceId": "{MASTER}", "InstanceId": "{STANDBY}"}}'.encode()
    error = rejected(raw)
    assert error.code == "DuplicateKey"
    assert "InstanceId" in error.message


@pytest.mark.parametrize("raw", [b'"hello"', b"42", b"null", b"true"])
def test_top_level_scalar_is_an_unknown_event(raw: bytes) -> None:
    assert rejected(raw).code == "UnknownEvent"


def test_non_bytes_input_is_a_bad_event() -> None:
    with pytest.raises(BadEvent) as info:
        parse_event(None, OPTIONS, TOKEN)  # type: ignore[arg-type]
    assert info.value.code == "MalformedEvent"


def test_text_input_is_tolerated() -> None:
    signal = parse_event(json.dumps(manual()), OPTIONS, None).signals[0]  # type: ignore[arg-type]
    assert signal.instance_id == MASTER


def test_unexpected_internal_error_becomes_a_bad_event(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a parser bug (simulated)
    def boom(*_: Any) -> Parsed:
        raise KeyError("secret-value")

    monkeypatch.setattr(sources, "dispatch_json", boom)
    # WHEN an event is parsed THEN the caller still gets a BadEvent, without the detail
    error = rejected(manual())
    assert error.code == "MalformedEvent"
    assert "secret-value" not in error.message


# =========================================================================== dispatch


def test_unknown_object_lists_the_accepted_shapes() -> None:
    error = rejected({"hello": "world"})
    assert error.code == "UnknownEvent"
    assert "'hello'" in error.message
    for shape in ("CloudEvent", "havip.health", "HaVipId", "alertState", "HTTP-trigger"):
        assert shape in error.message


def test_unknown_object_suggests_the_manual_keys_it_resembles() -> None:
    # GIVEN a manual event where both marker keys are mistyped
    error = rejected({"HavipId": HAVIP, "Instanceid": MASTER})
    assert error.code == "UnknownEvent"
    assert "'HaVipId'" in error.message
    assert "'InstanceId'" in error.message


def test_health_check_without_type_says_the_type_is_needed() -> None:
    error = rejected(health(type=...))
    assert error.code == "UnknownEvent"
    assert "havip.health" in error.message


def test_empty_object_is_an_unknown_event() -> None:
    assert rejected({}).code == "UnknownEvent"


# =========================================================================== HTTP trigger


def test_http_form_alarm_yields_a_callback_signal() -> None:
    parsed = parse(form_request())
    assert parsed.envelope == "http"
    assert (parsed.signals[0].source, parsed.signals[0].instance_id) == ("cloudmonitor-callback", MASTER)


def test_token_in_header_is_accepted_whatever_the_header_case() -> None:
    event = form_request(query={}, headers={"x-HAVIP-token": TOKEN})
    assert one(event).state == "failed"


def test_missing_token_is_401() -> None:
    error = unauthorized(form_request(query={}))
    assert (error.code, error.status, error.envelope) == ("MissingCallbackToken", 401, "http")


def test_empty_token_counts_as_missing() -> None:
    error = unauthorized(form_request(query={"token": ""}))
    assert (error.code, error.status) == ("MissingCallbackToken", 401)


def test_wrong_token_is_403() -> None:
    error = unauthorized(form_request(query={"token": "guess"}))
    assert (error.code, error.status) == ("InvalidCallbackToken", 403)


def test_wrong_header_token_is_403_even_with_a_right_query_token() -> None:
    error = unauthorized(form_request(headers={"X-Havip-Token": "guess"}))
    assert (error.code, error.status) == ("InvalidCallbackToken", 403)


@pytest.mark.parametrize("configured", [None, ""])
def test_unconfigured_token_refuses_every_http_request(configured: str | None) -> None:
    # GIVEN no callback token configured WHEN even a "tokened" request arrives THEN 403
    error = unauthorized(form_request(), token=configured)
    assert (error.code, error.status) == ("CallbackTokenNotConfigured", 403)


def test_token_is_checked_before_the_body_is_read() -> None:
    # GIVEN an unreadable body and no token THEN the answer is about the token
    error = unauthorized(http("%%%not a body", query={}, base64_encoded=False, content_type="application/json"))
    assert error.code == "MissingCallbackToken"


def test_token_is_checked_before_the_method() -> None:
    error = unauthorized(form_request(method="GET", query={}))
    assert error.code == "MissingCallbackToken"


def test_non_ascii_token_is_compared_safely() -> None:
    error = unauthorized(form_request(query={"token": "jeton-été-\udcff"}))
    assert error.code == "InvalidCallbackToken"


@pytest.mark.parametrize(
    "event",
    [
        form_request(query={"token": "wrong-token-value-123"}),
        form_request(headers={"X-Havip-Token": "wrong-token-value-123"}),
        form_request(method="PUT"),
        form_request(alarm(dimensions="{instanceId=i-bad;rm -rf}")),
        http("not base64!!", base64_encoded=True),
        json_request({"unknown": TOKEN}),
    ],
)
def test_token_values_never_appear_in_rejections(event: dict[str, Any]) -> None:
    error = rejected(event)
    for secret in (TOKEN, "wrong-token-value-123"):
        assert secret not in error.message
        assert secret not in str(error)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_a_method_other_than_post_or_get_is_rejected_naming_it(method: str) -> None:
    error = rejected(form_request(method=method))
    assert (error.code, error.envelope) == ("MethodNotAllowed", "http")
    assert method in error.message


def test_get_needs_the_token_like_every_request() -> None:
    assert unauthorized(form_request(method="GET", query={})).code == "MissingCallbackToken"
    assert unauthorized(form_request(method="GET", query={"token": "wrong-token-value-123"})).status == 403


def test_get_is_inspect_once_the_token_is_right() -> None:
    parsed = sources.parse_event(json.dumps(form_request(method="GET")).encode(), ParseOptions(), TOKEN)
    assert (parsed.inspect, parsed.signals, parsed.envelope) == (True, [], "http")


def test_bad_base64_body_is_rejected() -> None:
    error = rejected(http("not*base64", base64_encoded=False) | {"isBase64Encoded": True})
    assert (error.code, error.envelope) == ("InvalidBase64", "http")


def test_base64_body_that_is_not_utf8_is_rejected() -> None:
    event = http() | {"body": base64.b64encode(b"alertState=\xff\xfe").decode(), "isBase64Encoded": True}
    error = rejected(event)
    assert (error.code, error.envelope) == ("InvalidEncoding", "http")


def test_base64_json_body_is_read() -> None:
    event = http(json.dumps(health()), content_type="application/json", base64_encoded=True)
    assert one(event).source == "health-check"


def test_json_body_health_check_is_read() -> None:
    signal = one(json_request(health()))
    assert (signal.source, signal.state) == ("health-check", "failed")


def test_json_body_batch_keeps_the_http_envelope() -> None:
    parsed = parse(json_request([cloudevent("ecs:Instance:StateChange", ecs_data())]))
    assert parsed.envelope == "http"


@pytest.mark.parametrize(
    ("body", "source"),
    [(json.dumps(health()), "health-check"), (urllib.parse.urlencode(alarm()), "cloudmonitor-callback")],
)
def test_body_without_content_type_is_sniffed(body: str, source: str) -> None:
    assert one(http(body, content_type=None)).source == source


def test_json_sent_as_a_form_is_read_as_json() -> None:
    # GIVEN `curl -d '{...}'`, which labels JSON as a form
    signal = one(http(json.dumps(health()), content_type="application/x-www-form-urlencoded"))
    assert signal.source == "health-check"


def test_unsupported_content_type_is_rejected() -> None:
    error = rejected(http("<xml/>", content_type="application/xml"))
    assert (error.code, error.envelope) == ("UnsupportedMediaType", "http")


@pytest.mark.parametrize("body", ["", "   "])
def test_empty_http_body_is_rejected(body: str) -> None:
    error = rejected(http(body))
    assert (error.code, error.envelope) == ("EmptyBody", "http")


def test_form_that_is_not_an_alarm_is_rejected() -> None:
    error = rejected(http("a=1&b=2"))
    assert (error.code, error.envelope) == ("UnknownEvent", "http")


def test_form_field_repeated_with_different_values_is_rejected() -> None:
    body = urllib.parse.urlencode(alarm()) + f"&dimensions={{instanceId={STANDBY}}}"
    assert rejected(http(body)).code == "InvalidForm"


def test_percent_encoding_that_is_not_utf8_is_rejected() -> None:
    assert rejected(http(urllib.parse.urlencode(alarm()) + "&unit=%FF%FE")).code == "InvalidForm"


def test_http_malformed_headers_are_rejected_as_http() -> None:
    error = rejected(form_request() | {"headers": ["not", "an", "object"]})
    assert (error.code, error.envelope) == ("MalformedHttpEvent", "http")


@pytest.mark.parametrize(
    "event",
    [
        form_request(alarm(dimensions="{instanceId=i-x;y}")),
        form_request(alarm(alertState="MAYBE")),
        json_request({"hello": 1}),
        json_request([]),
        json_request(manual(HavipId=HAVIP)),
        http('{"broken": ', content_type="application/json"),
        http("[" * 1000, content_type="application/json"),
        http(urllib.parse.urlencode(alarm()), content_type="text/csv"),
    ],
)
def test_every_rejection_of_an_http_request_says_http(event: dict[str, Any]) -> None:
    assert rejected(event).envelope == "http"


def test_percent_encoded_chinese_alarm_name_is_decoded() -> None:
    signal = one(form_request(alarm(alertName="数据库主节点不可达")))
    assert "数据库主节点不可达" in signal.detail


def test_unencoded_java_map_in_a_raw_form_body_is_read() -> None:
    # GIVEN the body exactly as CloudMonitor's documentation shows it (braces unencoded)
    body = (
        "expression=$Average>=95&metricName=Host.mem.usedutilization&instanceName=instance-name-****"
        "&signature=eEq1zHuCUp0XSmLD8p8VtTKF****&metricProject=acs_ecs&userId=12****&curValue=97.39"
        "&alertName=mem&namespace=acs_ecs&triggerLevel=WARN&alertState=ALERT&preTriggerLevel=WARN"
        f"&ruleId=applyTemplateee147e59-664f&dimensions={{userId=12****, instanceId={MASTER}}}&timestamp=1508136760"
    )
    signal = one(http(body))
    assert (signal.instance_id, signal.state) == (MASTER, "failed")


# =========================================================================== CloudMonitor


@pytest.mark.parametrize(
    ("state", "level", "expected"),
    [
        ("ALERT", "CRITICAL", "failed"),
        ("ALERT", "WARN", "failed"),
        ("ALERT", "INFO", "info"),
        ("ALERT", None, "failed"),
        ("ALERT", "OK", "info"),
        ("alert", "critical", "failed"),
        ("ALARM", "CRITICAL", "failed"),
        ("OK", "OK", "recovered"),
        ("OK", None, "recovered"),
        ("INSUFFICIENT_DATA", "null", "info"),
    ],
)
def test_alarm_state_and_level_map_to_a_signal_state(state: str, level: str | None, expected: str) -> None:
    assert one(alarm(alertState=state, triggerLevel=level)).state == expected


def test_alarm_json_body_sent_directly_is_a_callback_signal() -> None:
    signal = one(alarm())
    assert (signal.source, signal.instance_id, signal.region_id) == ("cloudmonitor-callback", MASTER, None)


@pytest.mark.parametrize("state", ["MAYBE", "", "null"])
def test_missing_or_unknown_alert_state_is_rejected(state: str) -> None:
    assert rejected(alarm(alertState=state)).code in ("InvalidAlertState", "MissingParameter")


def test_unknown_trigger_level_is_rejected() -> None:
    assert rejected(alarm(triggerLevel="PANIC")).code == "InvalidTriggerLevel"


def test_event_id_is_rule_instance_ms_timestamp_and_state() -> None:
    assert one(alarm()).event_id == f"cms:rule-0001:{MASTER}:1795748400000:ALERT"


def test_seconds_and_milliseconds_timestamps_give_the_same_event_id() -> None:
    seconds = one(alarm(timestamp="1795748400")).event_id
    millis = one(alarm(timestamp=1795748400000)).event_id
    assert seconds == millis


def test_the_same_callback_resent_has_the_same_event_id() -> None:
    assert one(form_request()).event_id == one(form_request()).event_id


def test_the_next_alarm_of_the_same_rule_is_another_incident() -> None:
    # GIVEN the same rule firing again for the same node, later
    first = one(alarm(timestamp="1795748400000")).event_id
    later = one(alarm(timestamp="1795748460000")).event_id
    # THEN they are two incidents (two ClientTokens)
    assert first != later


@pytest.mark.parametrize("timestamp", ["yesterday", -5, True, "12.5", "1" * 30, 10**20, "１２３"])
def test_invalid_timestamp_is_rejected(timestamp: Any) -> None:
    assert rejected(alarm(timestamp=timestamp)).code == "InvalidTimestamp"


@pytest.mark.parametrize("timestamp", ["null", "", None])
def test_callback_without_timestamp_is_rejected_it_is_the_alarms_identity(timestamp: Any) -> None:
    # WITHOUT a timestamp the rule's next alarm would share this one's ClientToken
    error = rejected(alarm(timestamp=timestamp))
    assert error.code == "MissingParameter"
    assert "timestamp" in error.message


def test_alarm_time_is_its_timestamp_in_seconds_or_milliseconds() -> None:
    assert one(alarm(timestamp="1795748400000")).event_time == 1795748400.0
    assert one(alarm(timestamp="1795748400")).event_time == 1795748400.0


def test_null_string_region_means_no_region() -> None:
    assert one(alarm(regionId="null")).region_id is None


def test_region_id_is_taken_from_the_alarm() -> None:
    assert one(alarm(regionId="cn-shanghai")).region_id == "cn-shanghai"


def test_region_id_falls_back_to_the_dimensions() -> None:
    signal = one(alarm(dimensions=f"{{instanceId={MASTER}, regionId=cn-beijing}}"))
    assert signal.region_id == "cn-beijing"


def test_invalid_region_is_rejected() -> None:
    error = rejected(alarm(regionId="CN_HANGZHOU"))
    assert error.code == "InvalidRegionId"
    assert "regionId" in error.message


@pytest.mark.parametrize(
    "dimensions",
    [
        f"{{instanceId={MASTER}}}",
        f"{{ instanceId = {MASTER} , userId = {ACCOUNT} }}",
        f"{{userId={ACCOUNT}, instanceId={MASTER}, device=/dev/vda1}}",
        f"{{mountpoint=/data,archive, instanceId={MASTER}}}",
        f"instanceId={MASTER}, userId={ACCOUNT}",
        f"{{InstanceId={MASTER}}}",
        json.dumps({"instanceId": MASTER, "userId": ACCOUNT}),
        json.dumps([{"instanceId": MASTER, "userId": ACCOUNT}]),
        {"instanceId": MASTER, "userId": int(ACCOUNT)},
        [{"instanceId": MASTER}, {"userId": ACCOUNT}],
    ],
)
def test_dimension_shapes_all_yield_the_instance(dimensions: Any) -> None:
    assert one(alarm(dimensions=dimensions)).instance_id == MASTER


def test_a_value_containing_a_comma_is_kept_whole() -> None:
    # GIVEN a Java map whose device value contains a comma, with a region after it
    signal = one(alarm(dimensions=f"{{device=/a,b, regionId=cn-beijing, instanceId={MASTER}}}"))
    assert signal.region_id == "cn-beijing"


@pytest.mark.parametrize(
    "dimensions",
    ["{instanceId=" + MASTER, "instanceId=" + MASTER + "}", "{junk}", "{=x}", '{"instanceId": '],
)
def test_malformed_dimensions_are_rejected(dimensions: str) -> None:
    assert rejected(alarm(dimensions=dimensions)).code in ("InvalidParameter", "InvalidJson")


def test_dimensions_naming_two_instances_are_rejected() -> None:
    error = rejected(alarm(dimensions=[{"instanceId": MASTER}, {"instanceId": STANDBY}]))
    assert error.code == "InvalidParameter"


@pytest.mark.parametrize(
    "dimensions", [f"{{userId={ACCOUNT}}}", "null", "{}", "", f"{{instanceId=null, userId={ACCOUNT}}}"]
)
def test_alarm_without_instance_is_ignored_not_rejected(dimensions: str) -> None:
    # GIVEN a readable alarm that names no instance (CloudMonitor would retry a 400 three times)
    parsed = parse(form_request(alarm(dimensions=dimensions)))
    # THEN no signal, and an explanation of why it was ignored
    assert parsed.signals == []
    (skip,) = parsed.ignored
    assert skip.code == "NoInstanceInAlarm"
    assert "instanceId" in skip.message
    assert skip.subject == "alarm 'db master memory' (rule rule-0001, acs_ecs_dashboard)"


def test_top_level_instance_id_is_accepted() -> None:
    assert one(alarm(dimensions="null", instanceId=STANDBY)).instance_id == STANDBY


def test_dimensions_and_top_level_instance_must_agree() -> None:
    assert rejected(alarm(instanceId=STANDBY)).code == "ConflictingInstanceId"


def test_bad_instance_id_in_an_ecs_alarm_is_rejected() -> None:
    # GIVEN an ECS alarm whose instance is not an ECS id: unreadable, not "another product"
    error = rejected(alarm(dimensions="{instanceId=rm-bp1abc, userId=1}"))
    assert error.code == "InvalidInstanceId"
    assert "dimensions.instanceId" in error.message
    assert "'rm-bp1abc'" in error.message


def test_alarm_on_another_product_is_ignored() -> None:
    # GIVEN an alarm on an RDS instance routed to this function by mistake
    fields = alarm(dimensions="{instanceId=rm-bp1abc, userId=1}", metricProject="acs_rds_dashboard", namespace=None)
    parsed = parse(form_request(fields))
    assert parsed.signals == []
    assert [(i.code, "acs_rds_dashboard" in i.message) for i in parsed.ignored] == [("OtherProduct", True)]


def test_custom_metric_alarm_naming_an_ecs_instance_is_read() -> None:
    signal = one(alarm(metricProject="acs_customMetric_1234", namespace=None))
    assert (signal.instance_id, signal.state) == (MASTER, "failed")


@pytest.mark.parametrize("bad", ["i-abc;rm -rf /", "i-abc$(reboot)", "i-ABC", "i-", "i-abc\n", "I-abc", " i-abc"])
def test_injection_like_instance_ids_are_rejected(bad: str) -> None:
    assert rejected(alarm(dimensions=None, instanceId=bad)).code == "InvalidInstanceId"


def test_bad_value_in_a_message_is_truncated_and_stripped_of_control_characters() -> None:
    bad = "i-\x1b[31m\u202e" + "x" * 500
    error = rejected(alarm(dimensions=None, instanceId=bad))
    shown = error.message.split("got ", 1)[1]
    assert len(shown) <= 60
    assert "\x1b" not in error.message
    assert "\u202e" not in error.message


def test_detail_names_alarm_state_level_metric_and_value() -> None:
    detail = one(alarm(alertName="mem high")).detail
    assert detail == "alarm 'mem high' ALERT/CRITICAL Host.mem.usedutilization=97.39"


def test_info_level_detail_says_no_action() -> None:
    assert "no action" in one(alarm(triggerLevel="INFO")).detail


def _availability(**overrides: Any) -> dict[str, Any]:
    # the instance of an availability task is its prober (here the standby probing the master)
    return alarm(
        metricProject="acs_networkmonitor",
        namespace="acs_networkmonitor",
        metricName="Availability",
        curValue="0",
        dimensions=f"{{userId={ACCOUNT}, instanceId={STANDBY}}}",
        **overrides,
    )


def test_availability_alarm_without_a_node_in_the_url_is_ignored_never_its_prober() -> None:
    parsed = parse(form_request(_availability()))
    # THEN the prober (the standby) is never read as failed
    assert parsed.signals == []
    (skip,) = parsed.ignored
    assert skip.code == "AvailabilityAlarmNamesNoNode"
    assert "instanceId=" in skip.message and "callback URL" in skip.message


def test_availability_alarm_acts_on_the_node_the_url_names() -> None:
    query = {"token": TOKEN, "instanceId": MASTER, "haVipId": HAVIP}
    signal = one(form_request(_availability(), query=query))
    assert (signal.state, signal.instance_id, signal.ha_vip_id) == ("failed", MASTER, HAVIP)
    assert "availability" in signal.detail and "callback URL" in signal.detail


def test_node_in_the_url_overrides_the_dimensions() -> None:
    signal = one(form_request(alarm(), query={"token": TOKEN, "instanceId": STANDBY}))
    assert (signal.instance_id, signal.ha_vip_id) == (STANDBY, None)


def test_node_in_the_url_works_for_a_json_alarm_body() -> None:
    signal = one(json_request(_availability(), query={"token": TOKEN, "instanceId": MASTER}))
    assert signal.instance_id == MASTER


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"instanceId": "i-x;reboot"}, "instanceId"),
        ({"instanceId": "rm-bp1abc"}, "instanceId"),
        ({"instanceId": f"{MASTER},{STANDBY}"}, "instanceId"),
        ({"instanceId": MASTER, "haVipId": "vip-1"}, "haVipId"),
        ({"haVipId": HAVIP}, "haVipId"),
        ({"InstanceId": MASTER}, "'InstanceId': did you mean 'instanceId'"),
        ({"instanceid": MASTER}, "'instanceid': did you mean 'instanceId'"),
        ({"havipid": HAVIP, "instanceId": MASTER}, "'havipid': did you mean 'haVipId'"),
    ],
)
def test_bad_node_in_the_url_is_rejected_naming_the_parameter(query: dict[str, str], named: str) -> None:
    error = rejected(form_request(_availability(), query={"token": TOKEN, **query}))
    assert (error.code, error.envelope, error.status) in (
        ("InvalidQueryParameter", "http", None),
        ("InvalidInstanceId", "http", None),
        ("InvalidHaVipId", "http", None),
    )
    assert f"query parameter {named}" in error.message


def test_node_in_the_url_applies_to_alarms_only() -> None:
    error = rejected(json_request(health(), query={"token": TOKEN, "instanceId": MASTER}))
    assert error.code == "InvalidQueryParameter"


@pytest.mark.parametrize("field", ["alertName", "curValue", "metricName"])
def test_structured_values_in_text_fields_are_rejected(field: str) -> None:
    assert rejected(alarm(**{field: {"nested": True}})).code == "InvalidParameter"


# =========================================================================== EventBridge: ECS


@pytest.mark.parametrize(
    ("ecs_state", "expected"),
    [
        ("Stopping", "failed"),
        ("Stopped", "failed"),
        ("Deleted", "failed"),
        ("Running", "recovered"),
        ("Starting", "info"),
        ("Created", "info"),
        ("Pending", "info"),
        ("Hibernating", "info"),
        ("stopped", "failed"),
    ],
)
def test_ecs_state_maps_to_a_signal_state(ecs_state: str, expected: str) -> None:
    signal = one(cloudevent("ecs:Instance:StateChange", ecs_data(ecs_state)))
    assert (signal.source, signal.state, signal.instance_id) == ("eventbridge-ecs", expected, STANDBY)
    assert signal.detail == f"ecs state {ecs_state}"


def test_cloudevent_event_id_is_source_and_id() -> None:
    signal = one(cloudevent("ecs:Instance:StateChange", ecs_data()))
    assert signal.event_id == "acs.ecs:45ef4dew-dwe1-7c35-447a-bd93fab00001"


def test_cloudevent_region_comes_from_aliyunregionid() -> None:
    event = cloudevent("ecs:Instance:StateChange", ecs_data() | {"regionId": "cn-beijing"})
    assert one(event).region_id == REGION


def test_cloudevent_region_falls_back_to_data_region() -> None:
    event = cloudevent("ecs:Instance:StateChange", ecs_data() | {"regionId": "cn-beijing"}, aliyunregionid=None)
    assert one(event).region_id == "cn-beijing"


def test_instance_comes_from_the_arn_when_content_has_none() -> None:
    data = ecs_data()
    del data["content"]["resourceId"]
    assert one(cloudevent("ecs:Instance:StateChange", data)).instance_id == STANDBY


def test_content_and_arn_naming_different_instances_are_rejected() -> None:
    data = ecs_data() | {"resourceId": arn(MASTER)}
    assert rejected(cloudevent("ecs:Instance:StateChange", data)).code == "ConflictingInstanceId"


def test_state_change_without_instance_is_rejected() -> None:
    data = ecs_data()
    del data["content"]["resourceId"]
    del data["resourceId"]
    assert rejected(cloudevent("ecs:Instance:StateChange", data)).code == "MissingInstanceId"


def test_state_change_without_state_is_rejected() -> None:
    data = ecs_data()
    del data["content"]["state"]
    error = rejected(cloudevent("ecs:Instance:StateChange", data))
    assert error.code == "MissingParameter"
    assert "data.content.state" in error.message


def test_bad_instance_in_state_change_names_the_field() -> None:
    error = rejected(cloudevent("ecs:Instance:StateChange", ecs_data(instance="i-abc;rm -rf")))
    assert error.code == "InvalidInstanceId"
    assert "data.content.resourceId" in error.message


def test_malformed_instance_arn_is_rejected() -> None:
    data = ecs_data()
    del data["content"]["resourceId"]
    data["resourceId"] = f"acs:ecs:{REGION}:{ACCOUNT}:instance/i-BAD!"
    assert rejected(cloudevent("ecs:Instance:StateChange", data)).code == "InvalidInstanceId"


@pytest.mark.parametrize(
    "event_type",
    [
        "ecs:Instance:SystemFailure.Reboot",
        "ecs:Instance:SystemFailure.Redeploy",
        "ecs:Instance:SystemFailure.Stop",
        "ecs:Instance:SystemFailure.Delete",
        "ecs:Instance:InstanceFailure.Reboot",
    ],
)
def test_system_and_instance_failures_are_failed(event_type: str) -> None:
    name = event_type.rsplit(":", maxsplit=1)[-1]
    signal = one(cloudevent(event_type, failure_data(name)))
    assert (signal.source, signal.state, signal.instance_id) == ("eventbridge-ecs", "failed", MASTER)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Executing", "failed"),
        ("Executed", "recovered"),
        ("Scheduled", "info"),
        ("Inquiring", "info"),
        ("Canceled", "info"),
        ("Avoided", "info"),
        ("Failed", "info"),
    ],
)
def test_failure_event_status_decides_whether_it_happens(status: str, expected: str) -> None:
    # a reboot: Executing is now (down), Executed is over (back), the rest never happened
    event = cloudevent("ecs:Instance:SystemFailure.Reboot", failure_data("SystemFailure.Reboot", status))
    assert one(event).state == expected


def test_failure_event_instance_falls_back_to_the_arn() -> None:
    data = failure_data("SystemFailure.Stop")
    del data["content"]["instanceId"]
    assert one(cloudevent("ecs:Instance:SystemFailure.Stop", data)).instance_id == MASTER


def test_unsupported_event_type_is_rejected_naming_it() -> None:
    error = rejected(cloudevent("ecs:Instance:InstanceExpiration.Stop", failure_data("InstanceExpiration.Stop")))
    assert error.code == "UnsupportedEventType"
    assert "InstanceExpiration.Stop" in error.message


@pytest.mark.parametrize("missing", ["id", "source", "type"])
def test_cloudevent_without_identity_is_rejected(missing: str) -> None:
    assert rejected(cloudevent("ecs:Instance:StateChange", ecs_data(), **{missing: None})).code == "MissingParameter"


def test_cloudevent_with_non_string_id_is_rejected() -> None:
    assert rejected(cloudevent("ecs:Instance:StateChange", ecs_data(), id=12)).code == "InvalidParameter"


def test_cloudevent_without_data_is_rejected() -> None:
    event = cloudevent("ecs:Instance:StateChange", None)
    assert rejected(event).code == "MissingParameter"


def test_cloudevent_data_as_a_json_string_is_accepted() -> None:
    assert one(cloudevent("ecs:Instance:StateChange", json.dumps(ecs_data()))).state == "failed"


@pytest.mark.parametrize("data", [[1, 2], 42, "not json"])
def test_cloudevent_data_that_is_not_an_object_is_rejected(data: Any) -> None:
    assert rejected(cloudevent("ecs:Instance:StateChange", data)).code in ("InvalidParameter", "InvalidJson")


# =========================================================================== ECS system events by status


@pytest.mark.parametrize(
    ("event", "status", "expected"),
    [
        # reboots and redeploys: Executing is the node going down, Executed is the node back
        ("SystemFailure.Reboot", "Executing", "failed"),
        ("SystemFailure.Reboot", "Executed", "recovered"),
        ("InstanceFailure.Reboot", "Executed", "recovered"),
        ("SystemFailure.Redeploy", "Scheduled", "info"),
        ("SystemFailure.Redeploy", "Executed", "recovered"),
        # a stop or a release: Executed leaves the node down
        ("SystemFailure.Stop", "Executed", "failed"),
        ("SystemFailure.Delete", "Executed", "failed"),
        # maintenance: announced first (Scheduled/Inquiring), down only while Executing
        ("SystemMaintenance.Reboot", "Scheduled", "info"),
        ("SystemMaintenance.Reboot", "Inquiring", "info"),
        ("SystemMaintenance.Reboot", "Executing", "failed"),
        ("SystemMaintenance.Reboot", "Executed", "recovered"),
        ("SystemMaintenance.Reboot", "Avoided", "info"),
        ("SystemMaintenance.Redeploy", "Executing", "failed"),
        ("SystemMaintenance.Stop", "Executing", "failed"),
        ("SystemMaintenance.RebootAndIsolateErrorDisk", "Executing", "failed"),
        ("SystemMaintenance.IsolateErrorDisk", "Executing", "info"),
    ],
)
def test_system_event_status_is_read(event: str, status: str, expected: str) -> None:
    assert one(cloudevent(f"ecs:Instance:{event}", failure_data(event, status))).state == expected


def test_status_after_a_colon_in_the_type_is_read_when_content_has_none() -> None:
    data = failure_data("SystemFailure.Reboot", "Executed")
    del data["content"]["eventStatus"]
    assert one(cloudevent("ecs:Instance:SystemFailure.Reboot:Executed", data)).state == "recovered"
    assert one(cloudevent("ecs:Instance:SystemFailure.Reboot:Scheduled", data)).state == "info"


def test_status_in_type_and_content_must_agree() -> None:
    event = cloudevent("ecs:Instance:SystemFailure.Reboot:Executed", failure_data("SystemFailure.Reboot", "Executing"))
    error = rejected(event)
    assert error.code == "ConflictingEventStatus"
    assert "Executed" in error.message and "Executing" in error.message


def test_system_event_without_a_status() -> None:
    data = failure_data("SystemFailure.Stop")
    del data["content"]["eventStatus"]
    # a failure without a status reports a failure; maintenance without one has not happened
    assert one(cloudevent("ecs:Instance:SystemFailure.Stop", data)).state == "failed"
    data["name"] = "Instance:SystemMaintenance.Reboot"
    assert one(cloudevent("ecs:Instance:SystemMaintenance.Reboot", data)).state == "info"


def preemptible_data(action: Any = "delete", instance: str = MASTER) -> dict[str, Any]:
    content: dict[str, Any] = {"instanceId": instance}
    if action is not None:
        content["action"] = action
    return {
        "ver": "1.0",
        "id": "2256A988-0B26-4E2B-820A-8A00000000E7",
        "product": "ECS",
        "resourceId": arn(instance),
        "level": "WARN",
        "name": "Instance:PreemptibleInstanceInterruption",
        "userId": ACCOUNT,
        "eventTime": "20261127T110000.000+0800",
        "regionId": REGION,
        "content": content,
    }


def test_preemptible_interruption_moves_the_vip_before_the_release() -> None:
    signal = one(cloudevent("ecs:Instance:PreemptibleInstanceInterruption", preemptible_data()))
    assert (signal.state, signal.instance_id) == ("failed", MASTER)
    assert "5 minutes" in signal.detail


def test_preemptible_interruption_with_another_action_is_informational() -> None:
    event = cloudevent("ecs:Instance:PreemptibleInstanceInterruption", preemptible_data("hibernate"))
    assert one(event).state == "info"


def test_cloudevent_time_is_the_event_time() -> None:
    assert one(cloudevent("ecs:Instance:StateChange", ecs_data())).event_time == 1795748700.0


def test_ecs_event_time_is_read_when_the_cloudevent_has_none() -> None:
    signal = one(cloudevent("ecs:Instance:StateChange", ecs_data(), time=None))
    assert signal.event_time == 1795748700.0  # 20261127T110500.000+0800


def test_unreadable_time_is_none_not_a_rejection() -> None:
    assert one(cloudevent("ecs:Instance:StateChange", ecs_data(), time="soon")).event_time == 1795748700.0
    data = ecs_data()
    data["eventTime"] = "yesterday"
    assert one(cloudevent("ecs:Instance:StateChange", data, time=None)).event_time is None


def test_manual_order_has_no_event_time() -> None:
    assert one(manual()).event_time is None


# =========================================================================== the bare ECS notification


def test_bare_ecs_notification_invoked_directly() -> None:
    # GIVEN EventBridge with eventSchema RawData, or CloudMonitor's MNS / FC push channel
    signal = one(ecs_data())
    assert (signal.source, signal.instance_id, signal.state, signal.region_id) == (
        "eventbridge-ecs",
        STANDBY,
        "failed",
        REGION,
    )
    assert signal.event_id == "ecs:2256A988-0B26-4E2B-820A-8A00000000E5"
    assert signal.event_time == 1795748700.0


def test_bare_ecs_notification_with_content_as_a_json_string() -> None:
    data = ecs_data()
    data["content"] = json.dumps(data["content"])
    assert one(data).state == "failed"


def test_bare_ecs_system_event_reads_its_status_from_the_name() -> None:
    data = failure_data("SystemMaintenance.Reboot", "Scheduled")
    assert one(data).state == "info"
    data = failure_data("SystemMaintenance.Reboot", "Executing")
    assert one(data).state == "failed"


def test_bare_ecs_notification_posted_to_the_http_trigger() -> None:
    # GIVEN CloudMonitor's event subscription pushed to a webhook (a JSON POST, token required)
    parsed = parse(json_request(preemptible_data()))
    assert parsed.envelope == "http"
    assert [(s.instance_id, s.state) for s in parsed.signals] == [(MASTER, "failed")]
    assert unauthorized(json_request(preemptible_data(), query={})).status == 401


def test_bare_ecs_notification_needs_its_id() -> None:
    data = ecs_data()
    del data["id"]
    error = rejected(data)
    assert error.code == "MissingParameter"
    assert "id" in error.message


def test_bare_ecs_notification_of_an_unsupported_event_is_rejected() -> None:
    data = ecs_data()
    data["name"] = "Disk:Stalled:Executing"
    assert rejected(data).code == "UnsupportedEventType"


def test_bare_ecs_notifications_in_a_batch() -> None:
    parsed = parse([ecs_data(), json.dumps(failure_data("SystemFailure.Reboot", "Executed"))])
    assert [s.state for s in parsed.signals] == ["failed", "recovered"]


# =========================================================================== orders over HTTP


@pytest.mark.parametrize("payload", [manual(), manual(Force=True, DryRun=True), {"InstanceId": MASTER}])
def test_manual_order_posted_to_the_http_trigger_is_refused(payload: dict[str, Any]) -> None:
    error = rejected(json_request(payload))
    assert (error.code, error.status, error.envelope) == ("ManualOrderNotAllowedOverHttp", 403, "http")
    assert "s invoke" in error.message and "RAM" in error.message


def test_manual_order_sent_as_a_form_labelled_json_is_refused_too() -> None:
    error = rejected(http(json.dumps(manual()), content_type="application/x-www-form-urlencoded"))
    assert error.status == 403


def test_method_not_allowed_is_405() -> None:
    assert rejected(form_request(method="PUT")).status == 405


# =========================================================================== EventBridge: CloudMonitor


def agent(event_type: str, data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    overrides.setdefault("subject", "acs:cms:cn-hangzhou:1234567890123456:agent")
    return cloudevent(f"cms:CloudMonitor:{event_type}", data, source="acs.cms", **overrides)


@pytest.mark.parametrize(
    ("event_type", "expected"), [("AgentStatusStopped", "failed"), ("AgentStatusRunning", "recovered")]
)
def test_agent_status_maps_to_a_signal_state(event_type: str, expected: str) -> None:
    signal = one(agent(event_type, {"instanceId": MASTER}))
    assert (signal.source, signal.state, signal.instance_id) == ("eventbridge-cms-agent", expected, MASTER)


@pytest.mark.parametrize(
    ("data", "overrides"),
    [
        ({"InstanceId": MASTER}, {}),
        ({"dimensions": f"{{instanceId={MASTER}, userId=1}}"}, {}),
        ({"dimensions": {"instanceId": MASTER}}, {}),
        ({"content": {"instanceId": MASTER}}, {}),
        ({"resourceId": arn(MASTER)}, {}),
        ({}, {"subject": arn(MASTER)}),
        ({}, {"subject": MASTER}),
        ({"instanceId": MASTER, "resourceId": "something-else"}, {}),
    ],
)
def test_agent_instance_is_found_where_it_is(data: dict[str, Any], overrides: dict[str, Any]) -> None:
    assert one(agent("AgentStatusStopped", data, **overrides)).instance_id == MASTER


def test_agent_event_without_instance_is_rejected_saying_where_it_looked() -> None:
    error = rejected(agent("AgentStatusStopped", {"status": "stopped"}))
    assert error.code == "MissingInstanceId"
    assert "subject" in error.message


def test_agent_event_naming_two_instances_is_rejected() -> None:
    error = rejected(agent("AgentStatusStopped", {"instanceId": MASTER}, subject=arn(STANDBY)))
    assert error.code == "ConflictingInstanceId"


def test_agent_event_with_a_bad_explicit_instance_is_rejected() -> None:
    assert rejected(agent("AgentStatusStopped", {"instanceId": "i-abc;rm"})).code == "InvalidInstanceId"


def test_alert_webhook_is_read_as_an_alarm() -> None:
    event = cloudevent("cms:CloudMonitor:AlertWebHook", alarm(), source="acs.cms")
    signal = one(event)
    assert (signal.source, signal.state, signal.instance_id) == ("eventbridge-cms-alert", "failed", MASTER)
    assert signal.event_id == "acs.cms:45ef4dew-dwe1-7c35-447a-bd93fab00001"
    assert signal.region_id == REGION


def test_alert_webhook_alarm_nested_in_content_is_read() -> None:
    event = cloudevent("cms:CloudMonitor:AlertWebHook", {"content": alarm(alertState="OK")}, source="acs.cms")
    assert one(event).state == "recovered"


def test_alert_webhook_errors_name_the_data_path() -> None:
    error = rejected(cloudevent("cms:CloudMonitor:AlertWebHook", alarm(alertState="MAYBE"), source="acs.cms"))
    assert "data.alertState" in error.message


# =========================================================================== EventBridge: health and batches


def test_health_check_on_a_custom_bus_is_a_health_signal() -> None:
    event = cloudevent("havip.health", health(type=..., id=...), source="havip.checker")
    signal = one(event)
    assert (signal.source, signal.state, signal.region_id) == ("health-check", "failed", REGION)
    assert signal.event_id == "havip.checker:45ef4dew-dwe1-7c35-447a-bd93fab00001"


def test_health_check_on_a_bus_respects_the_threshold() -> None:
    event = cloudevent("havip.health", health(consecutiveFailures=2), source="havip.checker")
    assert one(event, options=ParseOptions(min_consecutive_failures=3)).state == "info"


def test_batch_yields_one_signal_per_event() -> None:
    events = [
        cloudevent("ecs:Instance:StateChange", ecs_data("Stopped")),
        cloudevent("ecs:Instance:StateChange", ecs_data("Running", MASTER), id="second"),
    ]
    parsed = parse(events)
    assert parsed.envelope == "eventbridge-batch"
    assert [(s.instance_id, s.state) for s in parsed.signals] == [(STANDBY, "failed"), (MASTER, "recovered")]


def test_empty_batch_is_rejected() -> None:
    assert rejected([]).code == "EmptyBatch"


def test_bad_batch_element_is_reported_and_the_rest_is_read() -> None:
    # GIVEN a batch whose second element is unreadable
    events = [
        cloudevent("ecs:Instance:StateChange", ecs_data()),
        cloudevent("ecs:Instance:StateChange", ecs_data(instance="i-x;y"), id="second"),
        cloudevent("ecs:Instance:StateChange", ecs_data("Running", MASTER), id="third"),
    ]
    parsed = parse(events)
    # THEN the readable ones are signals and the unreadable one is named by its index
    assert [(s.instance_id, s.state) for s in parsed.signals] == [(STANDBY, "failed"), (MASTER, "recovered")]
    (bad,) = parsed.rejected
    assert (bad.index, bad.code) == (1, "InvalidInstanceId")
    assert bad.message.startswith("batch element [1]:")


def test_batch_with_nothing_readable_is_rejected_naming_the_first_element() -> None:
    events = [
        cloudevent("ecs:Instance:StateChange", ecs_data(instance="i-x;y")),
        cloudevent("ecs:Instance:Nope", ecs_data(), id="second"),
    ]
    error = rejected(events)
    assert error.code == "InvalidInstanceId"
    assert error.message.startswith("batch element [0]:") and "1 more" in error.message
    assert error.envelope == "eventbridge-batch"


def test_batch_of_json_strings_is_read_like_a_batch_of_objects() -> None:
    # GIVEN the older delivery format: an array of JSON strings, each an escaped CloudEvent
    objects = [
        cloudevent("ecs:Instance:StateChange", ecs_data()),
        cloudevent("ecs:Instance:StateChange", ecs_data("Running", MASTER), id="second"),
    ]
    as_strings = parse([json.dumps(event) for event in objects])
    assert as_strings.signals == parse(objects).signals
    assert as_strings.envelope == "eventbridge-batch"


def test_batch_string_that_is_not_json_is_a_rejected_element() -> None:
    parsed = parse([json.dumps(cloudevent("ecs:Instance:StateChange", ecs_data())), "{not json"])
    assert [(r.index, r.code) for r in parsed.rejected] == [(1, "InvalidJson")]
    assert len(parsed.signals) == 1


@pytest.mark.parametrize("element", [manual(), 42, [cloudevent("ecs:Instance:StateChange", ecs_data())]])
def test_batch_element_that_is_not_a_cloudevent_is_rejected(element: Any) -> None:
    error = rejected([element])
    assert error.code == "InvalidBatchElement"
    assert "[0]" in error.message


def test_the_same_event_twice_in_a_batch_counts_once() -> None:
    event = cloudevent("ecs:Instance:StateChange", ecs_data())
    assert len(parse([event, event]).signals) == 1


# =========================================================================== manual


def test_manual_event_is_a_failed_signal_with_the_api_parameters() -> None:
    signal = one(manual(Force=True, DryRun=False))
    assert (signal.source, signal.state, signal.instance_id) == ("manual", "failed", MASTER)
    assert (signal.ha_vip_id, signal.region_id, signal.force, signal.dry_run) == (HAVIP, REGION, True, False)


def test_manual_event_id_is_a_stable_hash_of_the_parameters() -> None:
    first = one(manual()).event_id
    assert first == one(manual()).event_id
    assert first.startswith("manual:")
    assert len(first) == len("manual:") + 32


def test_manual_event_id_changes_with_the_parameters() -> None:
    assert one(manual()).event_id != one(manual(DryRun=True)).event_id


def test_manual_client_token_is_the_event_id() -> None:
    signal = one(manual(ClientToken="op-2026-11-27-01"))
    assert (signal.event_id, signal.client_token) == ("op-2026-11-27-01", "op-2026-11-27-01")


def test_manual_optional_fields_default_to_automatic() -> None:
    signal = one(manual(RegionId=...))
    assert (signal.region_id, signal.force, signal.dry_run, signal.instance_type) == (None, None, None, None)


def test_manual_null_counts_as_absent() -> None:
    assert one(manual(Force=None)).force is None


def test_manual_typo_is_rejected_with_a_suggestion() -> None:
    error = rejected(manual(HaVipId=..., HavipId=HAVIP))
    assert error.code == "UnknownParameter"
    assert "'HavipId'" in error.message
    assert "did you mean 'HaVipId'" in error.message


def test_manual_without_instance_is_rejected() -> None:
    assert rejected(manual(InstanceId=..., HaVipId=HAVIP)).code == "MissingInstanceId"


def test_manual_without_havip_asks_for_discovery() -> None:
    # GIVEN no HaVipId, THEN the signal names none (the function finds the HAVIPs)
    signal = one(manual(HaVipId=...))
    assert (signal.ha_vip_id, signal.instance_id, signal.state) == (None, MASTER, "failed")


def test_manual_extra_keys_that_are_not_typos_are_ignored() -> None:
    signal = one(manual(Note="db1 lost its disk", OwnerId=123))
    assert signal.ha_vip_id == HAVIP


@pytest.mark.parametrize(("typo", "meant"), [("force", "Force"), ("Instanceid", "InstanceId"), ("DryRunn", "DryRun")])
def test_manual_near_miss_keys_are_rejected(typo: str, meant: str) -> None:
    error = rejected(manual(**{typo: True}))
    assert error.code == "UnknownParameter"
    assert f"did you mean {meant!r}" in error.message


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), (False, False), ("true", True), ("FALSE", False), ("True", True)]
)
def test_manual_booleans_accept_json_booleans_and_strings(value: Any, expected: bool) -> None:
    assert one(manual(Force=value)).force is expected


@pytest.mark.parametrize("value", ["yes", 1, 0, "1", "", [], {}])
def test_manual_other_boolean_values_are_rejected(value: Any) -> None:
    error = rejected(manual(DryRun=value))
    assert error.code == "InvalidParameter"
    assert "DryRun" in error.message


@pytest.mark.parametrize(("value", "expected"), [("EcsInstance", "EcsInstance"), ("ecsinstance", "EcsInstance")])
def test_manual_instance_type_is_normalised(value: str, expected: str) -> None:
    assert one(manual(InstanceType=value)).instance_type == expected


def test_manual_eni_implies_network_interface() -> None:
    assert one(manual(InstanceId=ENI)).instance_type == "NetworkInterface"


@pytest.mark.parametrize(("instance", "instance_type"), [(ENI, "EcsInstance"), (MASTER, "NetworkInterface")])
def test_manual_instance_type_must_match_the_id(instance: str, instance_type: str) -> None:
    assert rejected(manual(InstanceId=instance, InstanceType=instance_type)).code == "InstanceTypeMismatch"


def test_manual_unknown_instance_type_is_rejected() -> None:
    assert rejected(manual(InstanceType="Vm")).code == "InvalidParameter"


@pytest.mark.parametrize("token", ["x" * 65, "", "jeton-été", "tab\there", 42])
def test_manual_bad_client_token_is_rejected(token: Any) -> None:
    error = rejected(manual(ClientToken=token))
    assert error.code == "InvalidParameter"
    assert "ClientToken" in error.message


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("HaVipId", "havip-BAD", "InvalidHaVipId"),
        ("HaVipId", "vip-bp1", "InvalidHaVipId"),
        ("RegionId", "hangzhou", "InvalidRegionId"),
        ("RegionId", "cn-hangzhou\n", "InvalidRegionId"),
        ("InstanceId", "i-abc;rm -rf /", "InvalidInstanceId"),
        ("InstanceId", 12345, "InvalidInstanceId"),
        ("InstanceId", "null", "InvalidInstanceId"),
    ],
)
def test_manual_bad_ids_are_rejected_naming_the_field(field: str, value: Any, code: str) -> None:
    error = rejected(manual(**{field: value}))
    assert error.code == code
    assert field in error.message


# =========================================================================== health check


def test_healthy_check_is_a_recovery() -> None:
    assert one(health(healthy=True)).state == "recovered"


def test_failures_at_the_threshold_are_failed() -> None:
    signal = one(health(consecutiveFailures=3), options=ParseOptions(min_consecutive_failures=3))
    assert signal.state == "failed"


def test_failures_below_the_threshold_are_informational() -> None:
    signal = one(health(consecutiveFailures=2), options=ParseOptions(min_consecutive_failures=3))
    assert signal.state == "info"
    assert "2 of 3 consecutive failures" in signal.detail


def test_absent_failure_count_counts_as_one_failure() -> None:
    assert one(health(consecutiveFailures=...)).state == "failed"


def test_absent_failure_count_is_below_a_threshold_of_two() -> None:
    assert one(health(consecutiveFailures=...), options=ParseOptions(min_consecutive_failures=2)).state == "info"


def test_threshold_below_one_is_treated_as_one() -> None:
    assert one(health(consecutiveFailures=0), options=ParseOptions(min_consecutive_failures=0)).state == "info"


def test_health_event_id_prefers_the_checker_id() -> None:
    assert one(health()).event_id == "health:chk-0001"


def test_health_event_id_falls_back_to_instance_and_time() -> None:
    assert one(health(id=...)).event_id == f"health:{MASTER}:2026-11-27T03:00:00Z"


def test_health_check_without_id_or_time_is_rejected() -> None:
    # WITHOUT either, the node's next failure would reuse this one's ClientToken (and the
    # API would replay this one's answer, leaving a dead master on the HAVIP)
    error = rejected(health(id=..., checkedAt=...))
    assert error.code == "MissingParameter"
    assert "id" in error.message and "checkedAt" in error.message


def test_two_failures_of_one_node_are_two_incidents() -> None:
    first = one(health(id=..., checkedAt="2026-11-27T03:00:00Z"))
    second = one(health(id=..., checkedAt="2026-11-28T09:30:00Z"))
    assert first.event_id != second.event_id


def test_health_check_time_is_checked_at() -> None:
    assert one(health(checkedAt="2026-11-27T03:00:00Z")).event_time == 1795748400.0
    assert one(health(checkedAt="2026-11-27T11:00:00+08:00")).event_time == 1795748400.0
    assert one(health(checkedAt="1795748400000")).event_time == 1795748400.0
    assert one(health(checkedAt="check-42")).event_time is None  # an identity, not a time


def test_health_check_in_eventbridge_needs_no_id_of_its_own() -> None:
    data = {"instanceId": MASTER, "healthy": False}
    signal = one(cloudevent("havip.health", data, source="custom.havip"))
    assert signal.event_id.startswith("custom.havip:")
    assert signal.event_time == 1795748700.0  # the CloudEvent's time


def test_health_check_extra_fields_are_ignored() -> None:
    assert one(health(probe="tcp:5432", latencyMs=3000)).state == "failed"


def test_health_check_names_the_havip_and_region() -> None:
    signal = one(health(haVipId=HAVIP, regionId="cn-shanghai"))
    assert (signal.ha_vip_id, signal.region_id) == (HAVIP, "cn-shanghai")


@pytest.mark.parametrize("healthy", [0, None, "no", "", [False]])
def test_healthy_must_be_a_boolean(healthy: Any) -> None:
    assert rejected(health(healthy=healthy)).code in ("InvalidParameter", "MissingParameter")


@pytest.mark.parametrize(
    ("spelling", "value"), [(False, False), ("false", False), ("FALSE", False), (True, True), (" True ", True)]
)
def test_healthy_takes_the_same_spellings_as_force_and_dry_run(spelling: Any, value: bool) -> None:
    # one grammar: what a manual event accepts for Force/DryRun, a health check accepts for healthy
    assert one(manual(Force=spelling, DryRun=spelling)).force is value
    assert one(health(healthy=spelling)).state == ("recovered" if value else "failed")


@pytest.mark.parametrize("spelling", [0, 1, "no", "yes", "", "t"])
def test_healthy_refuses_what_force_refuses(spelling: Any) -> None:
    assert rejected(manual(Force=spelling)).code == "InvalidParameter"
    assert rejected(health(healthy=spelling)).code == "InvalidParameter"


@pytest.mark.parametrize("count", [-1, 2.5, "3", True, 10**12])
def test_failure_count_must_be_a_non_negative_integer(count: Any) -> None:
    error = rejected(health(consecutiveFailures=count))
    assert error.code == "InvalidParameter"
    assert "consecutiveFailures" in error.message


def test_unknown_health_field_is_rejected() -> None:
    error = rejected(health(consecutivefailures=5))
    assert error.code == "UnknownParameter"
    assert "consecutivefailures" in error.message


def test_health_check_without_instance_is_rejected() -> None:
    assert rejected(health(instanceId=...)).code == "MissingInstanceId"


def test_health_check_bad_havip_is_rejected() -> None:
    assert rejected(health(haVipId="havip-X")).code == "InvalidHaVipId"


# =========================================================================== never anything but BadEvent

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
_ENVELOPE_KEYS = {"specversion", "source", "type", "id", "data", "subject", "aliyunregionid"}
_NESTED_KEYS = {"content", "state", "resourceId", "instanceId", "InstanceId", "eventStatus", "timestamp", "regionId"}
_HEALTH_KEYS = {"healthy", "consecutiveFailures", "checkedAt", "haVipId", "instanceId"}
_VOCABULARY = sorted(
    _ENVELOPE_KEYS | _NESTED_KEYS | _HEALTH_KEYS | set(manual_source.MANUAL_KEYS) | cloudmonitor.ALARM_KEYS
)
_SAMPLE_VALUES = [MASTER, ENI, HAVIP, REGION, "havip.health", "ALERT", "OK", "Stopped", "{instanceId=i-x}", "null"]
_SAMPLE_VALUES += ["ecs:Instance:StateChange", "cms:CloudMonitor:AgentStatusStopped", "cms:CloudMonitor:AlertWebHook"]
_VALUES = st.sampled_from(_SAMPLE_VALUES) | _json
_shaped = st.recursive(
    st.dictionaries(st.sampled_from(_VOCABULARY), _VALUES, max_size=8),
    lambda children: st.dictionaries(st.sampled_from(_VOCABULARY), children | _VALUES, max_size=6),
    max_leaves=15,
)
_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_bad_events(raw: bytes, token: str | None = TOKEN) -> None:
    try:
        result = parse_event(raw, OPTIONS, token)
    except BadEvent as error:
        # MalformedEvent is the safety net for parser bugs: random input must not reach it.
        assert error.code != "MalformedEvent", error.message
        return
    assert isinstance(result, Parsed)
    assert result.signals or result.ignored


@_SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_raise_nothing_but_bad_event(raw: bytes) -> None:
    _only_bad_events(raw)


@_SETTINGS
@given(_json)
def test_random_json_raises_nothing_but_bad_event(value: Any) -> None:
    _only_bad_events(json.dumps(value).encode())


@_SETTINGS
@given(_shaped | st.lists(_shaped, max_size=3))
def test_event_shaped_json_raises_nothing_but_bad_event(value: Any) -> None:
    _only_bad_events(json.dumps(value).encode())


@_SETTINGS
@given(_shaped, st.booleans())
def test_random_http_bodies_raise_nothing_but_bad_event(value: Any, as_form: bool) -> None:
    if as_form and isinstance(value, dict):
        body = urllib.parse.urlencode({k: json.dumps(v) if not isinstance(v, str) else v for k, v in value.items()})
        event = http(body)
    else:
        event = json_request(value)
    _only_bad_events(encode(event))


@_SETTINGS
@given(st.from_regex(r"[A-Z0-9]{8,40}", fullmatch=True), st.from_regex(r"[A-Z0-9]{8,40}", fullmatch=True))
def test_random_tokens_never_leak_into_messages(configured: str, sent: str) -> None:
    try:
        parse_event(encode(form_request(query={"token": sent})), OPTIONS, configured)
    except BadEvent as error:
        assert configured not in error.message
        assert sent not in error.message


def test_the_keepalived_notify_scripts_check_is_valid() -> None:
    # GIVEN the shape the keepalived notify script sends (another engineer's script)
    check = {
        "type": "havip.health",
        "instanceId": MASTER,
        "haVipId": HAVIP,
        "healthy": False,
        "id": "db1-fault-3f9c2a7e",
        "checkedAt": "2026-12-02T03:00:00Z",
        "checker": "keepalived-notify@db2",
    }
    for event in (check, json_request(check)):
        signal = one(event)
        assert (signal.state, signal.instance_id, signal.ha_vip_id) == ("failed", MASTER, HAVIP)
        assert signal.event_id == "health:db1-fault-3f9c2a7e"
        assert signal.event_time == 1796180400.0
