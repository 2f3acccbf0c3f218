"""Bad input, fuzzed (issue 3, item 6), and the callback-token checks of item 7.

The bulk: HAVIP_FUZZ_CASES (default 10,000) events generated deterministically
(`random.Random(HAVIP_FUZZ_SEED)`) by mutating every sample of events/ — bit flips,
truncation, invalid UTF-8, random bytes, oversize, deep nesting, duplicate keys, deleted keys,
null/"null", wrong types, type confusion, huge strings, injection characters in ids, renamed
and added keys, damaged HTTP bodies (form and JSON, base64), missing/wrong/wrong-length
tokens, wrong methods, bad encodings — each through the FC entry (`invoke`) pointed at an
empty emulator. Per case:

* no exception escapes;
* a rejection (`error` set) carries a code and a message naming the problem (sanitised,
  bounded) and made zero API calls (the emulator's journal is empty);
* a request that is an FC HTTP-trigger envelope is answered with an HTTP response whose body
  is JSON; a rejection with 400/401/403/405;
* a case that must be rejected (invalid UTF-8, oversize, nesting, truncation, token and method
  abuse, ...) is rejected with the expected code/status;
* an event still valid after mutation did not raise, made no UnassociateHaVip, and every id
  it acted on is well-formed (no injection character ever reaches the API);
* neither the callback token nor the AccessKey secret appears in stdout or the result.

The counts go to build/reliability/fuzz.json.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import io
import json
import os
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context, FcCredentials, FcFunction
from havip_failover.sources import MAX_EVENT_BYTES
from havip_failover.sources import http as http_source
from tests.reliability._gen_base import (
    AK,
    AK_SECRET,
    CALLBACK_TOKEN,
    EVENTS_DIR,
    SAMPLE_CALLBACK_TOKEN,
    start_emulator,
    write_report,
)
from tests.reliability._gen_fuzz import FuzzCase, Mutator, load_samples
from tests.reliability._gen_scenarios import http_envelope
from vpc_emulator import EmulatorServer

CASES = int(os.environ.get("HAVIP_FUZZ_CASES", "10000"))
SEED = int(os.environ.get("HAVIP_FUZZ_SEED", "20261127"))
SECRETS = (SAMPLE_CALLBACK_TOKEN, AK_SECRET)
REJECTION_STATUSES = frozenset({400, 401, 403, 405, 413})
ANSWER_STATUSES = frozenset({200, 202, 400, 401, 403, 405, 413, 500})
MESSAGE_LIMIT = 1000  # a rejection message never carries megabytes of input back
_INSTANCE = re.compile(r"(i|eni)-[a-z0-9]{1,40}")
_HAVIP = re.compile(r"havip-[a-z0-9]{1,40}")
_REGION = re.compile(r"[a-z]{2,}(-[a-z0-9]+){1,4}")

REPORT: dict[str, Any] = {
    "seed": SEED,
    "cases_setting": CASES,
    "samples": sorted(name for name, _ in load_samples()),
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    """An emulator with nothing in it: an event that survives mutation finds no HAVIP."""
    server = start_emulator()
    try:
        yield server
    finally:
        server.stop()
        write_report("fuzz.json", REPORT)


def fuzz_env(server: EmulatorServer, **extra: str) -> dict[str, str]:
    return {
        "FC_REGION": "cn-hangzhou",
        "HAVIP_VPC_ENDPOINT": server.endpoint,
        "HAVIP_ECS_ENDPOINT": server.endpoint,
        "HAVIP_VPC_PROTOCOL": "http",
        "HAVIP_WAIT_SECONDS": "2",
        "HAVIP_CALLBACK_TOKEN": SAMPLE_CALLBACK_TOKEN,
        "HAVIP_RECORD_KEY": "fuzz-record-key-0123456789abcdef-012345",
        **extra,
    }


def context() -> Fc310Context:
    return Fc310Context(request_id="fuzz", credentials=FcCredentials(AK, AK_SECRET), function=FcFunction(timeout=10))


# ---------------------------------------------------------------------------------------- oracle helpers


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def is_http_envelope(raw: bytes) -> bool:
    """Whether the handler can see an FC HTTP-trigger request in these bytes (then it must
    answer with an HTTP response). Independent of the handler: strict JSON, its limits."""
    if len(raw) > MAX_EVENT_BYTES or raw.count(b"[") + raw.count(b"{") > 5000:
        return False
    try:
        value = json.loads(
            raw.decode("utf-8-sig"),
            object_pairs_hook=_no_duplicates,
            parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)),
        )
    except (ValueError, RecursionError):
        return False
    if not isinstance(value, dict) or _depth(value) > 32:
        return False
    ctx = value.get("requestContext")
    return (
        isinstance(ctx, dict)
        and isinstance(ctx.get("http"), dict)
        and any(k in value for k in ("headers", "rawPath", "body", "queryParameters"))
    )


def _depth(value: Any) -> int:
    """Nesting depth of arrays/objects, iteratively (the value may be thousands deep)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _well_formed(signal: dict[str, Any]) -> bool:
    ok = bool(_INSTANCE.fullmatch(str(signal.get("instanceId"))))
    if signal.get("haVipId") is not None:
        ok = ok and bool(_HAVIP.fullmatch(str(signal["haVipId"])))
    if signal.get("regionId") is not None:
        ok = ok and bool(_REGION.fullmatch(str(signal["regionId"])))
    return ok


def _clean(text: str) -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text)


class Run:
    """Runs one event through the FC entry and checks it; problems are collected, not raised."""

    def __init__(self, server: EmulatorServer, env: dict[str, str]) -> None:
        self.server = server
        self.env = env
        self.ctx = context()
        self.problems: list[str] = []
        self.counts: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.ops: Counter[str] = Counter()

    def problem(self, case: FuzzCase, text: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(f"[{case.sample} / {case.op}] {text} :: {case.data[:200]!r}")
        self.counts["problems"] += 1

    def __call__(self, case: FuzzCase) -> None:
        self.server.clear_journal()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                response = invoke(case.data, self.ctx, env=self.env)
            except Exception as exc:
                self.counts["exceptions"] += 1
                self.problem(case, f"exception escaped: {type(exc).__name__}: {exc}")
                return
        self.counts["total"] += 1
        self.ops[case.op.split(":")[0]] += 1
        journal = self.server.journal
        text = out.getvalue() + json.dumps(response, ensure_ascii=False, default=str)
        for secret in SECRETS:
            if secret in text:
                self.problem(case, f"secret {secret[:6]}... in the output")

        http = isinstance(response, dict) and "statusCode" in response
        if http:
            self.counts["http_responses"] += 1
            status = response["statusCode"]
            try:
                result = json.loads(response["body"])
            except (TypeError, ValueError):
                self.problem(case, "HTTP response body is not JSON")
                return
            if status not in ANSWER_STATUSES:
                self.problem(case, f"HTTP status {status}")
            if case.expect_status and status not in case.expect_status:
                self.problem(case, f"HTTP status {status}, expected one of {sorted(case.expect_status)}")
        else:
            result, status = response, None
        if is_http_envelope(case.data) and not http:
            self.problem(case, "an HTTP-trigger request answered without an HTTP response")
        if not http and case.expect_status and is_http_envelope(case.data):
            self.problem(case, "expected an HTTP response")
        if not isinstance(result, dict) or "ok" not in result:
            self.problem(case, f"no result: {response!r}"[:300])
            return

        error = result.get("error")
        if error is not None:
            self._rejection(case, result, error, status, journal)
        else:
            self._accepted(case, result, journal)

    def _rejection(
        self, case: FuzzCase, result: dict[str, Any], error: Any, status: int | None, journal: list[Any]
    ) -> None:
        self.counts["rejected"] += 1
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        self.codes[str(code)] += 1
        if not isinstance(code, str) or not code:
            self.problem(case, f"rejection without a code: {error!r}")
        if not isinstance(message, str) or len(message.strip()) < 10:
            self.problem(case, f"rejection without a message naming the problem: {error!r}")
        elif len(message) > MESSAGE_LIMIT or not _clean(message):
            self.problem(case, f"rejection message unbounded or unsanitised ({len(message)} chars): {message[:200]!r}")
        if result.get("ok") is not False or result.get("results"):
            self.problem(case, "a rejection with ok true or results")
        if journal:
            self.problem(case, f"a rejection made API calls: {[e.action for e in journal]}")
        if status is not None and status not in REJECTION_STATUSES and code != "InvalidConfiguration":
            self.problem(case, f"a rejection answered HTTP {status}")
        if case.names and isinstance(message, str) and case.names.lower() not in message.lower():
            self.problem(case, f"the message does not name {case.names!r}: {message[:200]!r}")
        if case.expect_codes and code not in case.expect_codes:
            self.problem(case, f"code {code}, expected one of {sorted(case.expect_codes)}")
        if case.must_reject:
            self.counts["must_reject_rejected"] += 1

    def _accepted(self, case: FuzzCase, result: dict[str, Any], journal: list[Any]) -> None:
        self.counts["accepted_after_mutation"] += 1
        if case.must_reject:
            self.problem(case, "must be rejected, was accepted")
        if any(e.action != "DescribeHaVips" for e in journal):
            self.problem(case, f"a mutated event led to {[e.action for e in journal]}")
        for signal in result.get("signals", []):
            if not _well_formed(signal):
                self.problem(case, f"acted on a malformed id: {signal!r}"[:300])
        if journal:
            self.counts["accepted_with_describe"] += 1


# ---------------------------------------------------------------------------------------- the bulk


@pytest.mark.timeout(600)
def test_mutated_sample_events_are_rejected_cleanly_or_handled(emulator: EmulatorServer) -> None:
    run = Run(emulator, fuzz_env(emulator))
    mutator = Mutator(SEED)
    started = time.monotonic()
    must = 0
    for case in mutator.cases(CASES):
        must += case.must_reject
        run(case)
    elapsed = time.monotonic() - started
    REPORT["bulk"] = {
        "total": run.counts["total"] + run.counts["exceptions"],
        "rejected": run.counts["rejected"],
        "accepted_after_mutation": run.counts["accepted_after_mutation"],
        "accepted_that_called_describe": run.counts["accepted_with_describe"],
        "must_reject": must,
        "must_reject_rejected": run.counts["must_reject_rejected"],
        "http_responses": run.counts["http_responses"],
        "exceptions": run.counts["exceptions"],
        "problems": run.counts["problems"],
        "seconds": round(elapsed, 1),
        "operations": dict(sorted(run.ops.items())),
        "rejection_codes": dict(sorted(run.codes.items())),
    }
    assert run.counts["total"] + run.counts["exceptions"] >= CASES
    assert not run.problems, "\n".join(run.problems)
    assert run.counts["rejected"] > CASES // 2  # the mutations mostly break the event, as intended


# ---------------------------------------------------------------------------------------- structure (hypothesis)

FUZZ_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
KEYS = st.sampled_from(
    [
        "type", "InstanceId", "instanceId", "HaVipId", "haVipId", "RegionId", "regionId", "healthy",
        "consecutiveFailures", "Force", "DryRun", "ClientToken", "InstanceType", "source", "specversion", "id",
        "data", "content", "state", "resourceId", "alertState", "triggerLevel", "dimensions", "timestamp",
        "ruleId", "aliyunregionid", "subject", "requestContext", "headers", "body", "x",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        ["i-bp1master000000001", "eni-bp1x", "havip-bp1pair0000000001", "cn-hangzhou", "ALERT", "OK",
         "havip.health", "ecs:Instance:StateChange", "Stopped", "null", "acs.ecs", "1.0", "true",
         "{instanceId=i-bp1master000000001}", "i-bp1master000000001;reboot"]
    ),
)  # fmt: skip
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6), max_leaves=25
)
HYPOTHESIS_COUNT: Counter[str] = Counter()


@FUZZ_SETTINGS
@given(value=st.dictionaries(KEYS, JSON, max_size=8) | st.lists(JSON, max_size=3))
def test_generated_json_events_never_raise_or_call_with_bad_input(emulator: EmulatorServer, value: Any) -> None:
    run = Run(emulator, fuzz_env(emulator))
    run(FuzzCase("hypothesis", "json", json.dumps(value).encode()))
    HYPOTHESIS_COUNT["json"] += 1
    REPORT["hypothesis_cases"] = dict(HYPOTHESIS_COUNT)
    assert not run.problems, run.problems


TOKENS = st.one_of(
    st.none(),
    st.just(SAMPLE_CALLBACK_TOKEN),
    st.text(max_size=70),
    st.sampled_from(["", " ", SAMPLE_CALLBACK_TOKEN + " ", SAMPLE_CALLBACK_TOKEN[:-1], "x" * 5000]),
)


@FUZZ_SETTINGS
@given(
    method=st.sampled_from(["POST", "GET", "PUT", "post", "", "DELETE"]),
    query_token=TOKENS,
    header_token=TOKENS,
    body=st.one_of(
        st.text(max_size=200), st.sampled_from(["alertState=OK&dimensions={instanceId=i-bp1x}", "{}", "[]"])
    ),
    b64=st.sampled_from([None, False, True, "true", "nope"]),
    ctype=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "", "text/plain", "image/gif"]),
)
def test_generated_http_requests_are_answered_with_an_http_status(  # noqa: PLR0917
    emulator: EmulatorServer,
    method: str,
    query_token: str | None,
    header_token: str | None,
    body: str,
    b64: Any,
    ctype: str,
) -> None:
    envelope = http_envelope(body, ctype, "query")
    envelope["queryParameters"] = {} if query_token is None else {"token": query_token}
    if header_token is not None:
        envelope["headers"]["X-Havip-Token"] = header_token
    envelope["requestContext"]["http"]["method"] = method
    if b64 is not None:
        envelope["isBase64Encoded"] = b64
        if b64 is True:
            envelope["body"] = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
    sent = [t for t in (query_token, header_token) if t]
    expect: frozenset[int] = frozenset()
    if not sent:
        expect = frozenset({401})
    elif any(t != SAMPLE_CALLBACK_TOKEN for t in sent):
        expect = frozenset({403})
    case = FuzzCase("hypothesis", "http", json.dumps(envelope).encode(), must_reject=bool(expect), expect_status=expect)
    run = Run(emulator, fuzz_env(emulator))
    run(case)
    HYPOTHESIS_COUNT["http"] += 1
    REPORT["hypothesis_cases"] = dict(HYPOTHESIS_COUNT)
    assert not run.problems, run.problems


# ---------------------------------------------------------------------------------------- item 7: the token


def _http_samples() -> list[str]:
    return sorted(p.name for p in EVENTS_DIR.glob("*.json") if b'"requestContext"' in p.read_bytes())


def _respond(server: EmulatorServer, raw: bytes, **env: str) -> tuple[int, dict[str, Any], str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        response = invoke(raw, context(), env=fuzz_env(server, **env))
    return response["statusCode"], json.loads(response["body"]), out.getvalue() + json.dumps(response)


@pytest.mark.parametrize("configured", ["unset", "empty"])
@pytest.mark.parametrize("name", _http_samples())
def test_http_requests_are_refused_when_no_token_is_configured(
    emulator: EmulatorServer, name: str, configured: str
) -> None:
    # GIVEN no callback token configured, WHEN a sample HTTP request arrives (it carries one)
    env = fuzz_env(emulator)
    env.pop("HAVIP_CALLBACK_TOKEN")
    if configured == "empty":
        env["HAVIP_CALLBACK_TOKEN"] = ""
    emulator.clear_journal()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        response = invoke((EVENTS_DIR / name).read_bytes(), context(), env=env)
    # THEN it is refused, fail closed: 403, nothing called
    assert response["statusCode"] == 403
    assert json.loads(response["body"])["error"]["code"] == "CallbackTokenNotConfigured"
    assert emulator.journal == []
    assert SAMPLE_CALLBACK_TOKEN not in out.getvalue() + response["body"]


def test_a_token_with_surrounding_spaces_is_a_configuration_error_and_calls_nothing(emulator: EmulatorServer) -> None:
    emulator.clear_journal()
    raw = (EVENTS_DIR / "cloudmonitor-alarm-master.json").read_bytes()
    status, body, text = _respond(emulator, raw, HAVIP_CALLBACK_TOKEN=f" {CALLBACK_TOKEN} ")
    assert status == 500 and body["error"]["code"] == "InvalidConfiguration"
    assert emulator.journal == []
    assert CALLBACK_TOKEN not in text


class _Spy:
    def __init__(self, answer: bool | None) -> None:
        self.calls: list[tuple[bytes, bytes]] = []
        self.answer = answer

    def __call__(self, a: bytes, b: bytes) -> bool:
        self.calls.append((a, b))
        return hmac.compare_digest(a, b) if self.answer is None else self.answer


def _recovery_request(token: str) -> bytes:
    # an OK alarm: accepted or refused only by the token, and never an API call either way
    body = (
        "alertState=OK&triggerLevel=OK&alertName=x&dimensions=%7BinstanceId%3Di-bp1master000000001%7D"
        "&timestamp=1795748400000"
    )
    envelope = http_envelope(body, "application/x-www-form-urlencoded", "query")
    envelope["queryParameters"]["token"] = token
    return json.dumps(envelope).encode()


def test_the_token_is_compared_with_hmac_compare_digest_alone(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    right, wrong = SAMPLE_CALLBACK_TOKEN, SAMPLE_CALLBACK_TOKEN[:-1] + "X"
    # the real comparison, observed: called with the sent and the configured token, as bytes
    spy = _Spy(None)
    monkeypatch.setattr(http_source, "hmac", SimpleNamespace(compare_digest=spy))
    assert _respond(emulator, _recovery_request(right))[0] == 200
    assert spy.calls == [(right.encode(), right.encode())]
    assert _respond(emulator, _recovery_request(wrong))[0] == 403
    assert spy.calls[-1] == (wrong.encode(), right.encode())
    # the decision is compare_digest's alone: no other (timing-leaky) comparison decides
    monkeypatch.setattr(http_source, "hmac", SimpleNamespace(compare_digest=_Spy(True)))
    assert _respond(emulator, _recovery_request(wrong))[0] == 200
    monkeypatch.setattr(http_source, "hmac", SimpleNamespace(compare_digest=_Spy(False)))
    assert _respond(emulator, _recovery_request(right))[0] == 403
    assert emulator.journal == [] or all(e.action == "DescribeHaVips" for e in emulator.journal)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        SAMPLE_CALLBACK_TOKEN[:-1],
        SAMPLE_CALLBACK_TOKEN + "x",
        "a" * 64,
        "a" * 10_000,
        SAMPLE_CALLBACK_TOKEN.upper(),
    ],
)
def test_wrong_tokens_of_any_length_are_refused_without_a_call(emulator: EmulatorServer, token: str) -> None:
    emulator.clear_journal()
    raw = (EVENTS_DIR / "cloudmonitor-alarm-master.json").read_bytes()
    envelope = json.loads(raw)
    envelope["queryParameters"]["token"] = token
    status, body, text = _respond(emulator, json.dumps(envelope).encode())
    assert status == (401 if token == "" else 403)
    assert body["error"]["code"] == ("MissingCallbackToken" if token == "" else "InvalidCallbackToken")
    assert emulator.journal == []
    assert SAMPLE_CALLBACK_TOKEN not in text
