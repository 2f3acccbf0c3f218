"""Every rule of what to do, pure: plain values in, a Decision (or a plan) out. No I/O, no
clock, no SDK types. docs/design.md explains each rule; the engine (engine.py) drives them.

- `screen()`: does a signal warrant looking at any HAVIP at all? (recoveries, informational
  and stale events never do);
- `decide()`: for one intent — take a node off, put one back — on the HAVIP as one describe
  showed it, with what this invocation knows (`Known`) and the evidence read for that view
  (`Evidence`: the record, ECS): act, gather evidence, wait, or stop (done, skip, fail);
- `assess()`: what a managed HAVIP needs now (the reconciler's plan; inspect shows it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .ids import instance_type_of
from .model import HaVip, Intent, IntentKind, Reason, Signal, SignalState
from .record import CLOCK_SKEW, Record, Removal, iso, left_digest

# act: make the intent's call; gather: read the evidence (record, ECS) for this view, then decide
# again; wait: observe again after a poll interval; done: the intent already holds; skip: final,
# deliberately nothing; fail: final, a permanent problem.
Action = Literal["act", "gather", "wait", "done", "skip", "fail"]

# Statuses in which UnassociateHaVip and AssociateHaVip are accepted (the API's usage notes).
SETTLED = frozenset({"Available", "InUse"})
# An event may carry a time slightly ahead of ours (clock skew between Alibaba Cloud's services
# and FC): up to this many seconds is taken as "now".
FUTURE_SKEW_SECONDS = 300.0
# The only ECS status that makes a node a survivor. ECS proves death, never health: a hung node
# is still Running, so this is a necessary condition, not a sufficient one.
RUNNING = "Running"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: Reason
    force: bool = False
    instance_type: str | None = None
    needs_ecs: bool = False  # with `gather`: read the nodes' ECS states too
    # With `act` on a removal: what the HAVIP holds once the removals in flight have landed
    # (the node included) — what the record says it held before.
    holds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """The policy, as plain values."""

    force: str = "auto"  # auto | never
    allow_last_instance: bool = False
    require_survivor: bool = True
    cooldown: float = 300.0  # s after a forced master removal before another automatic one
    hold: float = 300.0  # s a node must be Running again before failback (0: none)


@dataclass(frozen=True)
class Known:
    """What this invocation knows beyond the view: its own calls and the API's refusals."""

    ours: Literal["accepted", "maybe"] | None = None  # our call on this intent's node (maybe: answer lost)
    gone: frozenset[str] = frozenset()  # other nodes this invocation took off (or may have)
    master_claim: str | None = None  # the master, as the API's last Forbidden.UnassociateMaster said


@dataclass(frozen=True)
class Evidence:
    """What was read for the view at hand before a call. None inside: could not be read."""

    record: Record | None
    ecs: Mapping[str, str] | None  # node -> ECS status ("Absent": ECS does not know it)


def settled(havip: HaVip) -> bool:
    return havip.status in SETTLED


BUSY: Mapping[str, Reason] = {
    "Unassociating": "havip-unassociating",
    "Associating": "havip-associating",
    "Creating": "havip-status-Creating",
    "Deleting": "havip-status-Deleting",
}


def busy_reason(havip: HaVip) -> Reason:
    return BUSY.get(havip.status, "havip-status-unknown")


def running_besides(nodes: Iterable[str], node: str, ecs: Mapping[str, str]) -> bool:
    """Is a node other than `node` Running in ECS: would someone carry the VIP?"""
    return any(ecs.get(n) == RUNNING for n in nodes if n != node)


def whole_again(nodes: Collection[str], removal: Removal) -> bool:
    """Does the HAVIP hold as many nodes as before this removal (someone made it whole)?"""
    return len(nodes) >= removal.held


def failback_due(removal: Removal, now: float, hold: float) -> bool:
    """Has the node been Running again for the hold? A hold of 0 means no hold."""
    return hold <= 0 or (removal.up_since is not None and now - removal.up_since >= hold)


def screen(*, state: SignalState, event_age: float | None = None, max_event_age: float = 0.0) -> Decision | None:
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
    intent: Intent,
    havip: HaVip | None,
    *,
    known: Known = Known(),
    evidence: Evidence | None = None,
    rules: Rules = Rules(),
    now: float = 0.0,
) -> Decision:
    """One decision for one intent. `evidence` None: not read for this view yet."""
    if havip is None:
        return Decision("fail", "havip-not-found")
    if intent.kind == "remove":
        return _remove(intent, havip, known=known, evidence=evidence, rules=rules, now=now)
    return _add(intent, havip, known=known, evidence=evidence, rules=rules, now=now)


def _remove(
    intent: Intent, havip: HaVip, *, known: Known, evidence: Evidence | None, rules: Rules, now: float
) -> Decision:
    node = intent.node
    listed = havip.associated_instances
    if node not in listed:
        if known.ours is None and not settled(havip):
            # It may be the node being associated right now: decide once the HAVIP has settled.
            return Decision("wait", busy_reason(havip))
        return Decision("done", "not-associated")
    if known.ours == "accepted":
        # Accepted but not visible yet (the API is asynchronous, describes may lag): watch,
        # never call again.
        return Decision("wait", "waiting-for-completion")
    if not settled(havip):
        return Decision("wait", busy_reason(havip))
    # What the HAVIP holds once our own calls have landed: the last-instance guard counts what we
    # already took off, even while a describe still lists it.
    remaining = tuple(n for n in listed if n not in known.gone)
    if len(remaining) < 2 and not rules.allow_last_instance:
        return Decision("skip", "last-instance")  # nobody would hold the VIP
    if len(remaining) < len(listed) or (
        known.master_claim is not None
        and known.master_claim in listed
        and havip.master_instance_id != known.master_claim
    ):
        # The view is older than our own last call or than the API's refusal: nothing may be
        # decided on it, least of all "the API says it is the master" over an old list.
        return Decision("wait", "stale-view")

    is_master = havip.master_instance_id == node
    ordered = intent.requested_force is not None
    if ordered and is_master and not intent.requested_force:
        return Decision("skip", "master-force-not-requested")  # a person said not to force
    if not ordered and is_master and rules.force != "auto":
        return Decision("skip", "master-force-never")
    reason: Reason = "master-failed" if is_master else "standby-failed"
    force = bool(intent.requested_force) if ordered else is_master
    needs_ecs = rules.require_survivor or ordered
    if evidence is None:
        return Decision("gather", reason, needs_ecs=needs_ecs)
    record = evidence.record
    if record is None:
        # Without it a lagging describe could hide a node another invocation just took off.
        return Decision("fail", "record-unreadable")
    # Removals other invocations made lately and nobody has seen finish: a describe may still
    # list those nodes, so the last-instance guard counts them as gone.
    flying = record.in_flight(now, besides=node) & set(remaining)
    if len(remaining) - len(flying) < 2 and not rules.allow_last_instance:
        return Decision("skip", "last-instance")
    if (
        not ordered
        and is_master
        and record.forced is not None
        and -CLOCK_SKEW <= now - record.forced.at < rules.cooldown
    ):
        # Flap suppression: a pair whose master was just forced off is not forced again
        # automatically; a person can still order it.
        return Decision("skip", "cooldown")
    if rules.require_survivor and not ordered:
        # Act only if the active is down and a passive is up: moving the VIP to a dead node
        # turns a possible false alarm into a certain outage. A person's Force is an order.
        if evidence.ecs is None:
            return Decision("fail", "survivor-state-unknown")
        if not running_besides((n for n in remaining if n not in flying), node, evidence.ecs):
            return Decision("skip", "no-running-survivor")
    instance_type = intent.instance_type or havip.associated_instance_type or instance_type_of(node)
    holds = tuple(n for n in remaining if n not in flying)
    return Decision("act", reason, force=force, instance_type=instance_type, holds=holds)


def _add(
    intent: Intent, havip: HaVip, *, known: Known, evidence: Evidence | None, rules: Rules, now: float
) -> Decision:
    node = intent.node
    listed = havip.associated_instances
    if node in listed:
        return Decision("done", "failback-standby") if settled(havip) else Decision("wait", busy_reason(havip))
    if known.ours == "accepted":
        return Decision("wait", "waiting-for-completion")  # asynchronous: not listed yet
    if not settled(havip):
        return Decision("wait", busy_reason(havip))
    if evidence is None:
        return Decision("gather", "failback-standby", needs_ecs=True)
    if evidence.record is None:
        return Decision("fail", "record-unreadable")
    removal = evidence.record.removals.get(node)
    if removal is None:
        # Only a node whose removal this function recorded (and signed) is ever put back.
        return Decision("skip", "not-removed-by-function")
    if whole_again(listed, removal):
        return Decision("skip", "pair-already-whole")  # never more nodes than it held before
    if left_digest(listed) != removal.left:
        # Not the nodes this removal left: people changed the HAVIP since, or a later removal
        # is to be undone first.
        return Decision("skip", "nodes-changed-since-removal")
    if not failback_due(removal, now, 0.0 if intent.drill else rules.hold):
        return Decision("skip", "failback-hold")
    if evidence.ecs is None:
        return Decision("fail", "node-state-unknown")
    if evidence.ecs.get(node) != RUNNING:
        return Decision("skip", "node-not-running")
    instance_type = havip.associated_instance_type or instance_type_of(node)
    return Decision("act", "failback-standby", instance_type=instance_type)


# ---- a drill: only on a pair that can spare its standby for a few seconds ---------------------


@dataclass(frozen=True)
class DrillPlan:
    standby: str | None  # the node it takes off and puts back (None: refused)
    reason: Reason | None  # why it is refused
    message: str


def drill_plan(havip: HaVip, record: Record, ecs: Mapping[str, str]) -> DrillPlan:
    """Which standby a drill takes off, or why it refuses: never unless the HAVIP is settled and
    whole (no removal of the function's to undo, no drill unfinished) and every node is Running;
    never the master (the VIP does not move)."""
    nodes = havip.associated_instances
    if not settled(havip):
        return DrillPlan(None, "drill-havip-busy", f"the HAVIP is {havip.status or 'in an unknown status'}")
    if record.drill is not None:
        return DrillPlan(None, "drill-pair-not-whole", f"a drill on {record.drill.node} is not finished yet")
    if record.removals:
        off = ", ".join(sorted(record.removals))
        return DrillPlan(None, "drill-pair-not-whole", f"the function took {off} off and has not put it back")
    if len(nodes) < 2:
        return DrillPlan(None, "drill-pair-not-whole", f"the HAVIP holds {len(nodes)} node(s): no standby to spare")
    down = [f"{n} is {ecs.get(n, 'Absent')}" for n in nodes if ecs.get(n) != RUNNING]
    if down:
        return DrillPlan(None, "drill-node-not-running", "; ".join(down) + " in ECS")
    master = havip.master_instance_id
    if master not in nodes:
        return DrillPlan(None, "drill-no-master", "the HAVIP names no master: which node is the standby is unknown")
    standby = sorted(n for n in nodes if n != master)[0]
    return DrillPlan(standby, None, f"{standby} is taken off and put back; the master {master} is not touched")


# ---- the reconciler's plan: what a managed HAVIP needs, from its view, its record and ECS -----

PlanKind = Literal["failover", "failback", "confirm", "mark-up", "mark-down", "forget", "end-drill"]
PlanReason = Literal[
    "master-stopped",
    "master-stopping",
    "master-absent",
    "failback-standby",
    "seen-off-the-havip",
    "back-on-the-havip",
    "instance-gone",
    "pair-already-whole",
    "running-again",
    "not-running",
    "drill-over",
]
MASTER_DOWN: Mapping[str, PlanReason] = {
    "Stopped": "master-stopped",
    "Stopping": "master-stopping",
    "Absent": "master-absent",
}
# The plans that change a HAVIP, and the intent each becomes; the rest only keep the record true.
CHANGES: Mapping[PlanKind, IntentKind] = {"failover": "remove", "failback": "add"}


@dataclass(frozen=True)
class Plan:
    kind: PlanKind
    node: str
    reason: PlanReason


@dataclass(frozen=True)
class Assessment:
    plans: tuple[Plan, ...]
    degraded: bool
    expected_nodes: int
    restore: tuple[str, ...]  # what would make the pair whole again, for people
    waiting: tuple[str, ...]  # what is held back and why (failback hold, busy HAVIP)


def lifo(removals: Mapping[str, Removal]) -> list[Removal]:
    """Removals in the order failback undoes them: the latest first (ties by node id)."""
    return sorted(removals.values(), key=lambda r: (-r.at, r.node))


def assess(
    *,
    havip: HaVip,
    record: Record,
    ecs: Mapping[str, str],
    now: float,
    failback: str = "off",
    hold: float = 300.0,
) -> Assessment:
    """What a pair needs now. `ecs`: node -> status ("Absent" when ECS does not know it)."""
    nodes = havip.associated_instances
    master = havip.master_instance_id
    plans: list[Plan] = []
    restore: list[str] = []
    waiting: list[str] = []
    calm = settled(havip)
    if not calm:
        waiting.append(f"the HAVIP is {havip.status or 'in an unknown status'}: nothing is done until it settles")
    master_status = ecs.get(master, "Absent") if master else ""
    if calm and master and master_status in MASTER_DOWN:
        if running_besides(nodes, master, ecs):
            plans.append(Plan("failover", master, MASTER_DOWN[master_status]))
        else:
            waiting.append(f"the master {master} is {master_status} but no other node is Running: kept")
    expected = max([2, *(r.held for r in record.removals.values())])
    projected = set(nodes)  # the nodes once the adds planned so far have landed
    later: list[str] = []  # removals made after this one and not undone in this plan
    coming_back = False  # a recorded node on its way back (failback): no other advice needed
    drilled = record.drill.node if record.drill else None
    if drilled is not None and drilled not in record.removals:
        plans.append(Plan("end-drill", drilled, "drill-over"))  # put back (or never taken off)
    for r in lifo(record.removals):
        node, status = r.node, ecs.get(r.node, "Absent")
        # a drill's standby is put back at once, whatever the failback settings say
        fb, h = ("standby", 0.0) if node == drilled else (failback, hold)
        taken = f"{node}, taken off at {iso(r.at)},"
        if node in nodes:
            if r.in_flight(now):
                waiting.append(f"the removal of {node} (at {iso(r.at)}) may still be under way")
            elif r.recent(now):
                pass  # a describe a little behind another may still list it: forgotten a little later
            else:
                plans.append(Plan("forget", node, "back-on-the-havip"))  # a person (or a failback) put it back
            continue
        if r.state == "removing":
            plans.append(Plan("confirm", node, "seen-off-the-havip"))
        if status == "Absent":
            plans.append(Plan("forget", node, "instance-gone"))  # it never comes back
            restore.append(f"{taken} no longer exists: associate a new node with AssociateHaVip")
            continue
        if whole_again(projected, r):
            plans.append(Plan("forget", node, "pair-already-whole"))  # someone made it whole: not fought
            continue
        later.append(node)  # off the HAVIP, and may come back: removals before it wait for it
        if status != RUNNING:
            if r.up_since is not None:
                plans.append(Plan("mark-down", node, "not-running"))
            restore.append(
                f"{taken} is {status}: start it"
                + ("; it is re-associated as standby once Running" if fb == "standby" else "")
            )
            continue
        if fb != "standby":
            restore.append(f"{node} is Running again: associate it (AssociateHaVip), or set HAVIP_FAILBACK=standby")
            continue
        coming_back = True
        if h > 0 and r.up_since is None:
            plans.append(Plan("mark-up", node, "running-again"))
            waiting.append(f"{node} is Running again: re-associated as standby after {int(h)} s")
        elif not failback_due(r, now, h):
            assert r.up_since is not None
            waiting.append(f"{node} is Running since {iso(r.up_since)}: re-associated at {iso(r.up_since + h)}")
        elif left_digest(projected) != r.left and later[:-1]:
            waiting.append(f"{node} is re-associated once {', '.join(later[:-1])} (removed after it) is back")
        elif left_digest(projected) != r.left:
            coming_back = False
            restore.append(
                f"{taken} is Running, but the HAVIP no longer holds the nodes its removal left: "
                "associate it by hand (AssociateHaVip) if it should return"
            )
        elif not calm or any(p.kind == "failover" for p in plans):
            waiting.append(f"{node} waits for the HAVIP to settle before it is re-associated")
        else:
            plans.append(Plan("failback", node, "failback-standby"))
            projected.add(node)
            later.pop()
    degraded = len(nodes) < expected
    if degraded and not restore and not coming_back:
        restore.append(f"the HAVIP holds {len(nodes)} of {expected} nodes: associate another node (AssociateHaVip)")
    return Assessment(tuple(plans), degraded, expected, tuple(restore), tuple(waiting))


def recovered_nodes(signals: Sequence[Signal]) -> list[str]:
    return sorted({s.instance_id for s in signals if s.state == "recovered"})
