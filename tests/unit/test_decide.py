"""Every row of the decision table (havip_failover/decide.py; docs/design.md), plus the manual-Force and ENI rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from havip_failover.decide import decide
from havip_failover.model import HaVip

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
PAIR = HaVip("havip-bp1pair0000000001", "InUse", (MASTER, STANDBY), MASTER, "EcsInstance")


@pytest.mark.parametrize(("state", "reason"), [("recovered", "recovery-signal"), ("info", "informational-signal")])
def test_recovery_and_informational_signals_are_skipped(state: str, reason: str) -> None:
    d = decide(state=state, instance_id=MASTER, havip=PAIR)  # type: ignore[arg-type]
    assert (d.action, d.reason) == ("skip", reason)


def test_havip_outside_the_allowlist_is_not_managed() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, managed=False)
    assert (d.action, d.reason) == ("skip", "not-managed")


def test_missing_havip_is_a_permanent_failure() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=None)
    assert (d.action, d.reason) == ("fail", "havip-not-found")


def test_instance_not_associated_is_already_done() -> None:
    d = decide(state="failed", instance_id="i-bp1other0000000001", havip=PAIR)
    assert (d.action, d.reason) == ("done", "not-associated")


def test_unassociating_havip_is_waited_for() -> None:
    d = decide(state="failed", instance_id=STANDBY, havip=replace(PAIR, status="Unassociating"))
    assert (d.action, d.reason) == ("wait", "havip-unassociating")


@pytest.mark.parametrize("status", ["Creating", "Associating", "Deleting", "Weird"])
def test_other_statuses_are_waited_for(status: str) -> None:
    d = decide(state="failed", instance_id=STANDBY, havip=replace(PAIR, status=status))
    assert (d.action, d.reason) == ("wait", f"havip-status-{status}")


def test_last_instance_is_kept_unless_allowed() -> None:
    alone = replace(PAIR, associated_instances=(MASTER,))
    assert decide(state="failed", instance_id=MASTER, havip=alone).reason == "last-instance"
    allowed = decide(state="failed", instance_id=MASTER, havip=alone, allow_last_instance=True)
    assert (allowed.action, allowed.force) == ("unassociate", True)


def test_failed_master_is_forced_off_under_auto() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR)
    assert (d.action, d.reason, d.force, d.instance_type) == ("unassociate", "master-failed", True, "EcsInstance")


def test_failed_master_is_left_under_never() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, force_policy="never")
    assert (d.action, d.reason) == ("skip", "master-force-never")


def test_failed_standby_is_removed_without_force() -> None:
    d = decide(state="failed", instance_id=STANDBY, havip=PAIR)
    assert (d.action, d.reason, d.force) == ("unassociate", "standby-failed", False)


def test_available_havip_with_two_instances_is_actionable() -> None:
    d = decide(state="failed", instance_id=STANDBY, havip=replace(PAIR, status="Available"))
    assert d.action == "unassociate"


def test_eni_type_comes_from_the_havip_or_the_prefix() -> None:
    eni = HaVip("havip-bp1eni", "InUse", ("eni-bp1a", "eni-bp1b"), "eni-bp1a", None)
    assert decide(state="failed", instance_id="eni-bp1b", havip=eni).instance_type == "NetworkInterface"
    typed = replace(eni, associated_instance_type="NetworkInterface")
    assert decide(state="failed", instance_id="eni-bp1a", havip=typed).instance_type == "NetworkInterface"


def test_manual_force_true_is_respected_even_under_never() -> None:
    # an order: carried out even with no Running survivor (their states go into the result)
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, force_policy="never", requested_force=True, survivors={})
    assert (d.action, d.force) == ("unassociate", True)


def test_manual_force_false_never_removes_the_master() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, requested_force=False)
    assert (d.action, d.reason) == ("skip", "master-force-not-requested")


def test_manual_force_true_on_standby_is_sent_as_asked() -> None:
    d = decide(state="failed", instance_id=STANDBY, havip=PAIR, requested_force=True, survivors={MASTER: "Stopped"})
    assert (d.action, d.reason, d.force) == ("unassociate", "standby-failed", True)


def test_unknown_master_is_treated_as_standby() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=replace(PAIR, master_instance_id=None))
    assert (d.action, d.force) == ("unassociate", False)


# ---- issue 8: what the invocation knows beyond the view ---------------------------------


def test_an_order_reads_the_survivors_first_for_the_record() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, requested_force=True)
    assert d.action == "check-survivors"
    unreadable = decide(state="failed", instance_id=MASTER, havip=PAIR, requested_force=True, survivors_unreadable=True)
    assert (unreadable.action, unreadable.force) == ("unassociate", True)


@pytest.mark.parametrize("status", ["Stopped", "Stopping", "Starting", "Pending", "Absent"])
def test_no_node_is_taken_off_while_no_other_node_is_running(status: str) -> None:
    for failed in (MASTER, STANDBY):
        other = STANDBY if failed == MASTER else MASTER
        asked = decide(state="failed", instance_id=failed, havip=PAIR, require_survivor=True)
        assert asked.action == "check-survivors"
        d = decide(state="failed", instance_id=failed, havip=PAIR, require_survivor=True, survivors={other: status})
        assert (d.action, d.reason) == ("skip", "no-running-survivor")


def test_a_running_survivor_lets_the_failover_go_ahead() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, require_survivor=True, survivors={STANDBY: "Running"})
    assert (d.action, d.reason, d.force) == ("unassociate", "master-failed", True)


def test_unreadable_survivors_take_nothing_off() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, require_survivor=True, survivors_unreadable=True)
    assert (d.action, d.reason) == ("fail", "survivor-state-unknown")


def test_a_node_we_removed_counts_as_gone_for_the_last_instance_guard() -> None:
    # the describe still lists the master we forced off a moment ago: the standby is alone
    d = decide(state="failed", instance_id=STANDBY, havip=PAIR, gone=frozenset({MASTER}))
    assert (d.action, d.reason) == ("skip", "last-instance")


def test_a_view_listing_what_we_removed_is_stale_when_others_remain() -> None:
    third = "i-bp1third0000000001"
    trio = replace(PAIR, associated_instances=(MASTER, STANDBY, third))
    d = decide(state="failed", instance_id=STANDBY, havip=trio, gone=frozenset({MASTER}))
    assert (d.action, d.reason) == ("wait", "stale-view")


def test_a_view_naming_another_master_than_the_api_said_is_stale() -> None:
    # the API refused: STANDBY is the master now; the view still says MASTER
    d = decide(state="failed", instance_id=STANDBY, havip=PAIR, master_claim=STANDBY)
    assert (d.action, d.reason) == ("wait", "stale-view")
    fresh = replace(PAIR, master_instance_id=STANDBY)
    agreed = decide(state="failed", instance_id=STANDBY, havip=fresh, master_claim=STANDBY)
    assert (agreed.action, agreed.force) == ("unassociate", True)


def test_our_accepted_call_is_waited_for_never_repeated() -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, removing=True)
    assert (d.action, d.reason) == ("wait", "waiting-for-completion")


@pytest.mark.parametrize(
    ("age", "limit", "reason"),
    [(601.0, 600.0, "stale-event"), (-301.0, 600.0, "event-time-in-future"), (-301.0, 0.0, "event-time-in-future")],
)
def test_stale_and_future_events_are_not_acted_on(age: float, limit: float, reason: str) -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, event_age=age, max_event_age=limit)
    assert (d.action, d.reason) == ("skip", reason)


@pytest.mark.parametrize(("age", "limit"), [(599.0, 600.0), (-299.0, 600.0), (86400.0, 0.0), (None, 600.0)])
def test_fresh_events_small_skew_and_no_limit_are_acted_on(age: float | None, limit: float) -> None:
    d = decide(state="failed", instance_id=MASTER, havip=PAIR, event_age=age, max_event_age=limit)
    assert d.action == "unassociate"


# ---- failback ------------------------------------------------------------------------------


def test_failback_puts_a_node_back_only_on_a_settled_havip_that_holds_fewer_than_before() -> None:
    from havip_failover.decide import decide_failback

    alone = replace(PAIR, associated_instances=(STANDBY,), master_instance_id=STANDBY)
    go = decide_failback(havip=alone, node=MASTER, held_before=2, accepted=False)
    assert (go.action, go.reason, go.force) == ("associate", "failback-standby", False)
    busy = decide_failback(havip=replace(alone, status="Unassociating"), node=MASTER, held_before=2, accepted=False)
    assert (busy.action, busy.reason) == ("wait", "havip-status-Unassociating")
    whole = decide_failback(
        havip=replace(alone, associated_instances=(STANDBY, "i-bp1new")), node=MASTER, held_before=2, accepted=False
    )
    assert (whole.action, whole.reason) == ("skip", "pair-already-whole")
    assert decide_failback(havip=None, node=MASTER, held_before=2, accepted=False).action == "fail"


def test_failback_waits_for_associating_to_end() -> None:
    from havip_failover.decide import decide_failback

    alone = replace(PAIR, associated_instances=(STANDBY,), master_instance_id=STANDBY)
    assert decide_failback(havip=alone, node=MASTER, held_before=2, accepted=True).reason == "waiting-for-completion"
    associating = replace(PAIR, status="Associating", master_instance_id=STANDBY)
    assert decide_failback(havip=associating, node=MASTER, held_before=2, accepted=True).reason == "havip-associating"
    done = decide_failback(havip=replace(PAIR, master_instance_id=STANDBY), node=MASTER, held_before=2, accepted=True)
    assert done.action == "done"
