"""Keeping every managed pair whole: the reconciler (FC's timer, a recovery signal) and inspect.

An event is a hint that brings evidence; the reconcile is the same decision without one. For
each managed HAVIP (HAVIP_IDS, or the tag HAVIP_TAG) the reconciler reads the HAVIP (a few paged
DescribeHaVips for all of them), the ECS states of every node (DescribeInstanceStatus, 50 a
page) and the function's record on the HAVIP (its tags, verified with the record key), and lets
the pure `assess()` plan what each pair needs. The plans that change a HAVIP become intents for
the one engine — a master ECS shows down while another node is Running (`remove`), a node this
function removed is Running again for the hold (`add`, failback) — and the rest keep the record
true (a removal seen done, a node seen Running again, an entry with nothing left to do), in one
batched write per HAVIP, before the intents run.

With events on (HAVIP_EVENT_BUS), the reconciler also keeps how each pair was last reported
(`havip-failover:pair`, degraded or whole) and, when the pair as it stands after the run's
actions differs, writes the new state and says so once (`PairReport.change`): in the upkeep's
batch when the run has no change for that pair, else right after its intents.

Inspect is the same reading and planning, with no call that changes anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import structlog

from . import record
from .decide import CHANGES, Assessment, Plan, assess
from .engine import Engine
from .model import HaVip, Intent
from .observe import View, pages
from .record import PairState, Record, Removal
from .result import RecordWrite, Report

log = structlog.get_logger("havip_failover")


@dataclass(frozen=True)
class LifecyclePolicy:
    ids: tuple[str, ...] = ()
    tag: tuple[str, str] | None = None
    failback: str = "off"  # "off" | "standby"
    hold: float = 300.0
    dry_run: bool = False
    track_pairs: bool = False  # keep the pair's reported state (events are published)

    @property
    def managed(self) -> bool:
        return bool(self.ids) or self.tag is not None


@dataclass
class PairReport:
    """One managed HAVIP: as read, what was planned, and how it stands after the actions."""

    havip: HaVip
    record: Record
    ecs: dict[str, str]
    assessment: Assessment  # of the state as read: what the plan was made from
    taken_at: float
    after: tuple[HaVip, Record, Assessment] | None = None  # once the plan was carried out
    done: list[str] = field(default_factory=list)  # record changes made
    change: PairState | None = None  # became degraded / whole again in this run (track_pairs)
    record_errors: list[tuple[list[str], dict[str, Any]]] = field(default_factory=list)  # upkeep writes that failed

    @property
    def now(self) -> tuple[HaVip, Record, Assessment]:
        """The pair as it stands: after the plan was carried out, else as read."""
        return self.after or (self.havip, self.record, self.assessment)

    def to_result(self) -> dict[str, Any]:
        havip, rec, a = self.now
        return {
            "haVipId": havip.ha_vip_id,
            "status": havip.status,
            "nodes": list(havip.associated_instances),
            "master": havip.master_instance_id,
            "ecs": dict(sorted(self.ecs.items())),
            "record": rec.public(),
            "degraded": a.degraded,
            "expectedNodes": a.expected_nodes,
            "restore": list(a.restore),
            "waiting": list(a.waiting),
            # What this run planned (and did: see `results`), from the state as it read it.
            "plan": [{"action": p.kind, "node": p.node, "reason": p.reason} for p in self.assessment.plans],
            "recordChanges": list(self.done),
        }

    @property
    def degraded(self) -> bool:
        return self.now[2].degraded


@dataclass
class LifecycleRun:
    pairs: list[PairReport]
    reports: list[Report]
    note: str | None = None  # why nothing was looked at
    error: dict[str, Any] | None = None  # the managed HAVIPs could not be read


SITUATION_SECONDS = 3600  # a reconcile situation that lasts longer than this is a new incident


def situation_id(havip: HaVip, rec: Record, node: str, why: str, now: float) -> str:
    """The same for every reconcile run of the same situation (so the same ClientToken), new once
    anything the function did since changed it (the last forced removal, the nodes) — and at
    least every hour: if the same situation comes back (people undid the change and the record
    with it), the API must not answer with an old call's replay instead of acting."""
    forced = str(int(rec.forced.at)) if rec.forced else ""
    hour = str(int(now // SITUATION_SECONDS))
    parts = [havip.ha_vip_id, node, why, forced, ",".join(sorted(havip.associated_instances)), hour]
    return "reconcile:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class Reconciler:
    def __init__(self, engine: Engine, policy: LifecyclePolicy) -> None:
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
        taken_at = e.clock.monotonic()
        havips = [
            h for page in pages(self.vpc, e.retrying, e.call_timeout, region, self.policy.ids, tags=tags) for h in page
        ]
        if self.policy.ids:  # an API that ignores the filter must not widen what we manage
            havips = [h for h in havips if h.ha_vip_id in self.policy.ids]
        now = e.wall()
        records = {h.ha_vip_id: record.parse(h.tags, h.ha_vip_id, e.key, now) for h in havips}
        nodes = sorted({n for h in havips for n in (*h.associated_instances, *records[h.ha_vip_id].removals)})
        ecs, holders = e.survivors.read(region, nodes) if nodes else ({}, {})
        if only_nodes:
            # A recovery signal: the pairs that hold or once held these nodes, or an ENI attached to one.
            wanted = set(only_nodes)
            havips = [
                h
                for h in havips
                if wanted
                & {
                    m
                    for n in (*h.associated_instances, *records[h.ha_vip_id].removals)
                    for m in (n, holders.get(n) or n)
                }
            ]
        pairs = []
        for h in havips:
            rec = records[h.ha_vip_id]
            mine = {n: ecs.get(n, "Absent") for n in (*h.associated_instances, *rec.removals)}
            pairs.append(PairReport(h, rec, mine, self._assess(h, rec, mine, now), taken_at))
        return LifecycleRun(pairs, [])

    def _assess(self, havip: HaVip, rec: Record, ecs: dict[str, str], now: float) -> Assessment:
        p = self.policy
        return assess(havip=havip, record=rec, ecs=ecs, now=now, failback=p.failback, hold=p.hold)

    # ---- acting ----------------------------------------------------------------------------

    def reconcile(self, region: str, only_nodes: Sequence[str] = ()) -> LifecycleRun:
        run = self.survey(region, only_nodes)
        track = self.policy.track_pairs and not self.policy.dry_run
        if not self.policy.dry_run:
            for pair in run.pairs:  # before the intents: a failback's own record write comes last
                # No change for this pair in this run: it stands after the run as read now.
                still = track and not any(p.kind in CHANGES for p in pair.assessment.plans)
                self._keep_record(region, pair, self._pair_change(pair, pair.assessment.degraded) if still else None)
        intents: list[tuple[Intent, View | None]] = []
        for pair in run.pairs:
            view = View(pair.havip, pair.taken_at)
            for plan in pair.assessment.plans:
                if plan.kind in CHANGES:
                    intents.append((self._intent(region, pair, plan), view))
        run.reports = self.engine.drive(intents)
        structlog.contextvars.unbind_contextvars("eventId")
        now = self.engine.wall()
        for pair in run.pairs:
            self._after(region, pair, now)
            if track and any(p.kind in CHANGES for p in pair.assessment.plans):
                self._write_pair_change(region, pair, self._pair_change(pair, pair.degraded))
            havip, _, now_a = pair.now
            log.info(
                "havip.pair",
                haVipId=havip.ha_vip_id,
                nodes=list(havip.associated_instances),
                master=havip.master_instance_id,
                ecs=pair.ecs,
                degraded=pair.degraded,
                restore=list(now_a.restore),
                waiting=list(now_a.waiting),
                plan=[f"{p.kind}:{p.node}" for p in pair.assessment.plans],
                recordChanges=pair.done,
                ignoredRecordEntries=[f"{i.key}: {i.why}" for i in pair.record.ignored],
            )
        return run

    def _intent(self, region: str, pair: PairReport, plan: Plan) -> Intent:
        h = pair.havip
        status = pair.ecs.get(plan.node, "Absent")
        if CHANGES[plan.kind] == "remove":
            return Intent(
                kind="remove",
                region_id=region,
                ha_vip_id=h.ha_vip_id,
                node=plan.node,
                source="reconcile",
                incident=situation_id(h, pair.record, plan.node, plan.reason, self.engine.wall()),
                detail=f"reconcile: the master is {status} in ECS while another node is Running",
                dry_run=self.policy.dry_run,
            )
        removal = pair.record.removals[plan.node]
        return Intent(
            kind="add",
            region_id=region,
            ha_vip_id=h.ha_vip_id,
            node=plan.node,
            source="reconcile",
            # One restoration per removal: every retry of it shares one ClientToken.
            incident=f"failback:{h.ha_vip_id}:{plan.node}:{record.iso(removal.at)}",
            detail=f"failback: taken off at {record.iso(removal.at)}, {status} in ECS",
            dry_run=self.policy.dry_run,
            drill=pair.record.drill is not None and pair.record.drill.node == plan.node,
        )

    def _pair_change(self, pair: PairReport, degraded: bool) -> PairState | None:
        """The pair's new state if it differs from the one last reported (none yet: whole)."""
        recorded = pair.record.pair.state if pair.record.pair else "whole"
        state: Literal["degraded", "whole"] = "degraded" if degraded else "whole"
        return None if state == recorded else PairState(state, float(int(self.engine.wall())))

    def _write_pair_change(self, region: str, pair: PairReport, change: PairState | None) -> None:
        if change is None:
            return
        h = pair.havip.ha_vip_id
        tags = dict([record.pair_tag(self.engine.key, h, change)])
        self._note(pair, self.engine.write_record(region, h, tags, []))
        pair.change = change

    @staticmethod
    def _note(pair: PairReport, write: RecordWrite) -> None:
        pair.done.extend(write.written)
        if write.error is not None:
            pair.record_errors.append((list(write.written), write.error))

    def _keep_record(self, region: str, pair: PairReport, change: PairState | None = None) -> None:
        """The record-only plans of one HAVIP, in one batched write (and one batched clear), with
        the pair's new reported state when it changed."""
        key, h, now = self.engine.key, pair.havip.ha_vip_id, self.engine.wall()
        updated: dict[str, Removal] = {}
        forget: list[str] = []
        clear: list[str] = []
        for plan in pair.assessment.plans:
            current = updated.get(plan.node) or pair.record.removals.get(plan.node)
            if plan.kind == "forget":
                forget.append(plan.node)
            elif plan.kind == "end-drill":
                clear.append(record.DRILL)
            elif current is not None and plan.kind == "confirm":
                updated[plan.node] = record.confirmed(current)
            elif current is not None and plan.kind == "mark-up":
                updated[plan.node] = replace(current, up_since=float(int(now)))
            elif current is not None and plan.kind == "mark-down":
                updated[plan.node] = replace(current, up_since=None)
        tags = dict(record.removal_tag(key, h, r) for n, r in updated.items() if n not in forget)
        clear += [record.REMOVED + n for n in forget]
        if change is not None:
            tags.update([record.pair_tag(key, h, change)])
            pair.change = change
        if not tags and not clear:
            return
        self._note(pair, self.engine.write_record(region, h, tags, clear))

    def _after(self, region: str, pair: PairReport, now: float) -> None:
        """How the pair stands once its plan was carried out: its last view and its record with
        the writes that landed (inspect and a run with nothing to do: as read)."""
        facts = self.engine.facts(region, pair.havip.ha_vip_id)
        if facts.last_view is None and not facts.tags:
            return
        havip = facts.last_view.havip if facts.last_view and facts.last_view.havip else pair.havip
        tags = dict(pair.havip.tags)
        for k, v in facts.tags.items():
            if v is None:
                tags.pop(k, None)
            else:
                tags[k] = v
        rec = record.parse(tags.items(), havip.ha_vip_id, self.engine.key, now)
        nodes = {*havip.associated_instances, *rec.removals}
        ecs = {n: pair.ecs.get(n, "Absent") for n in nodes}
        pair.after = (havip, rec, self._assess(havip, rec, ecs, now))


__all__ = ["LifecyclePolicy", "LifecycleRun", "PairReport", "Reconciler", "situation_id"]
