"""The decision of DESIGN §4: pure, no I/O, no clock, no SDK types.

Two questions, both answered from plain values:

- `screen()`: does this signal warrant looking at any HAVIP at all? (recoveries,
  informational and stale events never do);
- `decide()`: given the HAVIP as DescribeHaVips shows it, what this invocation has already
  done to it or learnt from the API's refusals, and the ECS states of the other nodes —
  what now?

The engine (failover.py) loops: observe, decide, act, observe again, until the decision is final
or the deadline passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .ids import instance_type_of
from .model import HaVip, SignalState

# skip: final, nothing to do (and nothing was wrong); done: the instance is not associated
# (any more); wait: observe again later; unassociate: call the API; fail: final, a permanent
# problem; check-survivors: read the other nodes' ECS states, then decide again.
Action = Literal["skip", "done", "wait", "unassociate", "associate", "fail", "check-survivors"]

# Statuses in which UnassociateHaVip is accepted (API usage notes).
ACTIONABLE_STATUSES = frozenset({"Available", "InUse"})
# An event may carry a time slightly ahead of ours (clock skew between Alibaba Cloud's
# services and FC): up to this many seconds is taken as "now".
FUTURE_SKEW_SECONDS = 300.0
# The only ECS status that makes a node a survivor. ECS proves death, never health: a hung
# node is still Running, so this is a necessary condition, not a sufficient one.
RUNNING = "Running"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    force: bool = False
    instance_type: str | None = None


def screen(
    *,
    state: SignalState,
    event_age: float | None = None,
    max_event_age: float = 0.0,
) -> Decision | None:
    """The rows that need no HAVIP: None means "look at the HAVIP(s) and decide"."""
    if state == "recovered":
        return Decision("skip", "recovery-signal")
    if state != "failed":
        return Decision("skip", "informational-signal")
    if event_age is not None:
        if max_event_age > 0 and event_age > max_event_age:
            # FC's async queue can hold an event for minutes: an old "node failed" may describe
            # a world that has moved on (the node rebooted, was replaced, took the VIP back).
            return Decision("skip", "stale-event")
        if event_age < -FUTURE_SKEW_SECONDS:
            return Decision("skip", "event-time-in-future")
    return None


def decide(
    *,
    state: SignalState,
    instance_id: str,
    havip: HaVip | None,
    managed: bool = True,
    force_policy: str = "auto",
    allow_last_instance: bool = False,
    requested_force: bool | None = None,
    requested_instance_type: str | None = None,
    event_age: float | None = None,
    max_event_age: float = 0.0,
    removing: bool = False,
    gone: frozenset[str] = frozenset(),
    master_claim: str | None = None,
    require_survivor: bool = False,
    survivors: Mapping[str, str] | None = None,
    survivors_unreadable: bool = False,
    forced_age: float | None = None,
    cooldown: float = 0.0,
) -> Decision:
    """Decide for one (instance, HAVIP) pair. Rows in the order of the README's table.

    What this invocation knows beyond the view, as plain values:
    - `removing`: our own UnassociateHaVip of this instance was accepted (it is on its way);
    - `gone`: other instances of this HAVIP that this invocation removed or may have removed
      (a lost answer): a view that still lists them predates our own call;
    - `master_claim`: the instance the API last said is the master (Forbidden.UnassociateMaster):
      a view that names another master predates that answer;
    - `survivors`: ECS status of every other associated node (None: not read yet);
      `survivors_unreadable`: ECS could not be read (throttled past the deadline, no permission);
    - `forced_age`: seconds since the function last forced a master off this HAVIP (its record).
    """
    screened = screen(state=state, event_age=event_age, max_event_age=max_event_age)
    if screened is not None:
        return screened
    if not managed:
        return Decision("skip", "not-managed")
    if havip is None:
        return Decision("fail", "havip-not-found")
    listed = havip.associated_instances
    if instance_id not in listed:
        return Decision("done", "not-associated")
    if removing:
        # Accepted but not visible yet (the API is asynchronous, describes may lag): watch,
        # never call again.
        return Decision("wait", "waiting-for-completion")
    if havip.status == "Unassociating":
        return Decision("wait", "havip-unassociating")
    if havip.status not in ACTIONABLE_STATUSES:
        return Decision("wait", f"havip-status-{havip.status or 'unknown'}")
    # What the HAVIP holds once our own calls have landed: the last-instance guard must count
    # what we already took off, even while a describe still lists it.
    remaining = tuple(i for i in listed if i not in gone)
    if len(remaining) < 2 and not allow_last_instance:
        # Removing the only instance leaves the VIP with no holder at all.
        return Decision("skip", "last-instance")
    if len(remaining) < len(listed) or (
        master_claim is not None and master_claim in listed and havip.master_instance_id != master_claim
    ):
        # The view is older than our own last call or than the API's refusal: nothing may be
        # decided on it, least of all "the API says it is the master" over an old list.
        return Decision("wait", "stale-view")

    instance_type = requested_instance_type or havip.associated_instance_type or instance_type_of(instance_id)
    is_master = havip.master_instance_id == instance_id
    ordered = requested_force is not None
    if ordered and is_master and not requested_force:
        # A person said not to force: never second-guessed into forcing the master off.
        return Decision("skip", "master-force-not-requested")
    if not ordered and is_master and force_policy != "auto":
        return Decision("skip", "master-force-never")
    if not ordered and is_master and forced_age is not None and 0 <= forced_age < cooldown:
        # Flap suppression: a pair whose master was just forced off is not forced again
        # automatically; a person can still order it.
        return Decision("skip", "cooldown")
    reason = "master-failed" if is_master else "standby-failed"
    force = bool(requested_force) if ordered else is_master

    # Act only if the active is down and a passive is up: moving the VIP to a dead node turns
    # a possible false alarm into a certain outage. A person's explicit Force is an order:
    # carried out, with the survivors' states reported.
    if (require_survivor or ordered) and survivors is None and not survivors_unreadable:
        return Decision("check-survivors", reason)
    if require_survivor and not ordered:
        if survivors_unreadable:
            return Decision("fail", "survivor-state-unknown")
        others = [i for i in remaining if i != instance_id]
        if not any((survivors or {}).get(i) == RUNNING for i in others):
            return Decision("skip", "no-running-survivor")
    return Decision("unassociate", reason, force=force, instance_type=instance_type)


# ---- the lifecycle: what a managed pair needs, from its view, its record and ECS -------------

NOT_UP = frozenset({"Stopped", "Stopping", "Absent"})  # ECS proves these nodes are not serving

PlanKind = Literal["failover", "failback", "mark-up", "mark-down", "forget"]


@dataclass(frozen=True)
class Plan:
    kind: PlanKind
    node: str
    reason: str


@dataclass(frozen=True)
class Assessment:
    plans: tuple[Plan, ...]
    degraded: bool
    expected_nodes: int
    restore: tuple[str, ...]  # what would make the pair whole again, for people
    waiting: tuple[str, ...]  # what is held back and why (failback hold, busy HAVIP)


def assess(
    *,
    havip: HaVip,
    removed: Mapping[str, tuple[float, int]],
    up_since: Mapping[str, float],
    ecs: Mapping[str, str],
    now: float,
    failback: str = "off",
    hold: float = 300.0,
) -> Assessment:
    """What a pair needs now. `removed`: node -> (when the function took it off, how many nodes
    the HAVIP held before); `up_since`: node -> first seen Running again; `ecs`: node -> status
    ("Absent" when ECS does not know it). Pure: the reconciler acts on the plans, inspect shows them."""
    nodes = havip.associated_instances
    master = havip.master_instance_id
    plans: list[Plan] = []
    restore: list[str] = []
    waiting: list[str] = []
    settled = havip.status in ACTIONABLE_STATUSES
    if not settled:
        waiting.append(f"the HAVIP is {havip.status or 'in an unknown status'}: nothing is done until it settles")
    master_status = ecs.get(master, "Absent") if master else None
    if settled and master and master_status in NOT_UP:
        if any(ecs.get(n) == RUNNING for n in nodes if n != master):
            plans.append(Plan("failover", master, f"master-{master_status.lower()}"))
        else:
            waiting.append(f"the master {master} is {master_status} but no other node is Running: kept")
    expected = max([2, *(size for _, size in removed.values())])
    coming_back = False  # a recorded node on its way back (failback): no other advice needed
    for node, (at, size) in sorted(removed.items()):
        status = ecs.get(node, "Absent")
        if node in nodes:
            plans.append(Plan("forget", node, "back-on-the-havip"))  # a person (or a failback) put it back
            continue
        if status == "Absent":
            plans.append(Plan("forget", node, "instance-gone"))
            restore.append(
                f"{node}, taken off at {int(at)}, no longer exists: associate a new node with AssociateHaVip"
            )
            continue
        if status != RUNNING:
            if node in up_since:
                plans.append(Plan("mark-down", node, f"ecs-{status.lower()}"))
            restore.append(
                f"{node} was taken off at {int(at)} and is {status}: start it"
                + ("; it is re-associated as standby once Running" if failback == "standby" else "")
            )
            continue
        if failback != "standby":
            restore.append(f"{node} is Running again: associate it (AssociateHaVip), or set HAVIP_FAILBACK=standby")
            continue
        since = up_since.get(node)
        coming_back = True
        if since is None:
            plans.append(Plan("mark-up", node, "running-again"))
            waiting.append(f"{node} is Running again: re-associated after {int(hold)} s")
        elif now - since < hold:
            waiting.append(f"{node} is Running since {int(since)}: re-associated after {int(hold)} s")
        elif len(nodes) >= size:
            # Someone already made the pair whole (another node): never more than it held.
            plans.append(Plan("forget", node, "pair-already-whole"))
        elif not settled or any(p.kind == "failover" for p in plans):
            waiting.append(f"{node} waits for the HAVIP to settle before it is re-associated")
        else:
            plans.append(Plan("failback", node, "failback-standby"))
    degraded = len(nodes) < expected
    if degraded and not restore and not coming_back:
        restore.append(f"the HAVIP holds {len(nodes)} of {expected} nodes: associate another node (AssociateHaVip)")
    return Assessment(tuple(plans), degraded, expected, tuple(restore), tuple(waiting))


def decide_failback(*, havip: HaVip | None, node: str, held_before: int, accepted: bool) -> Decision:
    """Put a node the function removed back, as a standby, on the HAVIP as it is now: never
    while the HAVIP is busy, never so that it holds more nodes than it did before."""
    if havip is None:
        return Decision("fail", "havip-not-found")
    if node in havip.associated_instances:
        if havip.status in ACTIONABLE_STATUSES:
            return Decision("done", "failback-standby")
        return Decision("wait", "havip-associating")
    if accepted:  # asynchronous: not listed yet
        return Decision("wait", "waiting-for-completion")
    if havip.status not in ACTIONABLE_STATUSES:
        return Decision("wait", f"havip-status-{havip.status or 'unknown'}")
    if len(havip.associated_instances) >= held_before:
        return Decision("skip", "pair-already-whole")
    return Decision("associate", "failback-standby", instance_type=havip.associated_instance_type)
