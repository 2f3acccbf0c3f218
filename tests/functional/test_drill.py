"""The drill through the FC entry: on a whole pair it takes the standby off and puts it back —
never the master, the HAVIP and its record as they were — timing every call and naming every
permission it proved; it refuses a pair that cannot spare its standby; cut short, the reconciler
finishes it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from havip_failover import record
from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context
from havip_failover.vpc import VpcError
from tests.conftest import BASE_ENV, CALLBACK_TOKEN
from tests.fakes import FakeClock, FakeVpc, pair
from tests.records import KEY, removed

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"
TIMER = json.dumps({"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "reconcile", "payload": ""}).encode()
DENIED = VpcError("Forbidden.RAM", "User not authorized to operate on the specified resource.", http_status=403)
WALL = 1_800_000_000.0


def drill(vpc: FakeVpc, clock: FakeClock, **fields: Any) -> Any:
    order = json.dumps({"action": "drill", "haVipId": HAVIP, **fields}).encode()
    env = {**BASE_ENV, "HAVIP_WAIT_SECONDS": "10"}
    return invoke(order, Fc310Context(request_id="req-drill"), env=env, vpc=vpc, clock=clock, wall=lambda: WALL)


def test_a_drill_takes_the_standby_off_and_puts_it_back(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(replace(pair(), tags=(("owner", "dba-team"),)))
    before = fake_vpc.havips[HAVIP]
    result = drill(fake_vpc, clock)
    d = result["drill"]
    assert result["ok"] and (d["status"], d["standby"], d["master"]) == ("done", STANDBY, MASTER)
    # the two decisions, one line each, through the engine
    assert [(r["intent"], r["instanceId"], r["outcome"], r["force"]) for r in result["results"]] == [
        ("remove", STANDBY, "unassociated", False),
        ("add", STANDBY, "associated", False),
    ]
    # the master was never touched: the VIP did not move
    assert [c.params["instance"] for c in fake_vpc.mutations()] == [STANDBY, STANDBY]
    after = fake_vpc.havips[HAVIP]
    assert after.master_instance_id == MASTER and set(after.associated_instances) == {MASTER, STANDBY}
    assert after.tags == before.tags  # the record as the drill found it
    # every call timed, every permission it needs proved
    assert {s["call"] for s in d["steps"]} >= {"DescribeHaVips", "UnassociateHaVip", "AssociateHaVip"}
    assert all(isinstance(s["ms"], int) and s["error"] is None for s in d["steps"])
    assert d["standbyOffMs"] > 0
    proved = {p for p, what in d["permissions"].items() if what == "proved"}
    assert proved == {
        "vpc:DescribeHaVips",
        "vpc:ListTagResources",
        "vpc:TagResources",
        "vpc:UnTagResources",
        "ecs:DescribeInstanceStatus",
        "vpc:UnassociateHaVip",
        "vpc:AssociateHaVip",
    }
    assert d["permissions"]["ecs:DescribeNetworkInterfaces"] == "not used"


def test_a_drill_in_dry_run_shows_the_plan_and_changes_nothing(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    result = drill(fake_vpc, clock, dryRun=True)
    d = result["drill"]
    assert result["ok"] and result["dryRun"] and (d["status"], d["standby"]) == ("planned", STANDBY)
    assert {c.action for c in fake_vpc.calls} == {"DescribeHaVips", "ListTagResources", "DescribeInstanceStatus"}


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("degraded", "drill-pair-not-whole"),  # the function removed a node and has not put it back
        ("alone", "drill-pair-not-whole"),
        ("stopped", "drill-node-not-running"),
        ("busy", "drill-havip-busy"),
        ("no-master", "drill-no-master"),
    ],
)
def test_a_drill_refuses_a_pair_that_cannot_spare_its_standby(
    fake_vpc: FakeVpc, clock: FakeClock, setup: str, reason: str
) -> None:
    fake_vpc.ecs["i-bp1third0000000001"] = "Running"
    trio = replace(pair(), associated_instances=(MASTER, STANDBY))
    havip = {
        "degraded": replace(trio, tags=(removed(HAVIP, "i-bp1third0000000001", at=WALL - 60, left=[MASTER, STANDBY]),)),
        "alone": replace(trio, associated_instances=(MASTER,)),
        "stopped": trio,
        "busy": replace(trio, status="Unassociating"),
        "no-master": replace(trio, master_instance_id=None),
    }[setup]
    fake_vpc.add(havip)
    if setup == "stopped":
        fake_vpc.ecs[STANDBY] = "Stopped"
    result = drill(fake_vpc, clock)
    d = result["drill"]
    assert result["ok"] is False and (d["status"], d["reason"]) == ("refused", reason)
    assert fake_vpc.mutations() == [] and fake_vpc.count("TagResources") == 0
    assert result["results"] == []


def test_a_drill_over_http_is_refused(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    body = json.dumps({"action": "drill", "haVipId": HAVIP})
    event = {
        "version": "v1",
        "rawPath": "/",
        "headers": {"Content-Type": "application/json", "X-Havip-Token": CALLBACK_TOKEN},
        "queryParameters": {},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": "POST", "path": "/"}, "requestId": "r1"},
    }
    env = {**BASE_ENV, "HAVIP_CALLBACK_TOKEN": CALLBACK_TOKEN}
    response = invoke(json.dumps(event).encode(), Fc310Context(request_id="r"), env=env, vpc=fake_vpc, clock=clock)
    answer = json.loads(response["body"])
    assert response["statusCode"] == 403 and answer["error"]["code"] == "ManualOrderNotAllowedOverHttp"
    assert "drill" in answer["error"]["message"] and fake_vpc.calls == []


def test_an_unknown_action_is_refused_naming_the_accepted_ones(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    result = invoke(
        json.dumps({"action": "dril", "haVipId": HAVIP}).encode(),
        Fc310Context(request_id="r"),
        env=dict(BASE_ENV),
        vpc=fake_vpc,
        clock=clock,
    )
    assert result["error"]["code"] == "UnknownAction" and "drill" in result["error"]["message"]


def test_a_drill_cut_short_is_finished_by_the_reconciler(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    # GIVEN a role that may take a node off but not put one back
    fake_vpc.add(pair())
    fake_vpc.fail_next("AssociateHaVip", DENIED)
    result = drill(fake_vpc, clock)
    d = result["drill"]
    assert (d["status"], result["ok"]) == ("cut-short", False)
    assert "reconciler" in d["message"] and d["error"]["code"] == "Forbidden.RAM"
    assert d["permissions"]["vpc:AssociateHaVip"] == "denied: Forbidden.RAM"
    assert fake_vpc.havips[HAVIP].associated_instances == (MASTER,)
    seen = record.parse(fake_vpc.havips[HAVIP].tags, HAVIP, KEY, WALL)
    assert seen.drill is not None and seen.drill.node == STANDBY and STANDBY in seen.removals
    # WHEN the timer comes (failback off, a hold configured: neither applies to a drill's standby)
    env = {**BASE_ENV, "HAVIP_IDS": HAVIP, "HAVIP_FAILBACK": "off", "HAVIP_FAILBACK_HOLD_SECONDS": "300"}
    timer = invoke(TIMER, Fc310Context(request_id="t"), env=env, vpc=fake_vpc, clock=clock, wall=lambda: WALL + 5)
    # THEN it puts the standby back at once, and the record is as before the drill
    assert [(r["intent"], r["instanceId"], r["outcome"]) for r in timer["results"]] == [("add", STANDBY, "associated")]
    assert set(fake_vpc.havips[HAVIP].associated_instances) == {MASTER, STANDBY}
    assert fake_vpc.havips[HAVIP].tags == ()


def test_a_drill_whose_removal_is_refused_leaves_nothing_behind(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.fail_next("UnassociateHaVip", DENIED)
    result = drill(fake_vpc, clock)
    d = result["drill"]
    assert (d["status"], d["permissions"]["vpc:UnassociateHaVip"]) == ("cut-short", "denied: Forbidden.RAM")
    assert "nothing was changed" in d["message"]
    assert fake_vpc.havips[HAVIP].tags == () and fake_vpc.havips[HAVIP].associated_instances == (MASTER, STANDBY)


def test_a_drill_tells_the_operators_bus_and_proves_it_may(fake_vpc: FakeVpc, clock: FakeClock) -> None:
    fake_vpc.add(pair())
    fake_vpc.backend.create_event_bus("ops")
    order = json.dumps({"action": "drill", "haVipId": HAVIP}).encode()
    env = {**BASE_ENV, "HAVIP_EVENT_BUS": "ops"}
    result = invoke(order, Fc310Context(request_id="req-drill"), env=env, vpc=fake_vpc, clock=clock, wall=lambda: WALL)
    assert result["drill"]["status"] == "done" and result["events"]["published"] == 2
    assert [e["Type"] for e in fake_vpc.events("ops")] == [
        "havip-failover:HaVip:Unassociated",
        "havip-failover:HaVip:Associated",
    ]
    assert result["drill"]["permissions"]["eventbridge:PutEvents"] == "proved"
