"""The sample events in events/ parse to exactly what events/expected.json says.

The demo, the README and the functional tests use these files, so every file must be
listed in expected.json (and in events/README.md), and every listed file must exist.
A sample is read into signals, alarms it ignores (`ignored`: codes), unreadable batch
elements (`rejected`: [index, code]), or is refused whole (`error`: the code).
tests/functional/test_samples.py runs each one through the FC entry.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from havip_failover.model import BadEvent, Parsed, ParseOptions, Unauthorized
from havip_failover.samples import retime
from havip_failover.sources import parse_event

EVENTS = Path(__file__).resolve().parents[2] / "events"
EXPECTED: dict[str, Any] = json.loads((EVENTS / "expected.json").read_text(encoding="utf-8"))
SAMPLES = sorted(p.name for p in EVENTS.glob("*.json") if p.name != "expected.json")
HTTP_SAMPLES = [name for name in SAMPLES if EXPECTED.get(name, {}).get("envelope") == "http"]
READABLE = [name for name in SAMPLES if "error" not in EXPECTED.get(name, {})]
REFUSED = [name for name in SAMPLES if "error" in EXPECTED.get(name, {})]
DEMO_TOKEN = "demo-callback-token"
DEMO_IDS = {"i-bp1master000000001", "i-bp1standby00000001", "eni-bp1standbyeni0001"}


def test_every_sample_is_listed_in_expected_json() -> None:
    assert sorted(EXPECTED) == SAMPLES


def test_every_sample_is_described_in_the_readme() -> None:
    readme = (EVENTS / "README.md").read_text(encoding="utf-8")
    missing = [name for name in SAMPLES if f"`{name}`" not in readme]
    assert missing == []


def _signals(parsed: Parsed) -> list[dict[str, object]]:
    return [
        {
            "source": s.source,
            "instance_id": s.instance_id,
            "state": s.state,
            "region_id": s.region_id,
            "ha_vip_id": s.ha_vip_id,
        }
        for s in parsed.signals
    ]


@pytest.mark.parametrize("name", READABLE)
def test_sample_parses_to_the_expected_signals(name: str) -> None:
    # GIVEN a sample event WHEN parsed with the demo token and default options
    parsed = parse_event((EVENTS / name).read_bytes(), ParseOptions(), DEMO_TOKEN)
    # THEN the signals (and the envelope, what was ignored or rejected) are exactly the expected ones
    assert _signals(parsed) == EXPECTED[name]["signals"]
    assert parsed.envelope == EXPECTED[name]["envelope"]
    assert [i.code for i in parsed.ignored] == EXPECTED[name].get("ignored", [])
    assert [[r.index, r.code] for r in parsed.rejected] == EXPECTED[name].get("rejected", [])


@pytest.mark.parametrize("name", REFUSED)
def test_refused_sample_is_refused_with_the_expected_code(name: str) -> None:
    with pytest.raises(BadEvent) as info:
        parse_event((EVENTS / name).read_bytes(), ParseOptions(), DEMO_TOKEN)
    assert (info.value.code, info.value.envelope) == (EXPECTED[name]["error"], EXPECTED[name]["envelope"])
    assert info.value.status == EXPECTED[name].get("status")


@pytest.mark.parametrize("name", READABLE)
def test_retimed_sample_says_it_happened_now_and_is_otherwise_the_same(name: str) -> None:
    # GIVEN a sample retimed to now (what the demo, bench and the CLI feed the entry)
    now = time.time()
    parsed = parse_event(retime((EVENTS / name).read_bytes(), now), ParseOptions(), DEMO_TOKEN)
    # THEN it reads the same, and every signal that carries a time says "now"
    assert _signals(parsed) == EXPECTED[name]["signals"]
    assert [i.code for i in parsed.ignored] == EXPECTED[name].get("ignored", [])
    for signal in parsed.signals:
        if signal.source == "manual":
            assert signal.event_time is None
        else:
            assert signal.event_time is not None and abs(signal.event_time - now) < 1.0, (signal, now)


@pytest.mark.parametrize("name", READABLE)
def test_sample_carries_its_own_time(name: str) -> None:
    parsed = parse_event((EVENTS / name).read_bytes(), ParseOptions(), DEMO_TOKEN)
    for signal in parsed.signals:
        assert (signal.event_time is None) == (signal.source == "manual"), signal


@pytest.mark.parametrize("name", READABLE)
def test_sample_uses_the_demo_pair(name: str) -> None:
    parsed = parse_event((EVENTS / name).read_bytes(), ParseOptions(), DEMO_TOKEN)
    assert {s.instance_id for s in parsed.signals} <= DEMO_IDS
    assert {s.region_id for s in parsed.signals} <= {"cn-hangzhou", None}


@pytest.mark.parametrize("name", READABLE)
def test_sample_parses_the_same_twice(name: str) -> None:
    # GIVEN a re-delivery of the same event THEN the incident ids are the same
    raw = (EVENTS / name).read_bytes()
    first = parse_event(raw, ParseOptions(), DEMO_TOKEN)
    second = parse_event(raw, ParseOptions(), DEMO_TOKEN)
    assert [s.event_id for s in first.signals] == [s.event_id for s in second.signals]


@pytest.mark.parametrize("name", HTTP_SAMPLES)
def test_http_sample_is_refused_with_another_token(name: str) -> None:
    with pytest.raises(Unauthorized) as info:
        parse_event((EVENTS / name).read_bytes(), ParseOptions(), "another-token")
    assert info.value.status == 403


@pytest.mark.parametrize("name", HTTP_SAMPLES)
def test_http_sample_is_refused_when_no_token_is_configured(name: str) -> None:
    with pytest.raises(Unauthorized) as info:
        parse_event((EVENTS / name).read_bytes(), ParseOptions(), None)
    assert info.value.code == "CallbackTokenNotConfigured"


def test_health_sample_is_informational_under_a_higher_threshold() -> None:
    raw = (EVENTS / "health-check-failed.json").read_bytes()
    parsed = parse_event(raw, ParseOptions(min_consecutive_failures=4), None)
    assert parsed.signals[0].state == "info"


@pytest.mark.parametrize("name", [n for n in READABLE if n not in HTTP_SAMPLES])
def test_direct_sample_needs_no_token(name: str) -> None:
    try:
        parse_event((EVENTS / name).read_bytes(), ParseOptions(), None)
    except BadEvent as error:  # pragma: no cover - the assertion explains
        pytest.fail(f"{name} needs a token: {error}")
