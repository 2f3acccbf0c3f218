"""Keeping every managed pair whole: the reconciler (FC's timer), failback, inspect.

An event is a hint that brings evidence; the reconcile is the same decision without one. For
each managed HAVIP (HAVIP_IDS, or the tag HAVIP_TAG) the reconciler reads the HAVIP (a few
paged DescribeHaVips for all of them), the ECS states of every node (one DescribeInstanceStatus
per 100 nodes) and the function's record on the HAVIP (its tags), and lets the pure `assess()`
say what each pair needs:

- a master ECS shows not Running while another node is: the failover a missed event would have
  done, driven by the same engine (`Failover`) under the same safety rules;
- a node the function removed, Running again for the hold: re-associated as a standby
  (HAVIP_FAILBACK=standby), waiting until `Associating` has finished;
- the record kept true (a node back on the HAVIP, an instance deleted);
- fewer nodes than the pair should have: `degraded`, with what would restore it.

Inspect is the same reading and assessment with no call that changes anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from . import record
from .decide import Assessment, Plan, assess, decide_failback
from .failover import Failover, Outcome, error_dict, poll_interval
from .ids import instance_type_of
from .model import HaVip, Signal
from .observe import pages
from .vpc import MIN_CALL_TIMEOUT, VpcError

log = structlog.get_logger("havip_failover")


@dataclass(frozen=True)
class LifecyclePolicy:
    ids: tuple[str, ...] = ()
    tag: tuple[str, str] | None = None
    failback: str = "off"  # "off" | "standby"
    hold: float = 300.0
    dry_run: bool = False

    @property
    def managed(self) -> bool:
        return bool(self.ids) or self.tag is not None


@dataclass
class PairReport:
    havip: HaVip
    record: record.Record
    ecs: dict[str, str]
    assessment: Assessment
    done: list[str] = field(default_factory=list)  # record changes made

    def to_result(self) -> dict[str, Any]:
        a = self.assessment
        return {
            "haVipId": self.havip.ha_vip_id,
            "status": self.havip.status,
            "nodes": list(self.havip.associated_instances),
            "master": self.havip.master_instance_id,
            "ecs": dict(sorted(self.ecs.items())),
            "record": self.record.public(),
            "degraded": a.degraded,
            "expectedNodes": a.expected_nodes,
            "restore": list(a.restore),
            "waiting": list(a.waiting),
            "plan": [{"action": p.kind, "node": p.node, "reason": p.reason} for p in a.plans],
        }


@dataclass
class LifecycleRun:
    pairs: list[PairReport]
    outcomes: list[Outcome]
    note: str | None = None  # why nothing was looked at
    error: dict[str, Any] | None = None  # the managed HAVIPs could not be read


def situation_id(havip: HaVip, rec: record.Record, node: str, why: str) -> str:
    """The same for every reconcile run of the same situation (so the same ClientToken), new once
    anything the function did since changed it (the record's forced time, the nodes)."""
    parts = [havip.ha_vip_id, node, why, str(rec.forced_at or ""), ",".join(sorted(havip.associated_instances))]
    return "reconcile:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class Reconciler:
    def __init__(self, engine: Failover, policy: LifecyclePolicy) -> None:
        self.engine = engine
        self.vpc = engine.vpc
        self.policy = policy

    # ---- reading ------------------------------------------------------------------------

    def survey(self, region: str, only_nodes: Sequence[str] = ()) -> LifecycleRun:
        """Every managed pair, assessed, with no call that changes anything (inspect)."""
        if not self.policy.managed:
            return LifecycleRun(
                [], [], note="no HAVIP is managed: set HAVIP_IDS, or HAVIP_TAG (key=value) and tag the HAVIPs"
            )
        e = self.engine
        tags = (self.policy.tag,) if self.policy.tag else ()
        havips = [
            h for page in pages(self.vpc, e.retrying, e.call_timeout, region, self.policy.ids, tags=tags) for h in page
        ]
        if self.policy.ids:  # an API that ignores the filter must not widen what we manage
            havips = [h for h in havips if h.ha_vip_id in self.policy.ids]
        records = {h.ha_vip_id: record.parse(h.tags) for h in havips}
        if only_nodes:  # a recovery signal: the pairs that hold or once held these nodes
            wanted = set(only_nodes)
            havips = [h for h in havips if wanted & (set(h.associated_instances) | set(records[h.ha_vip_id].removed))]
        nodes = sorted({n for h in havips for n in (*h.associated_instances, *records[h.ha_vip_id].removed)})
        ecs = e.survivors.states(region, nodes) if nodes else {}
        now = e.wall()
        pairs = []
        for h in havips:
            rec = records[h.ha_vip_id]
            mine = {n: ecs.get(n, "Absent") for n in (*h.associated_instances, *rec.removed)}
            assessment = assess(
                havip=h,
                removed={n: (r.at, r.size) for n, r in rec.removed.items()},
                up_since=rec.up_since,
                ecs=mine,
                now=now,
                failback=self.policy.failback,
                hold=self.policy.hold,
            )
            pairs.append(PairReport(h, rec, mine, assessment))
        return LifecycleRun(pairs, [])

    # ---- acting ----------------------------------------------------------------------------

    def reconcile(self, region: str, only_nodes: Sequence[str] = ()) -> LifecycleRun:
        run = self.survey(region, only_nodes)
        failovers: list[tuple[Signal, str | None]] = []
        for pair in run.pairs:
            for plan in pair.assessment.plans:
                if plan.kind == "failover":
                    failovers.append((self._failover_signal(pair, plan), region))
        if failovers:
            run.outcomes.extend(self.engine.run(failovers))
        for pair in run.pairs:
            for plan in pair.assessment.plans:
                if plan.kind == "failback":
                    run.outcomes.append(self._failback(region, pair, plan))
                elif plan.kind != "failover" and not self.policy.dry_run:
                    self._keep_record(region, pair, plan)
        structlog.contextvars.unbind_contextvars("eventId")  # the engine bound the last signal's
        for pair in run.pairs:
            a = pair.assessment
            log.info(
                "havip.pair",
                haVipId=pair.havip.ha_vip_id,
                nodes=list(pair.havip.associated_instances),
                master=pair.havip.master_instance_id,
                ecs=pair.ecs,
                degraded=a.degraded,
                restore=list(a.restore),
                waiting=list(a.waiting),
                plan=[f"{p.kind}:{p.node}" for p in a.plans],
                recordChanges=pair.done,
            )
        return run

    def _failover_signal(self, pair: PairReport, plan: Plan) -> Signal:
        status = pair.ecs.get(plan.node, "Absent")
        return Signal(
            source="reconcile",
            event_id=situation_id(pair.havip, pair.record, plan.node, plan.reason),
            instance_id=plan.node,
            state="failed",
            detail=f"reconcile: ecs {status} (the master is not Running; another node is)",
            ha_vip_id=pair.havip.ha_vip_id,
            dry_run=self.policy.dry_run or None,  # the engine's own policy may not say so (a signal's dryRun)
        )

    def _keep_record(self, region: str, pair: PairReport, plan: Plan) -> None:
        h = pair.havip.ha_vip_id
        e = self.engine
        if plan.kind == "mark-up":
            written = e.tag(region, h, record.up_tag(plan.node, e.wall()))
        else:
            keys = [record.UP + plan.node] if plan.kind == "mark-down" else record.node_keys(plan.node)
            written = e.untag(region, h, keys)
        if written:
            pair.done.append(f"{plan.kind}:{plan.node}")

    def _failback(self, region: str, pair: PairReport, plan: Plan) -> Outcome:
        """Re-associate a node the function removed, as a standby, and wait for `Associating` to end."""
        e = self.engine
        start = e.clock.monotonic()
        removal = pair.record.removed[plan.node]
        token = (
            "havip-failback-"
            + hashlib.sha256(f"{pair.havip.ha_vip_id}|{plan.node}|{int(removal.at)}".encode()).hexdigest()[:40]
        )
        signal = Signal(
            "reconcile",
            f"failback:{pair.havip.ha_vip_id}:{plan.node}:{int(removal.at)}",
            plan.node,
            "recovered",
            f"ecs Running since {int(pair.record.up_since.get(plan.node, 0))}",
            ha_vip_id=pair.havip.ha_vip_id,
        )
        out = Outcome(signal, region, pair.havip.ha_vip_id, "pending", plan.reason, force=False, client_token=token)
        out.before = pair.havip
        out.survivors = dict(pair.ecs)
        if self.policy.dry_run:
            out.outcome = "planned"
            return e.finish(out, start)
        h = pair.havip.ha_vip_id
        retries = 0
        waited = 0.0
        accepted = False
        answered_at = float("-inf")
        look_at = start  # the cadence of the looks counts from here
        while True:
            # Observe: a look after our last call's answer (never decide on an older one).
            try:
                view = e.observer.look(region, h, not_before=answered_at)
            except VpcError as err:
                out.outcome = "pending" if err.transient and accepted else "failed"
                out.error = error_dict(err)
                return e.finish(out, start)
            out.after = view.havip
            decision = decide_failback(havip=view.havip, node=plan.node, held_before=removal.size, accepted=accepted)
            if decision.action == "done":
                out.outcome = "associated" if accepted else "already-associated"
                e.untag(region, h, record.node_keys(plan.node))  # back on the HAVIP: its entry is done with
                return e.finish(out, start)
            if decision.action in ("skip", "fail"):
                out.outcome = "skipped" if decision.action == "skip" else "failed"
                out.reason = decision.reason
                return e.finish(out, start)
            if decision.action == "wait":
                interval = poll_interval(waited)
                delay = max(0.0, look_at + interval - e.clock.monotonic())
                if not e.deadline.allows(delay):
                    out.outcome = "pending"
                    return e.finish(out, start)
                e.deadline.sleep(delay)
                waited += interval
                look_at = e.clock.monotonic()
                continue
            # Act: AssociateHaVip (same ClientToken on every attempt).
            if e.deadline.remaining() < MIN_CALL_TIMEOUT:
                out.outcome = "pending"
                return e.finish(out, start)
            out.attempts += 1
            e.observer.forget(h)
            instance_type = decision.instance_type or instance_type_of(plan.node)
            look_at = e.clock.monotonic()
            try:
                request_id = self.vpc.associate_ha_vip(
                    region, h, plan.node, instance_type=instance_type, client_token=token, timeout=e.call_timeout()
                )
            except VpcError as err:
                answered_at = e.clock.monotonic()
                if err.request_id:
                    out.api_request_ids.append(err.request_id)
                if err.code.startswith("CountLimitExceed"):
                    out.outcome, out.reason = "skipped", "instance-limit"
                    out.error = error_dict(err)
                    return e.finish(out, start)
                if not err.transient or not e.pause(retries, err.code):
                    out.outcome = "failed"
                    out.error = error_dict(err)
                    return e.finish(out, start)
                retries += 1
                continue
            answered_at = e.clock.monotonic()
            accepted = True
            out.api_request_ids.append(request_id)


def recovered_nodes(signals: Sequence[Signal]) -> list[str]:
    return sorted({s.instance_id for s in signals if s.state == "recovered"})
