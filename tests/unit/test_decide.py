"""Every rule of decide.py, from plain values: the screen, taking a node off, putting one back,
and the reconciler's plan (docs/design.md has the table these rows follow)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from havip_failover import record
from havip_failover.decide import Evidence, Known, Rules, assess, decide, screen
from havip_failover.model import HaVip, Intent
from havip_failover.record import Forced, Record, Removal

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
THIRD = "i-bp1third0000000001"
PAIR = HaVip("havip-bp1pair0000000001", "InUse", (MASTER, STANDBY), MASTER, "EcsInstance")
NOW = 1_800_000_000.0
RUNNING = {MASTER: "Running", STANDBY: "Running", THIRD: "Running"}
NO_RECORD = Record()


def remove(node: str = MASTER, **kw: Any) -> Intent:
    return Intent("remove", "cn-hangzhou", PAIR.ha_vip_id, node, "manual", "incident-1", "test", **kw)


def add(node: str = MASTER) -> Intent:
    return Intent("add", "cn-hangzhou", PAIR.ha_vip_id, node, "reconcile", "failback-1", "test")


def ev(rec: Record = NO_RECORD, ecs: dict[str, str] | None = None) -> Evidence:
    return Evidence(rec, RUNNING if ecs is None else ecs)


def d(intent: Intent, havip: HaVip | None = PAIR, evidence: Evidence | None = None, **kw: Any) -> tuple[str, str]:
    rules = Rules(**{k: kw.pop(k) for k in list(kw) if k in Rules.__dataclass_fields__})
    known = Known(**kw)
    decision = decide(intent, havip, known=known, evidence=evidence, rules=rules, now=NOW)
    return decision.action, decision.reason


def removal(
    node: str, *, state: str = "removed", at: float = NOW - 600, left: tuple[str, ...] = (STANDBY,), **kw: Any
) -> Removal:
    return Removal(node, state, at, len(left) + 1, record.left_digest(left), **kw)  # type: ignore[arg-type]


def rec(*removals: Removal, forced: Forced | None = None) -> Record:
    return Record({r.node: r for r in removals}, forced)


# ---- the screen: the rows that need no HAVIP ------------------------------------------------


@pytest.mark.parametrize(("state", "reason"), [("recovered", "recovery-signal"), ("info", "informational-signal")])
def test_recovery_and_informational_signals_are_skipped(state: str, reason: str) -> None:
    screened = screen(state=state)  # type: ignore[arg-type]
    assert screened is not None and (screened.action, screened.reason) == ("skip", reason)


@pytest.mark.parametrize(
    ("age", "limit", "reason"),
    [(601.0, 600.0, "stale-event"), (-301.0, 600.0, "event-time-in-future"), (-301.0, 0.0, "event-time-in-future")],
)
def test_stale_and_future_events_are_not_acted_on(age: float, limit: float, reason: str) -> None:
    screened = screen(state="failed", event_age=age, max_event_age=limit)
    assert screened is not None and screened.reason == reason


@pytest.mark.parametrize(("age", "limit"), [(599.0, 600.0), (-299.0, 600.0), (86400.0, 0.0), (None, 600.0)])
def test_fresh_events_small_skew_and_no_limit_go_on(age: float | None, limit: float) -> None:
    assert screen(state="failed", event_age=age, max_event_age=limit) is None


# ---- remove: taking a failed node off -------------------------------------------------------


def test_missing_havip_is_a_permanent_failure() -> None:
    assert d(remove(), None) == ("fail", "havip-not-found")
    assert d(add(), None) == ("fail", "havip-not-found")


def test_a_node_not_on_a_settled_havip_is_already_done() -> None:
    assert d(remove("i-bp1other0000000001")) == ("done", "not-associated")


@pytest.mark.parametrize(
    ("status", "reason"), [("Associating", "havip-associating"), ("Creating", "havip-status-Creating")]
)
def test_a_node_not_listed_on_a_busy_havip_waits_for_it_to_settle(status: str, reason: str) -> None:
    # it may be the very node being associated right now (a failure event during a failback)
    assert d(remove(THIRD), replace(PAIR, status=status)) == ("wait", reason)


@pytest.mark.parametrize(
    ("status", "reason"),
    [("Unassociating", "havip-unassociating"), ("Associating", "havip-associating"), ("Weird", "havip-status-unknown")],
)
def test_a_busy_havip_is_waited_for(status: str, reason: str) -> None:
    assert d(remove(STANDBY), replace(PAIR, status=status)) == ("wait", reason)


def test_evidence_is_gathered_before_any_call() -> None:
    decision = decide(remove(), PAIR, now=NOW)
    assert (decision.action, decision.reason, decision.needs_ecs) == ("gather", "master-failed", True)
    no_survivor = decide(remove(), PAIR, rules=Rules(require_survivor=False), now=NOW)
    assert (no_survivor.action, no_survivor.needs_ecs) == ("gather", False)


def test_failed_master_is_forced_off_and_standby_is_not() -> None:
    master = decide(remove(MASTER), PAIR, evidence=ev(), now=NOW)
    assert (master.action, master.reason, master.force, master.instance_type) == (
        "act",
        "master-failed",
        True,
        "EcsInstance",
    )
    assert master.holds == (MASTER, STANDBY)
    standby = decide(remove(STANDBY), PAIR, evidence=ev(), now=NOW)
    assert (standby.action, standby.reason, standby.force) == ("act", "standby-failed", False)


def test_failed_master_is_left_under_never() -> None:
    assert d(remove(), force="never") == ("skip", "master-force-never")


def test_last_instance_is_kept_unless_allowed() -> None:
    alone = replace(PAIR, associated_instances=(MASTER,))
    assert d(remove(), alone) == ("skip", "last-instance")
    allowed = decide(
        remove(), alone, evidence=ev(), rules=Rules(allow_last_instance=True, require_survivor=False), now=NOW
    )
    assert (allowed.action, allowed.force) == ("act", True)


def test_eni_type_comes_from_the_havip_or_the_prefix() -> None:
    eni = HaVip("havip-bp1eni", "InUse", ("eni-bp1a", "eni-bp1b"), "eni-bp1a", None)
    running = {"eni-bp1a": "Running", "eni-bp1b": "Running"}
    decision = decide(remove("eni-bp1b"), eni, evidence=ev(ecs=running), now=NOW)
    assert decision.instance_type == "NetworkInterface"


def test_unknown_master_is_treated_as_standby() -> None:
    decision = decide(remove(), replace(PAIR, master_instance_id=None), evidence=ev(), now=NOW)
    assert (decision.action, decision.force) == ("act", False)


def test_manual_force_is_an_order() -> None:
    # carried out even under never and with no Running survivor (their states go into the result)
    ordered = decide(
        remove(requested_force=True), PAIR, evidence=ev(ecs={STANDBY: "Stopped"}), rules=Rules(force="never"), now=NOW
    )
    assert (ordered.action, ordered.force) == ("act", True)
    assert d(remove(requested_force=False)) == ("skip", "master-force-not-requested")
    on_standby = decide(remove(STANDBY, requested_force=True), PAIR, evidence=ev(ecs={MASTER: "Stopped"}), now=NOW)
    assert (on_standby.action, on_standby.force) == ("act", True)


@pytest.mark.parametrize("status", ["Stopped", "Stopping", "Starting", "Pending", "Absent"])
def test_no_node_is_taken_off_while_no_other_node_is_running(status: str) -> None:
    for failed in (MASTER, STANDBY):
        other = STANDBY if failed == MASTER else MASTER
        assert d(remove(failed), evidence=ev(ecs={other: status})) == ("skip", "no-running-survivor")


def test_unreadable_survivors_or_record_take_nothing_off() -> None:
    assert d(remove(), evidence=Evidence(NO_RECORD, None)) == ("fail", "survivor-state-unknown")
    assert d(remove(), evidence=Evidence(None, RUNNING)) == ("fail", "record-unreadable")


def test_a_node_we_removed_counts_as_gone_for_the_last_instance_guard() -> None:
    # the describe still lists the master we forced off a moment ago: the standby is alone
    assert d(remove(STANDBY), gone=frozenset({MASTER})) == ("skip", "last-instance")
    trio = replace(PAIR, associated_instances=(MASTER, STANDBY, THIRD))
    assert d(remove(STANDBY), trio, gone=frozenset({MASTER})) == ("wait", "stale-view")


def test_a_view_naming_another_master_than_the_api_said_is_stale() -> None:
    assert d(remove(STANDBY), master_claim=STANDBY) == ("wait", "stale-view")
    agreed = decide(
        remove(STANDBY),
        replace(PAIR, master_instance_id=STANDBY),
        known=Known(master_claim=STANDBY),
        evidence=ev(),
        now=NOW,
    )
    assert (agreed.action, agreed.force) == ("act", True)


def test_our_accepted_call_is_waited_for_never_repeated() -> None:
    assert d(remove(), ours="accepted") == ("wait", "waiting-for-completion")
    # a lost answer: we may look again and call again with the same token
    assert d(remove(), evidence=ev(), ours="maybe")[0] == "act"


# ---- remove: the record -------------------------------------------------------------------


def test_another_invocations_removal_in_flight_counts_as_gone() -> None:
    # a lagging describe still lists the standby another invocation just took off
    flying = rec(removal(STANDBY, state="removing", at=NOW - 5, left=(MASTER,)))
    assert d(remove(MASTER), evidence=ev(flying)) == ("skip", "last-instance")
    # written by an instance whose clock is ahead: still in flight
    ahead = rec(removal(STANDBY, state="removing", at=NOW + 20, left=(MASTER,)))
    assert d(remove(MASTER), evidence=ev(ahead)) == ("skip", "last-instance")


def test_a_confirmed_removal_never_outweighs_a_fresh_describe() -> None:
    # the standby was taken off (and seen gone), then re-added: it is judged like any node
    readded = rec(removal(STANDBY, state="removed", at=NOW - 5, left=(MASTER,)))
    assert d(remove(MASTER), evidence=ev(readded))[0] == "act"
    assert d(remove(STANDBY), evidence=ev(readded))[0] == "act"


def test_an_unconfirmed_removal_past_its_window_is_judged_on_the_describe() -> None:
    old = rec(removal(STANDBY, state="removing", at=NOW - 400, left=(MASTER,)))
    assert d(remove(MASTER), evidence=ev(old))[0] == "act"


def test_a_nodes_own_entry_never_holds_back_its_removal() -> None:
    # it was removed (by someone, maybe us) and is listed again: if it failed, it is taken off
    own = rec(removal(MASTER, state="removing", at=NOW - 5, left=(STANDBY,)))
    assert d(remove(MASTER), evidence=ev(own))[0] == "act"


def test_cooldown_holds_automatic_force_but_not_an_order() -> None:
    just_forced = rec(forced=Forced(NOW - 60, STANDBY))
    assert d(remove(MASTER), evidence=ev(just_forced)) == ("skip", "cooldown")
    assert d(remove(MASTER, requested_force=True), evidence=ev(just_forced))[0] == "act"
    assert d(remove(MASTER), evidence=ev(rec(forced=Forced(NOW - 301, STANDBY))))[0] == "act"
    assert d(remove(MASTER), evidence=ev(just_forced), cooldown=0.0)[0] == "act"


# ---- add: failback ------------------------------------------------------------------------

ALONE = replace(PAIR, associated_instances=(STANDBY,), master_instance_id=STANDBY)


def test_failback_puts_back_a_node_it_recorded_onto_the_nodes_it_left() -> None:
    decision = decide(add(), ALONE, evidence=ev(rec(removal(MASTER))), rules=Rules(hold=0), now=NOW)
    assert (decision.action, decision.reason, decision.force, decision.instance_type) == (
        "act",
        "failback-standby",
        False,
        "EcsInstance",
    )


def test_failback_never_adds_a_node_the_function_did_not_record() -> None:
    assert d(add(), ALONE, ev(NO_RECORD), hold=0) == ("skip", "not-removed-by-function")
    assert d(add(), ALONE, Evidence(None, RUNNING), hold=0) == ("fail", "record-unreadable")


def test_failback_never_makes_the_havip_hold_more_than_before_or_other_nodes() -> None:
    whole = replace(ALONE, associated_instances=(STANDBY, THIRD))
    assert d(add(), whole, ev(rec(removal(MASTER))), hold=0) == ("skip", "pair-already-whole")
    swapped = replace(ALONE, associated_instances=(THIRD,))  # people replaced the standby since
    assert d(add(), swapped, ev(rec(removal(MASTER))), hold=0) == ("skip", "nodes-changed-since-removal")


def test_failback_asks_ecs_and_waits_for_the_hold() -> None:
    entry = rec(removal(MASTER))
    assert d(add(), ALONE, None, hold=0) == ("gather", "failback-standby")
    assert d(add(), ALONE, ev(entry, {MASTER: "Stopped"}), hold=0) == ("skip", "node-not-running")
    assert d(add(), ALONE, Evidence(entry, None), hold=0) == ("fail", "node-state-unknown")
    assert d(add(), ALONE, ev(entry), hold=60) == ("skip", "failback-hold")
    up = rec(removal(MASTER, up_since=NOW - 61))
    assert d(add(), ALONE, ev(up), hold=60)[0] == "act"


def test_failback_on_a_busy_havip_or_one_already_done() -> None:
    assert d(add(), replace(ALONE, status="Unassociating")) == ("wait", "havip-unassociating")
    assert d(add(), ALONE, ours="accepted") == ("wait", "waiting-for-completion")
    associating = replace(PAIR, status="Associating", master_instance_id=STANDBY)
    assert d(add(), associating) == ("wait", "havip-associating")
    assert d(add(), replace(PAIR, master_instance_id=STANDBY)) == ("done", "failback-standby")


# ---- the reconciler's plan ------------------------------------------------------------------


def plan(havip: HaVip, record_: Record, ecs: dict[str, str] | None = None, **kw: Any) -> list[tuple[str, str, str]]:
    a = assess(havip=havip, record=record_, ecs=RUNNING if ecs is None else ecs, now=NOW, **kw)
    return [(p.kind, p.node, p.reason) for p in a.plans]


def test_a_stopped_master_is_removed_when_another_node_runs() -> None:
    assert plan(PAIR, NO_RECORD, {MASTER: "Stopped", STANDBY: "Running"}) == [("failover", MASTER, "master-stopped")]
    assert plan(PAIR, NO_RECORD, {MASTER: "Stopped", STANDBY: "Stopped"}) == []


def test_a_hold_of_zero_means_no_hold() -> None:
    assert plan(ALONE, rec(removal(MASTER)), failback="standby", hold=0) == [("failback", MASTER, "failback-standby")]
    assert plan(ALONE, rec(removal(MASTER)), failback="standby", hold=60) == [("mark-up", MASTER, "running-again")]


def test_a_removal_seen_done_is_confirmed_and_a_node_back_is_forgotten() -> None:
    assert plan(ALONE, rec(removal(MASTER, state="removing", at=NOW - 5)), {MASTER: "Stopped", STANDBY: "Running"}) == [
        ("confirm", MASTER, "seen-off-the-havip")
    ]
    assert plan(PAIR, rec(removal(MASTER))) == [("forget", MASTER, "back-on-the-havip")]
    # listed while its removal may still be in flight: kept until it is not
    assert plan(PAIR, rec(removal(MASTER, state="removing", at=NOW - 5))) == []
    # seen done, and listed again a moment later: a describe behind another may show the old
    # state, so the entry is forgotten only once that window has passed
    assert plan(PAIR, rec(removal(MASTER, state="removed", at=NOW - 5))) == []


def test_three_nodes_are_restored_last_removed_first_to_three() -> None:
    trio_left = replace(PAIR, associated_instances=(THIRD,), master_instance_id=THIRD)
    first = removal(MASTER, at=NOW - 900, left=(STANDBY, THIRD))  # held 3
    second = removal(STANDBY, at=NOW - 600, left=(THIRD,))  # held 2
    planned = plan(trio_left, rec(first, second), failback="standby", hold=0)
    assert planned == [("failback", STANDBY, "failback-standby"), ("failback", MASTER, "failback-standby")]
    a = assess(havip=trio_left, record=rec(first, second), ecs=RUNNING, now=NOW, failback="standby", hold=0)
    assert a.expected_nodes == 3 and a.degraded


def test_a_removal_waits_for_the_one_made_after_it() -> None:
    trio_left = replace(PAIR, associated_instances=(THIRD,), master_instance_id=THIRD)
    first = removal(MASTER, at=NOW - 900, left=(STANDBY, THIRD))
    second = removal(STANDBY, at=NOW - 600, left=(THIRD,))
    a = assess(
        havip=trio_left,
        record=rec(first, second),
        ecs={**RUNNING, STANDBY: "Stopped"},
        now=NOW,
        failback="standby",
        hold=0,
    )
    assert [p.kind for p in a.plans] == []
    assert any(STANDBY in w and "removed after it" in w for w in a.waiting)


def test_people_who_made_the_pair_whole_are_not_fought() -> None:
    whole = replace(ALONE, associated_instances=(STANDBY, THIRD))
    assert plan(whole, rec(removal(MASTER)), failback="standby", hold=0) == [("forget", MASTER, "pair-already-whole")]


def test_restore_advice_speaks_iso_times() -> None:
    a = assess(havip=ALONE, record=rec(removal(MASTER)), ecs={MASTER: "Stopped", STANDBY: "Running"}, now=NOW)
    assert a.degraded and "taken off at 2027-01-15T07:50:00Z" in a.restore[0] and "start it" in a.restore[0]
