"""Issue 8: the situations a real cloud produces in which the first release took the VIP off a
healthy node or left a HAVIP with no node — with an in-memory VPC/ECS and a fake clock.
The same situations run over real HTTP against the emulator in tests/e2e/test_safety_e2e.py."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from havip_failover.engine import Deadline, Engine, Policy
from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context
from havip_failover.model import Signal
from havip_failover.record import RecordKey
from havip_failover.resolve import Resolver
from havip_failover.result import Report
from havip_failover.vpc import VpcError
from tests.conftest import BASE_ENV, RECORD_KEY, manual
from tests.fakes import FakeClock, FakeVpc, pair
from tests.records import removed

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"
ENV = dict(BASE_ENV)
THROTTLED = VpcError("Throttling.User", "Request was denied due to user flow control.", http_status=400)


def run(event: bytes, vpc: FakeVpc, clock: FakeClock, env: dict[str, str] | None = None) -> Any:
    return invoke(event, Fc310Context(request_id="req-fc-1"), env={**ENV, **(env or {})}, vpc=vpc, clock=clock)


def batch(*instances: str) -> bytes:
    return json.dumps(
        [
            {
                "specversion": "1.0",
                "id": f"evt-{n}",
                "source": "my.checker",
                "type": "havip.health",
                "data": {"type": "havip.health", "instanceId": i, "haVipId": HAVIP, "healthy": False, "id": f"c{n}"},
            }
            for n, i in enumerate(instances)
        ]
    ).encode()


def holders(vpc: FakeVpc, clock: FakeClock) -> tuple[str, ...]:
    """What the HAVIP holds once everything under way has finished."""
    clock.now += 60  # the backend applies every transition due by now on the next read
    return vpc.havips[HAVIP].associated_instances


# ---- 1. a refusal proves the view is stale ------------------------------------------


@pytest.mark.parametrize("wait", ["0", "30"])
def test_both_nodes_failed_with_a_lagging_describe_keep_one_node(
    fake_vpc: FakeVpc, clock: FakeClock, wait: str
) -> None:
    # GIVEN a describe two seconds behind the truth, and both nodes reported failed at once
    fake_vpc.add(pair())
    fake_vpc.lag = 2.0
    env = {"HAVIP_WAIT_SECONDS": wait, "HAVIP_REQUIRE_SURVIVOR": "false"}
    result = run(batch(MASTER, STANDBY), fake_vpc, clock, env=env)
    # THEN the master comes off and the standby is kept: what we removed counts, whatever the describe says
    outcomes = {r["instanceId"]: (r["outcome"], r["reason"]) for r in result["results"]}
    assert outcomes[STANDBY] == ("skipped", "last-instance")
    assert [c.params["instance"] for c in fake_vpc.mutations()] == [MASTER]
    assert holders(fake_vpc, clock) == (STANDBY,)


def test_the_same_across_two_invocations_never_empties_the_havip(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN the master forced off by one invocation that did not wait, and a describe 2 s behind
    fake_vpc.add(pair())
    fake_vpc.lag = 2.0
    fake_vpc.settle = 1.0
    env = {"HAVIP_WAIT_SECONDS": "0", "HAVIP_REQUIRE_SURVIVOR": "false"}
    first = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock, env=env)
    assert first["results"][0]["outcome"] == "pending"
    # WHEN the next invocation hears that the standby failed too
    second = run(manual(HaVipId=HAVIP, InstanceId=STANDBY), fake_vpc, clock, env=env)
    # THEN the API's refusals are proof the old view is stale; it waits for one that agrees
    (r,) = second["results"]
    assert r["outcome"] in ("skipped", "pending")
    assert all(not c.params["force"] for c in fake_vpc.mutations() if c.params["instance"] == STANDBY)
    assert holders(fake_vpc, clock) == (STANDBY,)


# ---- 2. a forced call is made on a fresh look -----------------------------------------


def test_a_throttled_forced_call_looks_again_before_its_retry(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN Force=True throttled while someone else removes the standby
    fake_vpc.add(pair())

    def someone_removes_the_standby(v: FakeVpc) -> None:
        v.add(replace(v.havips[HAVIP], associated_instances=(MASTER,)))

    fake_vpc.race("UnassociateHaVip", someone_removes_the_standby)
    fake_vpc.fail_next("UnassociateHaVip", THROTTLED)
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock)
    # THEN the retry is not sent: the fresh look shows the master alone
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("skipped", "last-instance")
    assert fake_vpc.count("UnassociateHaVip") == 1
    assert holders(fake_vpc, clock) == (MASTER,)


def test_a_slow_discovery_listing_is_not_used_for_a_forced_call(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN our pair on the first page of 60 HAVIPs, the second page throttled three times
    # (~1.5 s), and someone removing the standby meanwhile
    fake_vpc.add(pair())
    for n in range(59):
        fake_vpc.add(pair(ha_vip_id=f"havip-other{n:04d}", master=f"i-m{n}", standby=f"i-s{n}"))
    throttles = [THROTTLED] * 3
    real = fake_vpc.describe_ha_vips

    def second_page_throttled(region_id: str, **kw: Any) -> Any:
        if kw.get("page_number") == 2 and throttles:
            fake_vpc.add(replace(fake_vpc.havips[HAVIP], associated_instances=(MASTER,)))
            raise throttles.pop()
        return real(region_id, **kw)

    fake_vpc.describe_ha_vips = second_page_throttled  # type: ignore[method-assign]
    event = json.dumps({"type": "havip.health", "instanceId": MASTER, "healthy": False, "id": "c1"}).encode()
    result = run(event, fake_vpc, clock)
    # THEN the forced call is decided on a new look, which shows the master alone: kept
    (r,) = result["results"]
    assert clock.now - 1000.0 >= 1.0  # the listing really was slow
    assert (r["haVipId"], r["outcome"], r["reason"]) == (HAVIP, "skipped", "last-instance")
    assert fake_vpc.count("UnassociateHaVip") == 0


# ---- 3. discovery reads to the end -----------------------------------------------------


def test_a_too_small_total_count_hides_no_havip(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN 60 HAVIPs, ours on the second page, and an API whose TotalCount says 10
    for n in range(59):
        fake_vpc.add(pair(ha_vip_id=f"havip-a{n:04d}", master=f"i-m{n}", standby=f"i-s{n}"))
    fake_vpc.add(pair())
    real = fake_vpc.describe_ha_vips

    def lying(region_id: str, **kw: Any) -> Any:
        page = real(region_id, **kw)
        return replace(page, total_count=10)

    fake_vpc.describe_ha_vips = lying  # type: ignore[method-assign]
    event = json.dumps({"type": "havip.health", "instanceId": MASTER, "healthy": False, "id": "c1"}).encode()
    result = run(event, fake_vpc, clock)
    # THEN the dead master is found and taken off
    (r,) = result["results"]
    assert (r["haVipId"], r["outcome"]) == (HAVIP, "unassociated")


# ---- 4. a survivor must be up ------------------------------------------------------------


@pytest.mark.parametrize("failed", [MASTER, STANDBY])
@pytest.mark.parametrize("status", ["Stopped", "Stopping", "Absent"])
def test_nothing_is_taken_off_while_no_other_node_is_running(
    fake_vpc: FakeVpc, clock: FakeClock, failed: str, status: str, logs: list[dict[str, Any]]
) -> None:
    fake_vpc.add(pair())
    other = STANDBY if failed == MASTER else MASTER
    if status == "Absent":
        # A released instance leaves every HAVIP at once; only a describe that lags still lists it.
        fake_vpc.lag = 5.0
    fake_vpc.ecs[other] = status
    result = run(manual(HaVipId=HAVIP, InstanceId=failed), fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("skipped", "no-running-survivor")
    assert r["survivors"] == {other: status}
    assert fake_vpc.mutations() == []
    assert any(e["event"] == "havip.no_running_survivor" and e["log_level"] == "warning" for e in logs)


def test_survivors_can_be_switched_off(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.ecs[STANDBY] = "Stopped"
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock, env={"HAVIP_REQUIRE_SURVIVOR": "false"})
    assert result["results"][0]["outcome"] == "unassociated"
    assert fake_vpc.count("DescribeInstanceStatus") == 0


def test_an_eni_survivor_is_as_alive_as_its_instance(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair(master="eni-bp1master", standby="eni-bp1standby", instance_type="NetworkInterface"))
    fake_vpc.enis.update({"eni-bp1master": "i-bp1hostm", "eni-bp1standby": "i-bp1hosts"})
    fake_vpc.ecs["i-bp1hosts"] = "Stopped"
    result = run(manual(HaVipId=HAVIP, InstanceId="eni-bp1master"), fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], r["survivors"]) == (
        "skipped",
        "no-running-survivor",
        {"eni-bp1standby": "Stopped"},
    )
    fake_vpc.ecs["i-bp1hosts"] = "Running"
    result = run(manual(HaVipId=HAVIP, InstanceId="eni-bp1master"), fake_vpc, clock)
    assert result["results"][0]["outcome"] == "unassociated"
    detached = run(manual(HaVipId=HAVIP, InstanceId="eni-bp1standby"), fake_vpc, clock)
    assert detached["results"][0]["reason"] in ("last-instance", "not-associated")


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (
            VpcError("Forbidden.RAM", "User not authorized to operate on the specified resource.", http_status=403),
            False,
        ),
        (THROTTLED, True),
    ],
)
def test_unreadable_ecs_takes_nothing_off(
    fake_vpc: FakeVpc, clock: FakeClock, error: VpcError, retryable: bool
) -> None:
    fake_vpc.add(pair())
    fake_vpc.fail_next("DescribeInstanceStatus", *([error] * 200))
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock, env={"HAVIP_WAIT_SECONDS": "5"})
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], r["error"]["code"]) == ("failed", "survivor-state-unknown", error.code)
    assert r["error"]["retryable"] is retryable
    assert fake_vpc.mutations() == []


def test_a_persons_order_is_carried_out_with_the_survivors_reported(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.ecs[STANDBY] = "Stopped"
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["force"], r["survivors"]) == ("unassociated", True, {STANDBY: "Stopped"})


# ---- 5. stale events are not acted on -------------------------------------------------------


class engine:
    """Signals through the resolver and the engine, with nothing of the entry around them."""

    def __init__(self, vpc: FakeVpc, clock: FakeClock, now: float, max_age: float = 600.0) -> None:
        key = RecordKey(RECORD_KEY)
        self.engine = Engine(vpc, Policy(), clock, Deadline(clock, 30), key=key, wall=lambda: now)
        self.resolver = Resolver(self.engine, (), max_age)

    def run(self, signals: list[tuple[Signal, str | None]]) -> list[Report]:
        reports, intents = self.resolver.resolve(signals)
        return reports + self.engine.drive(intents)


@pytest.mark.parametrize(
    ("age", "outcome", "reason"),
    [
        (601.0, "skipped", "stale-event"),
        (599.0, "unassociated", "master-failed"),
        (-200.0, "unassociated", "master-failed"),  # a little clock skew
        (-3600.0, "skipped", "event-time-in-future"),
    ],
)
def test_an_event_is_aged_by_its_own_time(
    fake_vpc: FakeVpc, clock: FakeClock, age: float, outcome: str, reason: str
) -> None:
    fake_vpc.add(pair())
    now = 1_800_000_000.0
    signal = Signal("health-check", "c1", MASTER, "failed", "healthy=false", ha_vip_id=HAVIP, event_time=now - age)
    (out,) = engine(fake_vpc, clock, now).run([(signal, "cn-hangzhou")])
    assert (out.outcome, out.reason) == (outcome, reason)
    if outcome == "skipped":
        assert fake_vpc.calls == []  # not even a look


def test_no_age_limit_and_timeless_events(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    now = 1_800_000_000.0
    old = Signal("health-check", "c1", MASTER, "failed", "x", ha_vip_id=HAVIP, event_time=now - 86400)
    (out,) = engine(fake_vpc, clock, now, max_age=0).run([(old, "cn-hangzhou")])
    assert out.outcome == "unassociated"


def test_an_unreadable_record_takes_nothing_off(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # the tag service is what tells this invocation what others took off lately: without it, nothing
    fake_vpc.add(pair())
    denied = VpcError("Forbidden.RAM", "User not authorized to operate on the specified resource.", http_status=403)
    fake_vpc.fail_next("ListTagResources", denied)
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], r["error"]["code"]) == ("failed", "record-unreadable", "Forbidden.RAM")
    assert fake_vpc.mutations() == []


def test_a_recent_removal_in_the_record_outweighs_a_describe_that_still_lists_it(
    fake_vpc: FakeVpc, clock: FakeClock
) -> None:
    # another invocation took the standby off 10 s ago (its record says so); the describe lags
    now = 1_800_000_000.0
    fake_vpc.add(replace(pair(), tags=(removed(HAVIP, STANDBY, at=now - 10, left=[MASTER], state="removing"),)))
    signal = Signal("health-check", "c-9", MASTER, "failed", "x", ha_vip_id=HAVIP, event_time=now)
    (out,) = engine(fake_vpc, clock, now).run([(signal, "cn-hangzhou")])
    assert (out.outcome, out.reason) == ("skipped", "last-instance")
    # ... but one taken off long ago (a person put it back since) is no longer counted
    fake_vpc.havips[HAVIP] = replace(
        pair(), tags=(removed(HAVIP, STANDBY, at=now - 3600, left=[MASTER], state="removing"),)
    )
    (again,) = engine(fake_vpc, clock, now).run([(replace(signal, event_id="c-10"), "cn-hangzhou")])
    assert again.outcome == "unassociated"
