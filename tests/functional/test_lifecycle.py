"""Issue 10: the reconciler, failback, the record on the HAVIP, cooldown and inspect — with an
in-memory VPC/ECS and fake clocks. Each step is its own invocation: all that carries over is
what the (fake) cloud holds, the HAVIP's tags included."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from havip_failover import record
from havip_failover.entry import inspect, invoke
from havip_failover.fc_context import Fc310Context
from tests.conftest import BASE_ENV, Wall, manual
from tests.fakes import FakeClock, FakeVpc, pair
from tests.records import KEY, forced, removed

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"
TIMER = json.dumps({"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "reconcile", "payload": ""}).encode()


def run(event: bytes, vpc: FakeVpc, clock: FakeClock, wall: Wall, **env: str) -> Any:
    full = {**BASE_ENV, "HAVIP_IDS": HAVIP, **env}
    return invoke(event, Fc310Context(request_id="req-fc-1"), env=full, vpc=vpc, clock=clock, wall=wall)


def mutations(vpc: FakeVpc, since: int = 0) -> list[str]:
    return [c.action for c in vpc.calls[since:] if c.action in ("UnassociateHaVip", "AssociateHaVip")]


def tags(vpc: FakeVpc) -> dict[str, str]:
    return dict(vpc.havips[HAVIP].tags)


def entries(vpc: FakeVpc, wall: Wall) -> record.Record:
    """The record as the function reads it (signed entries only)."""
    return record.parse(vpc.havips[HAVIP].tags, HAVIP, KEY, wall.now)


def test_fail_fence_recover_restore(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair())
    env = {"HAVIP_FAILBACK": "standby", "HAVIP_FAILBACK_HOLD_SECONDS": "300"}
    # 1. the master fails and is fenced; the record says what was removed
    fake_vpc.ecs[MASTER] = "Stopped"
    fenced = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock, wall, **env)
    assert fenced["results"][0]["outcome"] == "unassociated"
    seen = entries(fake_vpc, wall)
    removal = seen.removals[MASTER]
    assert (removal.state, removal.at, removal.held, removal.up_since) == ("removed", wall.now, 2, None)
    assert seen.forced == record.Forced(wall.now, MASTER) and seen.ignored == ()
    # 2. a reconcile while it is down: degraded, nothing called
    wall.now += 60
    before = len(fake_vpc.calls)
    down = run(TIMER, fake_vpc, clock, wall, **env)
    assert down["degraded"] == [HAVIP] and mutations(fake_vpc, before) == []
    (p,) = down["pairs"]
    assert p["nodes"] == [STANDBY] and "start it" in p["restore"][0]
    # 3. it is Running again: the hold starts (recorded on the HAVIP), nothing associated yet
    fake_vpc.ecs[MASTER] = "Running"
    wall.now += 60
    up = run(TIMER, fake_vpc, clock, wall, **env)
    assert mutations(fake_vpc, before) == []
    assert entries(fake_vpc, wall).removals[MASTER].up_since == wall.now
    assert up["pairs"][0]["plan"] == [{"action": "mark-up", "node": MASTER, "reason": "running-again"}]
    # 4. before the hold is over: still nothing
    wall.now += 299
    run(TIMER, fake_vpc, clock, wall, **env)
    assert mutations(fake_vpc, before) == []
    # 5. after it: re-associated as a standby, the record cleared, the pair whole
    wall.now += 2
    restored = run(TIMER, fake_vpc, clock, wall, **env)
    (r,) = restored["results"]
    assert (r["outcome"], r["reason"], r["force"], r["instanceId"]) == ("associated", "failback-standby", False, MASTER)
    assert fake_vpc.havips[HAVIP].associated_instances == (STANDBY, MASTER)
    assert fake_vpc.havips[HAVIP].master_instance_id == STANDBY  # never forced back to master
    assert not any(k.startswith(record.REMOVED) for k in tags(fake_vpc))
    # the report shows the pair as it is after the failback: whole
    assert restored["degraded"] == [] and restored["pairs"][0]["nodes"] == [STANDBY, MASTER]
    # 6. nothing more to do: a reconcile calls nothing that changes anything
    after = len(fake_vpc.calls)
    calm = run(TIMER, fake_vpc, clock, wall, **env)
    assert calm["results"] == [] and calm["degraded"] == []
    assert [c.action for c in fake_vpc.calls[after:]] == ["DescribeHaVips", "DescribeInstanceStatus"]


def test_failback_is_off_by_default(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair(master=STANDBY, standby="i-bp1third0000000001"))
    fake_vpc.add(pair())
    fake_vpc.havips[HAVIP] = fake_vpc.havips[HAVIP].__class__(
        HAVIP,
        "InUse",
        (STANDBY,),
        STANDBY,
        "EcsInstance",
        tags=(removed(HAVIP, MASTER, at=wall.now - 900, left=[STANDBY]),),
    )
    result = run(TIMER, fake_vpc, clock, wall, HAVIP_FAILBACK_HOLD_SECONDS="0")
    assert mutations(fake_vpc) == []
    (p,) = result["pairs"]
    assert p["degraded"] and "HAVIP_FAILBACK=standby" in p["restore"][0]


def test_a_node_someone_else_removed_is_never_put_back(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair())
    fake_vpc.havips[HAVIP] = fake_vpc.havips[HAVIP].__class__(HAVIP, "InUse", (STANDBY,), STANDBY, "EcsInstance")
    result = run(TIMER, fake_vpc, clock, wall, HAVIP_FAILBACK="standby", HAVIP_FAILBACK_HOLD_SECONDS="0")
    assert mutations(fake_vpc) == []
    assert result["degraded"] == [HAVIP]
    assert "associate another node" in result["pairs"][0]["restore"][0]


def test_a_person_who_made_the_pair_whole_is_not_fought(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    # GIVEN we removed the master, and a person associated a new node in its place
    new = "i-bp1replacement0001"
    fake_vpc.add(pair(master=STANDBY, standby=new))
    h = fake_vpc.havips.pop("havip-bp1pair0000000001")
    fake_vpc.add(
        h.__class__(
            HAVIP,
            "InUse",
            (STANDBY, new),
            STANDBY,
            "EcsInstance",
            tags=(removed(HAVIP, MASTER, at=wall.now - 900, left=[STANDBY], up_since=wall.now - 600),),
        )
    )
    fake_vpc.ecs[MASTER] = "Running"  # the node we removed, up again for 600 s
    run(TIMER, fake_vpc, clock, wall, HAVIP_FAILBACK="standby", HAVIP_FAILBACK_HOLD_SECONDS="0")
    # THEN the old node is not added on top, and its record entry is dropped
    assert mutations(fake_vpc) == []
    assert not any(k.startswith(record.REMOVED) for k in tags(fake_vpc))


def test_a_reconcile_catches_the_failover_an_event_missed(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair())
    fake_vpc.ecs[MASTER] = "Stopped"
    first = run(TIMER, fake_vpc, clock, wall)
    (r,) = first["results"]
    assert (r["outcome"], r["reason"], r["force"], r["instanceId"]) == ("unassociated", "master-failed", True, MASTER)
    assert r["eventId"].startswith("reconcile:")
    # the same situation on the next run gets the same ClientToken (a retry of one incident)
    token = r["clientToken"]
    fake_vpc.havips[HAVIP] = pair()  # the situation as it was (no record)
    again = run(TIMER, fake_vpc, clock, wall)
    assert again["results"][0]["clientToken"] == token


@pytest.mark.parametrize("standby_status", ["Stopped", "Absent", "Starting"])
def test_a_reconcile_never_fails_over_to_a_node_that_is_not_running(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall, standby_status: str
) -> None:
    fake_vpc.add(pair())
    fake_vpc.ecs.update({MASTER: "Stopped", STANDBY: standby_status})
    result = run(TIMER, fake_vpc, clock, wall)
    assert mutations(fake_vpc) == []
    assert result["results"] == []
    assert "no other node is Running" in result["pairs"][0]["waiting"][0]


def test_nothing_managed_touches_nothing_and_says_why(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair())
    fake_vpc.ecs[MASTER] = "Stopped"
    result = invoke(TIMER, Fc310Context(request_id="r"), env=dict(BASE_ENV), vpc=fake_vpc, clock=clock, wall=wall)
    assert fake_vpc.calls == []
    assert "HAVIP_IDS" in result["note"] and "HAVIP_TAG" in result["note"]


def test_havips_are_opted_in_by_tag(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair(ha_vip_id="havip-untagged", master="i-m1", standby="i-s1"))
    tagged = pair()
    fake_vpc.add(tagged.__class__(**{**tagged.__dict__, "tags": (("ha", "db"),)}))
    fake_vpc.ecs.update({MASTER: "Stopped", "i-m1": "Stopped"})
    env = {**BASE_ENV, "HAVIP_TAG": "ha=db"}
    result = invoke(TIMER, Fc310Context(request_id="r"), env=env, vpc=fake_vpc, clock=clock, wall=wall)
    assert [r["haVipId"] for r in result["results"]] == [HAVIP]
    assert "i-m1" in fake_vpc.havips["havip-untagged"].associated_instances


def test_cooldown_holds_the_next_automatic_forced_removal(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair())
    fake_vpc.havips[HAVIP] = replace(pair(), tags=(forced(HAVIP, "i-bp1old", at=wall.now - 100),))
    result = run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock, wall)
    assert (result["results"][0]["outcome"], result["results"][0]["reason"]) == ("skipped", "cooldown")
    assert mutations(fake_vpc) == []
    # a person's explicit order bypasses it
    ordered = run(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), fake_vpc, clock, wall)
    assert ordered["results"][0]["outcome"] == "unassociated"


def test_cooldown_ends_and_can_be_switched_off(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    tagged = replace(pair(), tags=(forced(HAVIP, "i-bp1old", at=wall.now - 301),))
    fake_vpc.add(tagged)
    assert (
        run(manual(HaVipId=HAVIP, InstanceId=MASTER), fake_vpc, clock, wall)["results"][0]["outcome"] == "unassociated"
    )
    fake_vpc.havips[HAVIP] = replace(tagged, tags=(forced(HAVIP, "i-bp1old", at=wall.now),))
    off = run(
        manual(HaVipId=HAVIP, InstanceId=MASTER, ClientToken="second-incident"),
        fake_vpc,
        clock,
        wall,
        HAVIP_COOLDOWN_SECONDS="0",
    )
    assert off["results"][0]["outcome"] == "unassociated"


def test_a_recovery_signal_checks_failback_at_once(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(
        pair().__class__(
            HAVIP,
            "InUse",
            (STANDBY,),
            STANDBY,
            "EcsInstance",
            tags=(removed(HAVIP, MASTER, at=wall.now - 900, left=[STANDBY]),),
        )
    )
    fake_vpc.ecs[MASTER] = "Running"  # the node we removed, up again
    event = json.dumps({"type": "havip.health", "instanceId": MASTER, "healthy": True, "id": "ok-1"}).encode()
    # with a hold, the first sight of it Running starts the hold (recorded on the HAVIP) ...
    run(event, fake_vpc, clock, wall, HAVIP_FAILBACK="standby", HAVIP_FAILBACK_HOLD_SECONDS="60")
    assert entries(fake_vpc, wall).removals[MASTER].up_since == wall.now
    assert mutations(fake_vpc) == []
    # ... and a hold of 0 means no hold: the recovery signal restores it at once
    result = run(event, fake_vpc, clock, wall, HAVIP_FAILBACK="standby", HAVIP_FAILBACK_HOLD_SECONDS="0")
    assert [r["outcome"] for r in result["results"] if r["outcome"] == "associated"] == ["associated"]
    assert fake_vpc.havips[HAVIP].associated_instances == (STANDBY, MASTER)


def test_inspect_is_read_only(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair())
    fake_vpc.ecs[MASTER] = "Stopped"
    env = {**BASE_ENV, "HAVIP_IDS": HAVIP, "HAVIP_FAILBACK": "standby"}
    result = inspect(Fc310Context(request_id="r"), env=env, vpc=fake_vpc, clock=clock, wall=wall)
    assert {c.action for c in fake_vpc.calls} <= {"DescribeHaVips", "DescribeInstanceStatus", "ListTagResources"}
    (p,) = result["pairs"]
    assert p["plan"] == [{"action": "failover", "node": MASTER, "reason": "master-stopped"}]
    assert p["ecs"] == {MASTER: "Stopped", STANDBY: "Running"}
    assert result["results"][0]["outcome"] == "planned"


def test_a_healthy_check_in_dry_run_plans_the_failback_and_changes_nothing(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall
) -> None:
    tagged = (removed(HAVIP, MASTER, at=wall.now - 900, left=[STANDBY], up_since=wall.now - 600),)
    fake_vpc.add(pair().__class__(HAVIP, "InUse", (STANDBY,), STANDBY, "EcsInstance", tags=tagged))
    fake_vpc.ecs[MASTER] = "Running"  # the node we removed, up again
    event = json.dumps(
        {"type": "havip.health", "instanceId": MASTER, "healthy": True, "id": "ok-2", "dryRun": True}
    ).encode()
    result = run(event, fake_vpc, clock, wall, HAVIP_FAILBACK="standby", HAVIP_FAILBACK_HOLD_SECONDS="0")
    assert [r["outcome"] for r in result["results"] if r["instanceId"] == MASTER][-1] == "planned"
    assert mutations(fake_vpc) == [] and fake_vpc.count("UnTagResources") == 0


def test_a_dry_run_recovery_never_fails_a_dead_master_over_either(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall
) -> None:
    # the recovery's failback check reconciles the pair, whose master ECS shows Stopped
    tagged = removed(HAVIP, "i-bp1third0000000001", at=wall.now - 900, left=[MASTER, STANDBY])
    fake_vpc.add(replace(pair(), tags=(tagged,)))
    fake_vpc.ecs[MASTER] = "Stopped"
    fake_vpc.ecs["i-bp1third0000000001"] = "Running"  # the node we removed, healthy again
    event = json.dumps(
        {"type": "havip.health", "instanceId": "i-bp1third0000000001", "healthy": True, "id": "ok-3", "dryRun": True}
    ).encode()
    result = run(event, fake_vpc, clock, wall, HAVIP_FAILBACK="standby")
    assert [(r["instanceId"], r["outcome"]) for r in result["results"] if r["reason"] == "master-failed"] == [
        (MASTER, "planned")
    ]
    assert mutations(fake_vpc) == []
