"""The one engine: every change to a HAVIP goes through one machine, whoever asked for it.

An *intent* (model.Intent) is one change — take a node off (`remove`), put one back (`add`) —
made by any driver: an event's failed node, the reconciler's repair or failback, a person's
order. Each intent is driven through explicit states, and each state holds the view it decides
on (the HAVIP as one describe showed it, and when that look started):

    OBSERVE  look at the HAVIP now (never before our own last call on it was answered)
    DECIDE   the pure `decide()` on the view, what this invocation knows and the evidence
    GATHER   read the evidence for this view: the record (ListTagResources) and ECS, side by side
    ACT      the call (UnassociateHaVip / AssociateHaVip), with the intent's ClientToken
    CONFIRM  something is under way (ours or someone's): wait one poll interval, then OBSERVE
    DONE     an outcome: one `havip.decision` line, one result entry

Shared by every intent: the incident lock, one deadline, one retry table for both calls'
answers, confirmation by polling, the record write, the decision line, one outcome vocabulary,
and the rule that any refusal spends the view and the evidence — the next attempt is decided
on a fresh look at the HAVIP and at ECS.

Everything that touches the outside comes in as a parameter (the VPC/ECS API, the clocks, the
random source, the record key), so the functional tests drive this with the emulator's model
in memory and the end-to-end tests with the real SDK against the emulator over HTTP.
"""

from __future__ import annotations

import contextvars
import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol

import structlog

from . import observe, record
from .decide import Decision, Evidence, Known, Rules, decide
from .model import Intent, IntentKind, Reason
from .observe import Observer, View
from .record import Forced, RecordKey, Removal
from .result import Outcome, RecordWrite, Report, error_dict, log_decision
from .survivors import SurvivorReader
from .vpc import MIN_CALL_TIMEOUT, VpcApi, VpcError

log = structlog.get_logger("havip_failover")

MAX_PARALLEL = 8  # HAVIPs driven at once for one invocation (an HA pair rarely holds more)
POLL_FAST = 0.25  # s: at most one DescribeHaVips per 250 ms while a change finishes
POLL_FAST_FOR = 5.0  # s of fast polling before backing off (a change takes ~1-3 s)
POLL_MAX = 1.0
RETRY_BASE = 0.2  # s: first backoff after a transient error
RETRY_CAP = 2.0
THROTTLE_FLOOR = 0.5  # s: never hammer a throttled API faster than this
MIN_PAUSE = 0.01  # s: less room than this for a backoff means none
FORCE_FRESH = 1.0  # s: a forced call is made only on a look that started at most this long ago
RECORD_CALL_SECONDS = 2.0  # s: the most one record call may take (it never holds up a failover)
# Errors after which we cannot know whether the call was applied.
AMBIGUOUS_CODES = frozenset({"NetworkError", "Timeout"})

# The one retry table: what an error answer to an intent's call means. Any other transient error:
# back off, then look again (HAVIP and ECS) before another attempt; any other error: final.
Meaning = Literal["done", "master", "limit"]
ANSWERS: Mapping[tuple[IntentKind, str], Meaning] = {
    ("remove", "ResourceNotAssociated"): "done",  # not (or no longer) on the HAVIP
    ("add", "InvalidParameter.HaVipAlreadyAssociated"): "done",
    # keepalived promoted the node between our look and our call: the refusal proves the view
    # stale; decide again only on a view that shows this master
    ("remove", "Forbidden.UnassociateMaster"): "master",
    ("add", "CountLimitExceed.HaVipOnInstance"): "limit",  # the node holds the most HAVIPs it may
    ("add", "CountLimitExceeded.HaVipOnECSInstance"): "limit",  # the HAVIP holds the most nodes
}
NOT_OURS_REASON: Mapping[IntentKind, Reason] = {"remove": "not-associated", "add": "failback-standby"}
DONE_OUTCOMES: Mapping[tuple[IntentKind, bool], Outcome] = {
    ("remove", True): Outcome.UNASSOCIATED,
    ("remove", False): Outcome.ALREADY_UNASSOCIATED,
    ("add", True): Outcome.ASSOCIATED,
    ("add", False): Outcome.ALREADY_ASSOCIATED,
}


class State(Enum):
    OBSERVE = "observe"
    DECIDE = "decide"
    GATHER = "gather"
    ACT = "act"
    CONFIRM = "confirm"
    DONE = "done"


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class Deadline:
    """One deadline for the whole invocation; every wait and call timeout is cut to fit it."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock = clock
        self.at = clock.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - self.clock.monotonic()

    def allows(self, seconds: float) -> bool:
        """Is there room to wait `seconds` and still make one more call afterwards?"""
        return self.remaining() - seconds >= MIN_CALL_TIMEOUT

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(max(0.0, min(seconds, self.remaining())))


class Retry:
    """Backoff with jitter on transient errors, within one deadline: the engine's calls, and the
    events' own (which must not wait on a decision's spent deadline)."""

    def __init__(self, deadline: Deadline, rng: random.Random) -> None:
        self.deadline = deadline
        self.rng = rng

    def call(self, call: Callable[[], Any]) -> Any:
        """A call with backoff on transient errors, within the deadline."""
        retries = 0
        last: VpcError | None = None
        while True:
            if self.deadline.remaining() < MIN_CALL_TIMEOUT:
                raise last or VpcError("DeadlineExceeded", "no time left for the call", kind="transient")
            try:
                return call()
            except VpcError as err:
                if not err.transient:
                    raise
                last = err
                log.debug("vpc.retry", code=err.code, attempt=retries + 1)
                if not self.pause(retries, err.code):
                    raise
                retries += 1

    def pause(self, retries: int, code: str) -> bool:
        """Back off before retry number `retries + 1`; False when no call would fit after it.
        The last pause is shortened to leave room for one more attempt before the deadline."""
        room = self.deadline.remaining() - MIN_CALL_TIMEOUT
        if room < MIN_PAUSE:  # (not <= 0: a float crumb of room would make a tight loop of calls)
            return False
        self.deadline.sleep(min(self._backoff(retries, code), room))
        return True

    def _backoff(self, retries: int, code: str) -> float:
        ceiling = min(RETRY_CAP, RETRY_BASE * 2**retries)
        delay = self.rng.uniform(ceiling / 2, ceiling)  # jitter: parallel invocations spread out
        if code.startswith("Throttling"):
            delay = max(delay, THROTTLE_FLOOR)
        return delay

    def call_timeout(self) -> float:
        return max(MIN_CALL_TIMEOUT, self.deadline.remaining())


@dataclass(frozen=True)
class Policy:
    rules: Rules = field(default_factory=Rules)
    dry_run: bool = False
    wait_for_completion: bool = True  # False (HAVIP_WAIT_SECONDS=0): `pending` once accepted


@dataclass
class HavipFacts:
    """What this invocation did to one HAVIP and what the API told it, shared by every intent
    on that HAVIP (they are driven one after the other)."""

    ours: dict[tuple[IntentKind, str], Literal["accepted", "maybe"]] = field(default_factory=dict)
    master_claim: str | None = None
    last_answer_at: float = float("-inf")  # monotonic time our last mutating call was answered
    answers: int = 0  # how many of our mutating calls on it were answered (or lost)
    last_view: View | None = None
    tags: dict[str, str | None] = field(default_factory=dict)  # record writes that landed (None: removed)

    def answered(self, at: float) -> None:
        self.last_answer_at = max(self.last_answer_at, at)
        self.answers += 1

    def known(self, intent: Intent) -> Known:
        gone = frozenset(n for (kind, n) in self.ours if kind == "remove" and n != intent.node)
        return Known(self.ours.get((intent.kind, intent.node)), gone, self.master_claim)


@dataclass
class Drive:
    """One intent on its way to an outcome."""

    intent: Intent
    report: Report
    token: str
    state: State = State.OBSERVE
    view: View | None = None
    view_answers: int = 0  # how many of our calls on the HAVIP were answered when the view was taken
    evidence: Evidence | None = None  # read for the view at hand
    evidence_errors: dict[str, VpcError] = field(default_factory=dict)  # "record" / "ecs"
    decision: Decision | None = None
    last_error: VpcError | None = None
    retries: int = 0
    waited: float = 0.0
    poll_from: float = 0.0  # the poll cadence counts from here
    wait_reason: Reason | None = None  # the first thing waited for
    waiting_for: Reason | None = None  # the latest
    removal: Removal | None = None  # the record entry our removal wrote
    forced_stamped: bool = False  # the cooldown's stamp is written

    def observed(self, view: View, answers: int) -> None:
        if self.report.before is None:
            self.report.before = view.havip
        self.view = view
        self.view_answers = answers
        self.poll_from = view.taken_at
        self.spend()

    def spend(self) -> None:
        """The view was acted on or replaced: the evidence read for it is spent too."""
        self.evidence = None
        self.evidence_errors = {}


def client_token(intent: Intent) -> str:
    """The ClientToken of an intent: deterministic per incident (a re-delivery reuses it), never
    shared by two incidents, at most 64 ASCII characters. A person's own ClientToken is used as
    given for the one HAVIP it named."""
    if intent.client_token:
        return intent.client_token
    if intent.kind == "remove":
        digest = hashlib.sha256(f"{intent.ha_vip_id}|{intent.node}|{intent.incident}".encode()).hexdigest()
        return f"havip-failover-{digest[:40]}"
    digest = hashlib.sha256(f"add|{intent.ha_vip_id}|{intent.node}|{intent.incident}".encode()).hexdigest()
    return f"havip-failback-{digest[:40]}"


def poll_interval(waited: float) -> float:
    """Fast while a change normally finishes, then back off to spare the rate limit."""
    if waited < POLL_FAST_FOR:
        return POLL_FAST
    return min(POLL_MAX, POLL_FAST * float(1.5 ** ((waited - POLL_FAST_FOR) / POLL_FAST + 1)))


def report_for(intent: Intent) -> Report:
    return Report(
        intent=intent.kind,
        source=intent.source,
        state=intent.state,
        node=intent.node,
        event_id=intent.incident,
        detail=intent.detail,
        region_id=intent.region_id,
        ha_vip_id=intent.ha_vip_id,
    )


class Engine:
    def __init__(
        self,
        vpc: VpcApi,
        policy: Policy,
        clock: Clock,
        deadline: Deadline,
        *,
        key: RecordKey,
        rng: random.Random | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.vpc = vpc
        self.policy = policy
        self.clock = clock
        self.deadline = deadline
        self.key = key
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.wall = wall  # UTC epoch seconds: the record's times, event ages
        retry = Retry(deadline, self.rng)
        self.retrying, self.pause, self.call_timeout = retry.call, retry.pause, retry.call_timeout
        self.observer = Observer(vpc, clock.monotonic, self.retrying, self.call_timeout)
        self.survivors = SurvivorReader(vpc, self.retrying, self.call_timeout)
        self._facts: dict[tuple[str, str], HavipFacts] = {}
        self._facts_lock = threading.Lock()
        self._states = {
            State.OBSERVE: self._observe,
            State.DECIDE: self._decide,
            State.GATHER: self._gather,
            State.ACT: self._act,
            State.CONFIRM: self._confirm,
        }

    def facts(self, region: str, ha_vip_id: str) -> HavipFacts:
        with self._facts_lock:
            return self._facts.setdefault((region, ha_vip_id), HavipFacts())

    # ---- entry ------------------------------------------------------------------------------

    def drive(self, intents: Iterable[tuple[Intent, View | None]]) -> list[Report]:
        """Drive each intent (with the view its driver already has, if any) to an outcome.
        Intents on one HAVIP run one after the other (the second looks afresh: two nodes failing
        at once must not both come off); different HAVIPs run concurrently."""
        groups: dict[tuple[str, str], list[tuple[contextvars.Context, Callable[[], Report]]]] = {}
        for intent, view in intents:

            def task(intent: Intent = intent, view: View | None = view) -> Report:
                return self._drive(intent, view)

            # Each task keeps the context (request id, event id) it was made in, in any thread.
            groups.setdefault((intent.region_id, intent.ha_vip_id), []).append((contextvars.copy_context(), task))
        jobs = list(groups.values())

        def run(group: list[tuple[contextvars.Context, Callable[[], Report]]]) -> list[Report]:
            return [ctx.run(task) for ctx, task in group]

        if len(jobs) <= 1:
            return [r for job in jobs for r in run(job)]
        reports: list[Report] = []
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(jobs))) as pool:
            for done in pool.map(run, jobs):
                reports.extend(done)
        return reports

    def _drive(self, intent: Intent, seen: View | None) -> Report:
        start = self.clock.monotonic()
        token = client_token(intent)
        report = report_for(intent)
        report.client_token = token
        incident = f"{getattr(self.vpc, 'scope', '')}|{intent.region_id}|{token}"
        with observe.INCIDENTS.hold(incident, self.deadline.remaining() - MIN_CALL_TIMEOUT) as (mine, waited):
            if not mine:
                report.finish(Outcome.PENDING, "same-incident-in-progress")
            else:
                with self.observer.watching(intent.region_id, intent.ha_vip_id):
                    drive = Drive(intent, report, token)
                    if seen is not None and not waited:  # after another delivery's drive, it is stale
                        drive.observed(seen, 0)  # taken by the driver: before any call of ours, at best
                        drive.state = State.DECIDE
                    while drive.state is not State.DONE:
                        drive.state = self._states[drive.state](drive)
        report.elapsed_ms = int((self.clock.monotonic() - start) * 1000)
        log_decision(report)
        return report

    # ---- the states -------------------------------------------------------------------------

    def _observe(self, d: Drive) -> State:
        i = d.intent
        facts = self.facts(i.region_id, i.ha_vip_id)
        try:
            view = self.observer.look(i.region_id, i.ha_vip_id, not_before=facts.last_answer_at)
        except VpcError as err:
            # Out of time for the look: the call's own error (if any) is the one that matters.
            cause = d.last_error if d.last_error and err.code == "DeadlineExceeded" else err
            under_way = facts.known(i).ours == "accepted" and cause.transient
            outcome = Outcome.PENDING if under_way else Outcome.FAILED
            return self._end(d, outcome, d.report.reason or "vpc-error", error=error_dict(cause))
        facts.last_view = view
        d.observed(view, facts.answers)
        return State.DECIDE

    def _decide(self, d: Drive) -> State:
        i, r = d.intent, d.report
        facts = self.facts(i.region_id, i.ha_vip_id)
        assert d.view is not None
        if d.view_answers < facts.answers:
            return State.OBSERVE  # never decide on a view older than our own last call's answer
        havip = d.view.havip
        r.after = havip
        decision = decide(i, havip, known=facts.known(i), evidence=d.evidence, rules=self.policy.rules, now=self.wall())
        d.decision = decision
        action = decision.action
        if action == "gather":
            return State.GATHER
        if action == "act":
            r.reason, r.force = decision.reason, (decision.force if i.kind == "remove" else False)
            if self.policy.dry_run or i.dry_run:
                return self._end(d, Outcome.PLANNED)
            return State.ACT
        if action == "wait":
            d.wait_reason = d.wait_reason or decision.reason
            d.waiting_for = decision.reason
            r.reason = r.reason or decision.reason
            return State.CONFIRM
        if action == "done":
            ours = facts.known(i).ours is not None
            # The reason of what we did; else of what we waited for; else the decision's.
            reason = r.reason if ours and r.reason else (d.wait_reason or decision.reason)
            self._after_done(d, ours)
            return self._end(d, DONE_OUTCOMES[(i.kind, ours)], reason)
        if action == "skip":
            if decision.reason == "no-running-survivor":
                log.warning(
                    "havip.no_running_survivor",
                    haVipId=i.ha_vip_id,
                    instanceId=i.node,
                    survivors=r.survivors,
                    message="no other node of the HAVIP is Running: nothing was taken off",
                )
            return self._end(d, Outcome.SKIPPED, decision.reason)
        return self._end(d, Outcome.FAILED, decision.reason, error=self._failure(d, decision.reason))

    def _gather(self, d: Drive) -> State:
        """The record and (when the decision needs them) the nodes' ECS states, side by side:
        one round trip before a call."""
        i = d.intent
        assert d.view is not None and d.view.havip is not None and d.decision is not None
        nodes = list(dict.fromkeys((*d.view.havip.associated_instances, i.node)))
        if d.decision.needs_ecs:
            with ThreadPoolExecutor(max_workers=2) as pool:
                ecs_job = pool.submit(contextvars.copy_context().run, self._read_ecs, d, nodes)
                found = self._read_record(d)
                ecs = ecs_job.result()
        else:
            found, ecs = self._read_record(d), None
        d.evidence = Evidence(found, ecs)
        if ecs is not None:
            d.report.survivors = {n: s for n, s in ecs.items() if n != i.node}
            if i.kind == "add":
                d.report.node_status = ecs.get(i.node)
        return State.DECIDE

    def _act(self, d: Drive) -> State:
        """One call, and what follows from its answer. Whatever the answer, the view and the
        evidence it was decided on are spent: the next decision looks anew."""
        i, r, decision = d.intent, d.report, d.decision
        assert d.view is not None and decision is not None
        facts = self.facts(i.region_id, i.ha_vip_id)
        if decision.force and self.clock.monotonic() - d.view.taken_at > FORCE_FRESH:
            return State.OBSERVE  # a forced call is made on a fresh look only
        if self.deadline.remaining() < MIN_CALL_TIMEOUT:
            # Out of time: report what kept us from finishing, not just the clock.
            error = error_dict(d.last_error) if d.last_error else self._deadline_error(i)
            return self._end(d, Outcome.FAILED, error=error)
        holds = decision.holds if i.kind == "remove" else ()
        r.attempts += 1
        self.observer.forget(i.ha_vip_id)
        called_at = self.clock.monotonic()
        try:
            request_id = self._call(d, decision)
        except VpcError as err:
            facts.answered(self.clock.monotonic())
            d.spend()
            d.last_error = err
            if err.request_id:
                r.api_request_ids.append(err.request_id)
            log.debug("vpc.call.error", intent=i.kind, haVipId=i.ha_vip_id, code=err.code, attempt=r.attempts)
            meaning = ANSWERS.get((i.kind, err.code))
            if meaning == "done":
                ours = facts.known(i).ours is not None
                self._after_done(d, ours)
                reason = r.reason if ours else (d.wait_reason or NOT_OURS_REASON[i.kind])
                return self._end(d, DONE_OUTCOMES[(i.kind, ours)], reason)
            if meaning == "master":
                facts.master_claim = i.node
                return State.OBSERVE
            if meaning == "limit":
                return self._end(d, Outcome.SKIPPED, "instance-limit", error=error_dict(err))
            if not err.transient:
                return self._end(d, Outcome.FAILED, error=error_dict(err))
            if err.code in AMBIGUOUS_CODES:  # the call may have been applied
                facts.ours.setdefault((i.kind, i.node), "maybe")
                if i.kind == "remove":
                    self._record_removal(d, holds, forced=False)
            if not self.pause(d.retries, err.code):
                return self._end(d, Outcome.FAILED, error=error_dict(err))
            d.retries += 1
            return State.OBSERVE
        facts.answered(self.clock.monotonic())
        facts.ours[(i.kind, i.node)] = "accepted"
        d.spend()
        r.api_request_ids.append(request_id)
        log.debug("vpc.call.accepted", intent=i.kind, haVipId=i.ha_vip_id, requestId=request_id)
        if i.kind == "remove":
            # The record right after the call (never before: no round trip ahead of the failover).
            self._record_removal(d, holds, decision.force)
        if not self.policy.wait_for_completion:
            return self._end(d, Outcome.PENDING)  # accepted; completion deliberately not watched
        d.poll_from = called_at  # the call is asynchronous: the first look one interval after it
        return State.CONFIRM

    def _confirm(self, d: Drive) -> State:
        """Wait one poll interval (a fixed cadence from the last look's start, so the API's
        latency does not stretch it), then look again."""
        interval = poll_interval(d.waited)
        delay = max(0.0, d.poll_from + interval - self.clock.monotonic())
        if not self.deadline.allows(delay):
            if self.facts(d.intent.region_id, d.intent.ha_vip_id).known(d.intent).ours is not None:
                return self._end(d, Outcome.PENDING)  # ours is under way
            # Nothing done: say what we were waiting for, and the refusal that made us wait.
            error = error_dict(d.last_error) if d.last_error else None
            return self._end(d, Outcome.PENDING, d.waiting_for, error=error)
        self.deadline.sleep(delay)
        d.waited += interval
        return State.OBSERVE

    # ---- pieces -----------------------------------------------------------------------------

    def _call(self, d: Drive, decision: Decision) -> str:
        i = d.intent
        if i.kind == "remove":
            return self.vpc.unassociate_ha_vip(
                i.region_id,
                i.ha_vip_id,
                i.node,
                force=decision.force,
                instance_type=decision.instance_type or "EcsInstance",
                client_token=d.token,
                timeout=self.call_timeout(),
            )
        return self.vpc.associate_ha_vip(
            i.region_id,
            i.ha_vip_id,
            i.node,
            instance_type=decision.instance_type or "EcsInstance",
            client_token=d.token,
            timeout=self.call_timeout(),
        )

    def _end(
        self, d: Drive, outcome: Outcome, reason: Reason | None = None, *, error: dict[str, Any] | None = None
    ) -> State:
        d.report.finish(outcome, reason, error)
        return State.DONE

    def _failure(self, d: Drive, reason: Reason) -> dict[str, Any]:
        i = d.intent
        source = {"survivor-state-unknown": "ecs", "node-state-unknown": "ecs", "record-unreadable": "record"}
        err = d.evidence_errors.get(source.get(reason, ""))
        if err is not None:
            return error_dict(err)
        gone = " (it disappeared while we were working on it)" if d.report.before is not None else ""
        return {
            "code": "InvalidHaVipId.NotFound",
            "message": f"{i.ha_vip_id} does not exist in {i.region_id}{gone}",
            "retryable": False,
        }

    @staticmethod
    def _deadline_error(i: Intent) -> dict[str, Any]:
        call = "UnassociateHaVip" if i.kind == "remove" else "AssociateHaVip"
        return {"code": "DeadlineExceeded", "message": f"no time left to call {call}", "retryable": True}

    def read_record(self, region: str, ha_vip_id: str) -> record.Record:
        """The HAVIP's record as the tag service has it now, verified (VpcError: unreadable)."""
        tags = self.retrying(lambda: self.vpc.list_tag_resources(region, ha_vip_id, timeout=self.call_timeout()))
        return record.parse(tags.items(), ha_vip_id, self.key, self.wall())

    def _read_record(self, d: Drive) -> record.Record | None:
        i = d.intent
        try:
            return self.read_record(i.region_id, i.ha_vip_id)
        except VpcError as err:
            d.evidence_errors["record"] = err
            d.last_error = err
            log.warning("havip.record.unreadable", haVipId=i.ha_vip_id, code=err.code, message=err.message)
            return None

    def _read_ecs(self, d: Drive, nodes: Sequence[str]) -> dict[str, str] | None:
        try:
            return self.survivors.states(d.intent.region_id, nodes)
        except VpcError as err:
            d.evidence_errors["ecs"] = err
            log.warning("ecs.describe_instance_status.failed", code=err.code, message=err.message, instanceIds=nodes)
            return None

    def _record_removal(self, d: Drive, holds: Sequence[str], forced: bool) -> None:
        """The removal in the record, once per drive: in flight until a describe shows it done.
        A forced removal also stamps the cooldown — only once the API accepted it (a lost answer
        must not hold back this very drive's retry)."""
        i = d.intent
        now = self.wall()
        tags: dict[str, str] = {}
        if d.removal is None:
            d.removal = record.removal_of(i.node, now, holds or (i.node,))
            tags.update([record.removal_tag(self.key, i.ha_vip_id, d.removal)])
        if forced and not d.forced_stamped:
            d.forced_stamped = True
            tags.update([record.forced_tag(self.key, i.ha_vip_id, Forced(float(int(now)), i.node))])
        if tags:
            self._note(d, self.write_record(i.region_id, i.ha_vip_id, tags, ()))

    def _after_done(self, d: Drive, ours: bool) -> None:
        """What the record says once an intent holds: a removal we saw finish is confirmed; a
        node back on the HAVIP has no entry any more."""
        i = d.intent
        if self.policy.dry_run or i.dry_run:
            return
        if i.kind == "remove" and ours and d.removal is not None:
            tag = record.removal_tag(self.key, i.ha_vip_id, record.confirmed(d.removal))
            self._note(d, self.write_record(i.region_id, i.ha_vip_id, dict([tag]), ()))
        elif i.kind == "add":
            keys = [record.REMOVED + i.node] + ([record.DRILL] if i.drill else [])
            self._note(d, self.write_record(i.region_id, i.ha_vip_id, {}, keys))

    @staticmethod
    def _note(d: Drive, write: RecordWrite) -> None:
        mine = d.report.record or RecordWrite()
        mine.written.extend(write.written)
        mine.error = write.error or mine.error
        d.report.record = mine

    def write_record(self, region: str, ha_vip_id: str, tags: Mapping[str, str], clear: Sequence[str]) -> RecordWrite:
        """Write and clear record entries: one batched call each, retried like any transient
        call within the deadline. A failure is reported (result, decision line, a warning);
        it never changes what was done to the HAVIP."""
        out = RecordWrite()
        facts = self.facts(region, ha_vip_id)

        def timeout() -> float:
            return min(self.call_timeout(), RECORD_CALL_SECONDS)

        for keys, call in (
            (list(tags), lambda: self.vpc.tag_resources(region, ha_vip_id, tags, timeout=timeout())),
            (list(clear), lambda: self.vpc.untag_resources(region, ha_vip_id, list(clear), timeout=timeout())),
        ):
            if not keys:
                continue
            try:
                self.retrying(call)
            except VpcError as err:
                out.error = error_dict(err)
                log.warning("havip.record.failed", haVipId=ha_vip_id, code=err.code, message=err.message, keys=keys)
                continue
            for k in keys:
                facts.tags[k] = tags.get(k) if k in tags else None
            out.written.extend(record.label(k, tags.get(k) if k in tags else None) for k in keys)
        return out
