"""Events for every change, with the in-memory cloud and a fake clock: what is published, when
(once per change of a pair's state), within what time, and that a failing bus changes nothing
the function decided."""

from __future__ import annotations

import json
from typing import Any

import pytest

from havip_failover import record
from havip_failover.entry import inspect, invoke
from havip_failover.fc_context import Fc310Context, FcFunction
from havip_failover.publish import PUBLISH_SECONDS, TYPES
from havip_failover.vpc import VpcError
from tests.conftest import BASE_ENV, manual
from tests.fakes import FakeClock, FakeVpc, pair
from tests.records import KEY

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"
BUS = "havip-failover"
TIMER = json.dumps({"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "reconcile", "payload": ""}).encode()
WALL = 1_800_000_000.0


def run(
    event: bytes, vpc: FakeVpc, clock: FakeClock, env: dict[str, str] | None = None, *, timeout: int = 60, **more: str
) -> Any:
    full = {**BASE_ENV, "HAVIP_IDS": HAVIP, "HAVIP_EVENT_BUS": BUS, **(env or {}), **more}
    context = Fc310Context(request_id="req-events", function=FcFunction(timeout=timeout))
    return invoke(event, context, env=full, vpc=vpc, clock=clock, wall=lambda: WALL)


@pytest.fixture
def cloud(fake_vpc: FakeVpc) -> FakeVpc:
    fake_vpc.add(pair())
    fake_vpc.backend.create_event_bus(BUS)
    return fake_vpc


def types(vpc: FakeVpc) -> list[str]:
    return [e["Type"] for e in vpc.events(BUS)]


def test_every_type_fits_eventbridges_limits() -> None:
    # (the emulator's model refuses longer ones: these would never reach a bus)
    assert all(len(t) <= 64 for t in TYPES)


def test_a_failover_is_published_with_its_result(cloud: FakeVpc, clock: FakeClock) -> None:
    cloud.ecs[MASTER] = "Stopped"
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), cloud, clock)
    (r,) = result["results"]
    (event,) = cloud.events(BUS)
    assert event["Type"] == "havip-failover:HaVip:Unassociated" and event["Data"] == r
    assert event["Time"] == record.iso(WALL)
    # after the acts: the last call of the invocation
    assert cloud.calls[-1].action == "PutEvents"


def test_a_transient_error_is_retried_like_any_call(cloud: FakeVpc, clock: FakeClock) -> None:
    cloud.ecs[MASTER] = "Stopped"
    cloud.fail_next("PutEvents", VpcError("Throttling.User", "slow down"), VpcError("InternalError", "oops"))
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), cloud, clock)
    assert result["events"] == {"bus": BUS, "published": 1, "unpublished": 0, "error": None}
    assert cloud.count("PutEvents") == 3


def test_a_hanging_bus_is_given_up_within_the_budget_and_changes_nothing(cloud: FakeVpc, clock: FakeClock) -> None:
    cloud.ecs[MASTER] = "Stopped"

    def hang(vpc: FakeVpc) -> None:
        clock.sleep(10.0)  # the request's whole timeout, then the connection times out

    for _ in range(5):
        cloud.race("PutEvents", hang)
    cloud.fail_next("PutEvents", *[VpcError("Timeout", "read timed out") for _ in range(5)])
    started = clock.now
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), cloud, clock, timeout=60)
    (r,) = result["results"]
    assert (r["outcome"], result["ok"]) == ("unassociated", True)
    assert result["events"]["error"]["code"] == "Timeout" and result["events"]["published"] == 0
    # the decision's time is its own; the invocation's grew by at most the budget (and one request)
    publishing = clock.now - started - r["elapsedMs"] / 1000
    assert publishing <= PUBLISH_SECONDS + 10.0 + 0.01


def test_no_time_left_means_no_call_and_says_so(cloud: FakeVpc, clock: FakeClock) -> None:
    # GIVEN a function whose timeout the failover itself used up (HAVIP_WAIT_SECONDS 30, timeout 33:
    # its deadline is 33 - 3 s of margin, and nothing is left after it)
    cloud.ecs[MASTER] = "Stopped"
    cloud.race("UnassociateHaVip", lambda vpc: clock.sleep(29.9))  # an API that answers at the last moment
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), cloud, clock, timeout=33)
    assert [r["outcome"] for r in result["results"]] == ["pending"]
    # THEN the pending decision could not be published, and the result says why
    assert result["events"]["error"]["code"] == "DeadlineExceeded"
    assert cloud.count("PutEvents") == 0


def test_pair_degraded_once_then_whole_once(cloud: FakeVpc, clock: FakeClock) -> None:
    env = {"HAVIP_FAILBACK": "standby", "HAVIP_FAILBACK_HOLD_SECONDS": "0"}
    cloud.ecs[MASTER] = "Stopped"
    # the reconciler fails the master over: the failover and the degraded pair, in one run
    run(TIMER, cloud, clock, env)
    assert types(cloud) == ["havip-failover:HaVip:Unassociated", "havip-failover:Pair:Degraded"]
    stamp = record.parse(cloud.havips[HAVIP].tags, HAVIP, KEY, WALL).pair
    assert stamp is not None and stamp.state == "degraded"
    for _ in range(3):
        run(TIMER, cloud, clock, env)
    assert len(types(cloud)) == 2
    cloud.ecs[MASTER] = "Running"
    run(TIMER, cloud, clock, env)
    assert types(cloud)[2:] == ["havip-failover:HaVip:Associated", "havip-failover:Pair:Whole"]
    run(TIMER, cloud, clock, env)
    assert len(types(cloud)) == 4


def test_a_pair_found_degraded_is_kept_in_the_upkeeps_one_write(cloud: FakeVpc, clock: FakeClock) -> None:
    # GIVEN a failover whose end was not watched (HAVIP_WAIT_SECONDS=0): its removal is unconfirmed
    cloud.ecs[MASTER] = "Stopped"
    run(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), cloud, clock, HAVIP_WAIT_SECONDS="0")
    clock.sleep(5.0)
    before = [c for c in cloud.calls if c.action == "TagResources"]
    # WHEN the timer runs: nothing to change, the removal to confirm, the pair now degraded
    run(TIMER, cloud, clock)
    # THEN one batched write holds both (the removal seen done, the pair's new state)
    (write,) = [c for c in cloud.calls if c.action == "TagResources"][len(before) :]
    written = write.params["tags"]
    assert isinstance(written, dict)
    assert set(written) == {f"havip-failover:removed:{MASTER}", "havip-failover:pair"}
    assert types(cloud)[1:] == ["havip-failover:Pair:Degraded"]


def test_a_lost_record_write_of_the_upkeep_is_published(cloud: FakeVpc, clock: FakeClock) -> None:
    cloud.ecs[MASTER] = "Stopped"
    run(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), cloud, clock)
    # WHEN the timer would record the degraded pair, and the tag service refuses
    cloud.fail_next("TagResources", VpcError("Forbidden.RAM", "denied", http_status=403))
    run(TIMER, cloud, clock)
    assert types(cloud)[1:] == ["havip-failover:Pair:Degraded", "havip-failover:Record:WriteFailed"]
    lost = cloud.events(BUS)[-1]["Data"]
    assert lost["record"]["error"]["code"] == "Forbidden.RAM"
    # the state was not kept: the next timer says it again (and keeps it this time)
    run(TIMER, cloud, clock)
    assert types(cloud)[3:] == ["havip-failover:Pair:Degraded"]
    run(TIMER, cloud, clock)
    assert len(types(cloud)) == 4


def test_dry_run_and_inspect_publish_nothing(cloud: FakeVpc, clock: FakeClock) -> None:
    cloud.ecs[MASTER] = "Stopped"
    result = run(TIMER, cloud, clock, HAVIP_DRY_RUN="true")
    assert [r["outcome"] for r in result["results"]] == ["planned"] and "events" not in result
    seen = inspect(
        Fc310Context(request_id="r"),
        env={**BASE_ENV, "HAVIP_IDS": HAVIP, "HAVIP_EVENT_BUS": BUS},
        vpc=cloud,
        clock=clock,
    )
    assert "events" not in seen
    assert cloud.count("PutEvents") == 0 and cloud.count("TagResources") == 0


def test_more_events_than_a_request_takes_go_in_batches(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN 20 pairs whose masters are down, managed by one function
    ids = [f"havip-bp1pair00000000{n:02d}" for n in range(20)]
    for n, h in enumerate(ids):
        fake_vpc.add(pair(ha_vip_id=h, master=f"i-bp1master0000000{n:02d}", standby=f"i-bp1standby000000{n:02d}"))
        fake_vpc.ecs[f"i-bp1master0000000{n:02d}"] = "Stopped"
    fake_vpc.backend.create_event_bus(BUS)
    result = run(TIMER, fake_vpc, clock, HAVIP_IDS=",".join(ids))
    # THEN 40 events (a failover and a degraded pair each), in requests of at most 16
    assert result["events"]["published"] == 40
    assert [len(c.params["ids"]) for c in fake_vpc.calls if c.action == "PutEvents"] == [16, 16, 8]  # type: ignore[arg-type]
