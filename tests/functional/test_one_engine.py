"""One engine for every change to a HAVIP, and a record only this function can write: every
defect of the lifecycle red-team round, as a case through the FC entry, each invocation on its
own (all that carries over is what the emulator's model of the cloud holds)."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import replace
from typing import Any

from havip_failover import record
from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context
from havip_failover.model import HaVip
from havip_failover.observe import INCIDENTS
from havip_failover.vpc import VpcError
from tests.conftest import BASE_ENV, Wall
from tests.fakes import FakeClock, FakeVpc, pair
from tests.records import KEY, forced, removed

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
THIRD = "i-bp1third0000000001"
ATTACKER = "i-bp1attacker0000001"
HAVIP = "havip-bp1pair0000000001"
TIMER = json.dumps({"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "reconcile", "payload": ""}).encode()
FAILBACK = {"HAVIP_FAILBACK": "standby", "HAVIP_FAILBACK_HOLD_SECONDS": "0"}
THROTTLED = VpcError("Throttling.User", "Request was denied due to user flow control.", http_status=400)
DENIED = VpcError("Forbidden.RAM", "User not authorized to operate on the specified resource.", http_status=403)


def run(event: bytes, vpc: FakeVpc, clock: FakeClock, wall: Wall, **env: str) -> Any:
    full = {**BASE_ENV, "HAVIP_IDS": HAVIP, **env}
    return invoke(event, Fc310Context(request_id="req-fc-1"), env=full, vpc=vpc, clock=clock, wall=wall)


def failed(node: str, incident: str, **fields: Any) -> bytes:
    return json.dumps(
        {"type": "havip.health", "instanceId": node, "haVipId": HAVIP, "healthy": False, "id": incident, **fields}
    ).encode()


def alone(*tags: tuple[str, str], nodes: tuple[str, ...] = (STANDBY,)) -> HaVip:
    """The pair after the master came off: the standby carries the VIP alone."""
    return HaVip(HAVIP, "InUse", nodes, nodes[0], "EcsInstance", tags=tags)


def taken_off(vpc: FakeVpc, wall: Wall, *, ago: float = 900) -> None:
    """The function took the master off `ago` s ago (its record says so); it is Running again."""
    vpc.ecs[MASTER] = "Running"
    vpc.add(alone(removed(HAVIP, MASTER, at=wall.now - ago, left=[STANDBY])))


def entries(vpc: FakeVpc, wall: Wall) -> record.Record:
    return record.parse(vpc.havips[HAVIP].tags, HAVIP, KEY, wall.now)


def holders(vpc: FakeVpc) -> tuple[str, ...]:
    return vpc.havips[HAVIP].associated_instances


def mutations(vpc: FakeVpc) -> list[str]:
    return [f"{c.action}:{c.params['instance']}" for c in vpc.mutations()]


# ---- 1. a tag buys nothing --------------------------------------------------------------------


def test_a_forged_removal_buys_no_association(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    # GIVEN our genuine removal of the master (down), and entries for another instance of the
    # vSwitch written by someone who may only tag the HAVIP: the old unsigned format, and ours
    # with a signature made without the key
    genuine = removed(HAVIP, MASTER, at=wall.now - 900, left=[STANDBY])
    fake_vpc.add(
        alone(
            genuine,
            (record.REMOVED + ATTACKER, f"{int(wall.now) - 60}/3"),
            (record.REMOVED + THIRD, genuine[1].replace(";2;", ";3;")),
        )
    )
    fake_vpc.ecs.update({MASTER: "Stopped", ATTACKER: "Running", THIRD: "Running"})
    # WHEN the reconciler runs with failback on and no hold
    result = run(TIMER, fake_vpc, clock, wall, **FAILBACK)
    # THEN nothing is associated, the forged entries are shown as ignored with why, ours is kept
    assert mutations(fake_vpc) == []
    (p,) = result["pairs"]
    ignored = {i["key"]: i["why"] for i in p["record"]["ignored"]}
    assert set(ignored) == {record.REMOVED + ATTACKER, record.REMOVED + THIRD}
    assert all("does not verify" in why or "not an entry of this function" in why for why in ignored.values())
    assert list(p["record"]["removed"]) == [MASTER] and p["degraded"]
    # and when the genuine node comes back, it (and only it) is put back
    fake_vpc.ecs[MASTER] = "Running"
    back = run(TIMER, fake_vpc, clock, wall, **FAILBACK)
    assert [(r["intent"], r["instanceId"], r["outcome"]) for r in back["results"]] == [("add", MASTER, "associated")]
    assert set(holders(fake_vpc)) == {STANDBY, MASTER}


def test_a_forged_cooldown_stamp_holds_nothing_back(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    # a `forced` stamp refreshed to now by someone else (unsigned, or signed with a guessed key)
    for value in (str(int(wall.now)), forced(HAVIP, STANDBY, at=wall.now)[1][:-22] + "A" * 22):
        fake_vpc.havips[HAVIP] = replace(pair(), tags=((record.FORCED, value),))
        fake_vpc.ecs[MASTER] = "Stopped"
        result = run(failed(MASTER, f"c-{value[-4:]}"), fake_vpc, clock, wall)
        (r,) = result["results"]
        assert (r["outcome"], r["reason"]) == ("unassociated", "master-failed")
        del fake_vpc.ecs[MASTER]
        fake_vpc.ecs[MASTER] = "Running"


# ---- 2. no tag value breaks anything ------------------------------------------------------------


def test_a_malformed_value_turns_nothing_off(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    # a size part that str.isdigit() accepts and int() does not: it once made every decision raise
    bad = (record.REMOVED + STANDBY, f"{int(wall.now)}/\u00b2")
    fake_vpc.add(replace(pair(), tags=(bad, (record.FORCED, "\u00b2"), (record.PREFIX + "x", "\x00"))))
    timer = run(TIMER, fake_vpc, clock, wall)
    assert timer["ok"] and len(timer["pairs"][0]["record"]["ignored"]) == 3
    fake_vpc.ecs[MASTER] = "Stopped"
    result = run(failed(MASTER, "c-1"), fake_vpc, clock, wall)
    assert result["results"][0]["outcome"] == "unassociated" and holders(fake_vpc) == (STANDBY,)


# ---- 3. a confirmed removal never outweighs a fresh describe ------------------------------------


def test_a_node_readded_after_a_confirmed_removal_is_judged_like_any_node(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall
) -> None:
    fake_vpc.add(pair())
    # the standby fails and is taken off; the removal is seen done
    fake_vpc.ecs[STANDBY] = "Stopped"
    first = run(failed(STANDBY, "c-1"), fake_vpc, clock, wall)
    assert first["results"][0]["outcome"] == "unassociated"
    assert entries(fake_vpc, wall).removals[STANDBY].state == "removed"
    # a person starts it and puts it back at once (well within five minutes)
    fake_vpc.ecs[STANDBY] = "Running"
    fake_vpc.havips[HAVIP] = replace(fake_vpc.havips[HAVIP], associated_instances=(MASTER, STANDBY))
    wall.now += 30
    # it fails again: it is taken off again (not "waiting for completion")
    fake_vpc.ecs[STANDBY] = "Stopped"
    again = run(failed(STANDBY, "c-2"), fake_vpc, clock, wall)
    assert (again["results"][0]["outcome"], again["results"][0]["reason"]) == ("unassociated", "standby-failed")
    # it is put back again, and this time the master fails: the standby is a survivor, not "gone"
    fake_vpc.ecs[STANDBY] = "Running"
    fake_vpc.havips[HAVIP] = replace(fake_vpc.havips[HAVIP], associated_instances=(MASTER, STANDBY))
    wall.now += 30
    fake_vpc.ecs[MASTER] = "Stopped"
    master = run(failed(MASTER, "c-3"), fake_vpc, clock, wall)
    assert (master["results"][0]["outcome"], master["results"][0]["reason"]) == ("unassociated", "master-failed")
    assert holders(fake_vpc) == (STANDBY,)


def test_a_failback_whose_clear_failed_leaves_the_node_judged_normally(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall
) -> None:
    taken_off(fake_vpc, wall)
    fake_vpc.fail_next("UnTagResources", DENIED)
    back = run(TIMER, fake_vpc, clock, wall, **FAILBACK)
    (r,) = back["results"]
    assert r["outcome"] == "associated" and r["record"]["ok"] is False
    assert r["record"]["error"]["code"] == "Forbidden.RAM"
    assert MASTER in entries(fake_vpc, wall).removals  # the entry stayed
    # the node it put back fails: it is taken off, whatever the stale entry says
    fake_vpc.ecs[MASTER] = "Stopped"
    gone = run(failed(MASTER, "c-1"), fake_vpc, clock, wall)
    assert (gone["results"][0]["outcome"], gone["results"][0]["reason"]) == ("unassociated", "standby-failed")


def test_an_entry_from_an_instance_whose_clock_runs_ahead_still_counts(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall
) -> None:
    # GIVEN describes 2 s behind, and an instance whose clock is 30 s ahead taking the standby off
    # without waiting (its record entry is stamped 30 s in our future)
    fake_vpc.add(pair())
    fake_vpc.lag = 2.0
    fake_vpc.settle = 1.0
    ahead = Wall()
    ahead.now = wall.now + 30
    first = run(failed(STANDBY, "c-1"), fake_vpc, clock, ahead, HAVIP_WAIT_SECONDS="0")
    assert first["results"][0]["outcome"] == "pending"
    # WHEN the master fails, heard by an instance with the right time, on a describe that still
    # lists the standby
    second = run(failed(MASTER, "c-2"), fake_vpc, clock, wall, HAVIP_WAIT_SECONDS="0")
    # THEN the standby's removal counts as in flight: the master is the last node, kept
    assert (second["results"][0]["outcome"], second["results"][0]["reason"]) == ("skipped", "last-instance")
    clock.now += 5
    assert holders(fake_vpc) == (MASTER,)


# ---- 4. record writes --------------------------------------------------------------------------


def test_a_throttled_record_write_is_retried(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair())
    fake_vpc.fail_next("TagResources", THROTTLED, THROTTLED)
    result = run(failed(STANDBY, "c-1"), fake_vpc, clock, wall)
    (r,) = result["results"]
    assert r["outcome"] == "unassociated"
    assert r["record"] == {"ok": True, "written": [f"removing {STANDBY}", f"removed {STANDBY}"], "error": None}
    assert fake_vpc.count("TagResources") == 4  # two throttled, the removal, its confirmation
    assert entries(fake_vpc, wall).removals[STANDBY].state == "removed"


def test_a_record_that_could_not_be_written_is_in_the_result_and_the_decision_line(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall, logs: list[MutableMapping[str, Any]]
) -> None:
    fake_vpc.add(pair())
    fake_vpc.fail_next("TagResources", DENIED, DENIED)
    result = run(failed(MASTER, "c-1"), fake_vpc, clock, wall)
    (r,) = result["results"]
    assert r["outcome"] == "unassociated" and result["ok"]  # the failover stands
    assert r["record"]["ok"] is False and r["record"]["error"]["code"] == "Forbidden.RAM"
    (line,) = [e for e in logs if e["event"] == "havip.decision"]
    assert line["log_level"] == "warning" and line["record"]["ok"] is False


def test_stale_entries_are_cleared_in_one_call(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    gone = [f"i-bp1gone{n:011d}" for n in range(18)]
    stale = tuple(removed(HAVIP, g, at=wall.now - 9000 + n, left=[MASTER, STANDBY], held=3) for n, g in enumerate(gone))
    fake_vpc.add(replace(pair(), tags=stale))
    result = run(TIMER, fake_vpc, clock, wall)
    assert fake_vpc.count("UnTagResources") == 1
    (call,) = [c for c in fake_vpc.calls if c.action == "UnTagResources"]
    keys = call.params["keys"]
    assert isinstance(keys, (list, tuple)) and sorted(keys) == sorted(record.REMOVED + g for g in gone)
    assert entries(fake_vpc, wall).removals == {} and len(result["pairs"][0]["recordChanges"]) == 18


# ---- 5. failback is the same machine ---------------------------------------------------------


def test_failback_writes_one_decision_line_with_its_intent(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall, logs: list[MutableMapping[str, Any]]
) -> None:
    taken_off(fake_vpc, wall)
    run(TIMER, fake_vpc, clock, wall, **FAILBACK)
    (line,) = [e for e in logs if e["event"] == "havip.decision"]
    assert (line["intent"], line["outcome"], line["instanceId"], line["source"]) == (
        "add",
        "associated",
        MASTER,
        "reconcile",
    )
    assert line["nodeStatus"] == "Running" and line["survivors"] == {STANDBY: "Running"}  # not itself


def test_failback_takes_the_incident_lock(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    taken_off(fake_vpc, wall)
    token = run(TIMER, fake_vpc, clock, wall, HAVIP_DRY_RUN="true", **FAILBACK)["results"][0]["clientToken"]
    # another driver of the same restoration holds it in this instance
    with INCIDENTS.hold(f"|cn-hangzhou|{token}", 1.0):
        result = run(TIMER, fake_vpc, clock, wall, HAVIP_WAIT_SECONDS="1", **FAILBACK)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("pending", "same-incident-in-progress")
    assert fake_vpc.mutations() == []


def test_failback_names_the_refusal_that_used_the_time(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    taken_off(fake_vpc, wall)
    busy = VpcError("IncorrectHaVipStatus", "The status of HaVip is incorrect.", http_status=400)
    fake_vpc.fail_next("AssociateHaVip", *[busy] * 100)
    result = run(TIMER, fake_vpc, clock, wall, HAVIP_WAIT_SECONDS="3", **FAILBACK)
    (r,) = result["results"]
    assert (r["outcome"], r["error"]["code"]) == ("failed", "IncorrectHaVipStatus")
    # every attempt after a refusal was decided on a fresh look and a fresh record and ECS read
    assert r["attempts"] > 1 and fake_vpc.count("DescribeHaVips") == r["attempts"]  # the survey's, then one each
    assert fake_vpc.count("ListTagResources") == r["attempts"]
    assert fake_vpc.count("DescribeInstanceStatus") == r["attempts"] + 1


def test_failback_asks_ecs_again_after_a_refusal(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    taken_off(fake_vpc, wall)

    def it_stops(v: FakeVpc) -> None:
        v.ecs[MASTER] = "Stopping"

    fake_vpc.race("AssociateHaVip", it_stops)  # the node begins to stop as we call: the API refuses
    result = run(TIMER, fake_vpc, clock, wall, **FAILBACK)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"], r["nodeStatus"]) == ("skipped", "node-not-running", "Stopping")
    assert fake_vpc.count("AssociateHaVip") == 1 and holders(fake_vpc) == (STANDBY,)
    assert MASTER in entries(fake_vpc, wall).removals  # it is put back once it runs again


def test_already_associated_is_done_not_failed(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    taken_off(fake_vpc, wall)

    def a_person_puts_it_back(v: FakeVpc) -> None:
        v.havips[HAVIP] = replace(v.havips[HAVIP], associated_instances=(STANDBY, MASTER))

    fake_vpc.race("AssociateHaVip", a_person_puts_it_back)
    result = run(TIMER, fake_vpc, clock, wall, **FAILBACK)
    (r,) = result["results"]
    assert (r["outcome"], r.get("error")) == ("already-associated", None)
    assert result["ok"] and MASTER not in entries(fake_vpc, wall).removals


def test_a_hold_of_zero_restores_on_the_first_tick(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    taken_off(fake_vpc, wall, ago=30)
    result = run(TIMER, fake_vpc, clock, wall, **FAILBACK)
    assert [(r["intent"], r["outcome"]) for r in result["results"]] == [("add", "associated")]
    assert result["pairs"][0]["degraded"] is False  # the report shows the pair after the failback


def test_an_eni_recovery_signal_reaches_its_pair(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    eni_a, eni_b, host_a, host_b = (
        "eni-bp1a0000000001",
        "eni-bp1b0000000001",
        "i-bp1hosta00000001",
        "i-bp1hostb00000001",
    )
    fake_vpc.enis[eni_a] = host_a
    fake_vpc.enis[eni_b] = host_b
    tag = removed(HAVIP, eni_a, at=wall.now - 900, left=[eni_b])
    fake_vpc.add(HaVip(HAVIP, "InUse", (eni_b,), eni_b, "NetworkInterface", tags=(tag,)))
    # the instance behind eni-a is healthy again: its health check says so
    event = json.dumps({"type": "havip.health", "instanceId": host_a, "healthy": True, "id": "ok-1"}).encode()
    result = run(event, fake_vpc, clock, wall, **FAILBACK)
    assert [(r["instanceId"], r["outcome"]) for r in result["results"] if r["intent"] == "add"] == [
        (eni_a, "associated")
    ]
    assert fake_vpc.mutations()[0].params["type"] == "NetworkInterface"
    assert set(holders(fake_vpc)) == {eni_a, eni_b}


def test_a_three_node_havip_is_restored_to_three_last_removed_first(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall
) -> None:
    fake_vpc.limit = 3
    first = removed(HAVIP, MASTER, at=wall.now - 900, left=[STANDBY, THIRD])
    second = removed(HAVIP, STANDBY, at=wall.now - 600, left=[THIRD])
    fake_vpc.ecs[MASTER] = fake_vpc.ecs[STANDBY] = "Running"
    fake_vpc.add(alone(first, second, nodes=(THIRD,)))
    result = run(TIMER, fake_vpc, clock, wall, **FAILBACK)
    # the standby (removed last) first, then the master: not the order of their ids
    assert [(r["instanceId"], r["outcome"]) for r in result["results"]] == [
        (STANDBY, "associated"),
        (MASTER, "associated"),
    ]
    assert holders(fake_vpc) == (THIRD, STANDBY, MASTER) and entries(fake_vpc, wall).removals == {}


def test_a_failure_event_for_a_node_being_associated_waits_and_then_decides(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall
) -> None:
    taken_off(fake_vpc, wall)
    fake_vpc.settle = 1.0
    # a failback is associating the old master right now
    fake_vpc.associate_ha_vip("cn-hangzhou", HAVIP, MASTER, instance_type="EcsInstance", client_token="fb-1")
    assert fake_vpc.havips[HAVIP].status == "Associating"
    # and a failure event for it arrives
    result = run(failed(MASTER, "c-1"), fake_vpc, clock, wall)
    (r,) = result["results"]
    assert (r["outcome"], r["reason"]) == ("unassociated", "standby-failed")
    assert holders(fake_vpc) == (STANDBY,)


def test_a_failure_event_naming_no_havip_finds_the_one_associating_it(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall
) -> None:
    taken_off(fake_vpc, wall)
    fake_vpc.settle = 1.0
    fake_vpc.associate_ha_vip("cn-hangzhou", HAVIP, MASTER, instance_type="EcsInstance", client_token="fb-1")
    event = json.dumps({"type": "havip.health", "instanceId": MASTER, "healthy": False, "id": "c-1"}).encode()
    result = run(event, fake_vpc, clock, wall)
    (r,) = result["results"]
    assert (r["haVipId"], r["outcome"], r["reason"]) == (HAVIP, "unassociated", "standby-failed")


# ---- 6. the timer's payload --------------------------------------------------------------------


def test_a_timer_ping_makes_no_api_call(fake_vpc: FakeVpc, clock: FakeClock, wall: Wall) -> None:
    fake_vpc.add(pair())
    fake_vpc.ecs[MASTER] = "Stopped"  # a reconcile would act
    ping = json.dumps({"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "warm", "payload": "ping"}).encode()
    result = run(ping, fake_vpc, clock, wall)
    assert result["ok"] and "ping" in result["note"] and result["results"] == []
    assert fake_vpc.calls == []


def test_an_unknown_timer_payload_is_refused_with_what_is_accepted(
    fake_vpc: FakeVpc, clock: FakeClock, wall: Wall
) -> None:
    odd = json.dumps({"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "t", "payload": "warm-up"}).encode()
    result = run(odd, fake_vpc, clock, wall)
    assert result["ok"] is False and result["error"]["code"] == "InvalidTimerEvent"
    assert all(word in result["error"]["message"] for word in ('"reconcile"', '"ping"', "warm-up"))
    assert fake_vpc.calls == []
