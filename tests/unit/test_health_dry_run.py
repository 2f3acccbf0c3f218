"""The health check's optional `dryRun` (what keepalived's notify script sends in its dry run)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context
from havip_failover.model import BadEvent, ParseOptions
from havip_failover.sources import parse_event
from tests.conftest import BASE_ENV
from tests.fakes import FakeClock, FakeVpc, pair

MASTER = "i-bp1master000000001"
HAVIP = "havip-bp1pair0000000001"


def check(**extra: Any) -> bytes:
    body = {"type": "havip.health", "instanceId": MASTER, "haVipId": HAVIP, "healthy": False, "id": "ka-1"}
    return json.dumps({**body, **extra}).encode()


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), ("true", True), (None, None)])
def test_dry_run_is_read_into_the_signal(value: Any, expected: bool | None) -> None:
    raw = check() if value is None else check(dryRun=value)
    (signal,) = parse_event(raw, ParseOptions(1), None).signals
    assert signal.dry_run is expected
    assert signal.state == "failed"


@pytest.mark.parametrize("value", ["maybe", 1, [], {}])
def test_a_dry_run_that_is_not_a_boolean_is_rejected(value: Any) -> None:
    with pytest.raises(BadEvent) as err:
        parse_event(check(dryRun=value), ParseOptions(1), None)
    assert "dryRun" in err.value.message


def test_a_misspelt_dry_run_is_rejected_not_ignored() -> None:
    with pytest.raises(BadEvent):
        parse_event(check(dryrun=True), ParseOptions(1), None)


def test_a_dry_run_health_check_plans_and_never_mutates(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    result = invoke(check(dryRun=True), Fc310Context(), env=dict(BASE_ENV), vpc=fake_vpc, clock=clock)
    assert result["dryRun"] is True
    assert [(r["outcome"], r["reason"]) for r in result["results"]] == [("planned", "master-failed")]
    assert [c.action for c in fake_vpc.calls if c.action == "UnassociateHaVip"] == []
    assert MASTER in fake_vpc.havips[HAVIP].associated_instances


def test_the_same_check_without_dry_run_acts(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    result = invoke(check(), Fc310Context(), env=dict(BASE_ENV), vpc=fake_vpc, clock=clock)
    assert [r["outcome"] for r in result["results"]] == ["unassociated"]
