"""The engine: resolve -> observe -> decide -> act -> confirm, for every signal of one invocation.

Each (instance, HAVIP) pair is driven through explicit steps (`Step`). A decision is always
made on a `View` — the HAVIP as one DescribeHaVips showed it, and when that look started —
and never on a view older than this invocation's own last mutating call on that HAVIP or the
answer that refused it (`HavipFacts.last_answer_at`): every call uses its view up, so the
next decision must look again. What the invocation has done to a HAVIP (`HavipFacts`) is fed
to the pure `decide()`, so a describe that still lists a node we removed cannot make us take
the last node off.

Everything that touches the outside comes in as a parameter (the VPC and ECS APIs, the
clocks, the random source), so functional tests drive this with an in-memory fake and a fake
clock, and the end-to-end tests with the real SDK against the emulator.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol

import structlog

from . import record
from .decide import Decision, decide, screen
from .model import HaVip, Signal
from .observe import INCIDENTS, Observer, View, pages
from .survivors import SurvivorReader
from .vpc import MIN_CALL_TIMEOUT, VpcApi, VpcError

log = structlog.get_logger("havip_failover")

MAX_PARALLEL = 8  # HAVIPs handled at once for one invocation (an HA pair rarely holds more)
POLL_FAST = 0.25  # s: at most one DescribeHaVips per 250 ms while a disassociation finishes
POLL_FAST_FOR = 5.0  # s of fast polling before backing off (a disassociation takes ~1-3 s)
POLL_MAX = 1.0
RETRY_BASE = 0.2  # s: first backoff after a transient error
RETRY_CAP = 2.0
THROTTLE_FLOOR = 0.5  # s: never hammer a throttled API faster than this
MIN_PAUSE = 0.01  # s: less room than this for a backoff means none
# A forced call is made only on a view whose look started at most this long ago.
FORCE_FRESH = 1.0
# How long a removal in the HAVIP's record (read from the tag service, which does not lag like
# DescribeHaVips) outweighs a view that still lists the node. How far describes can lag is not
# published: five minutes is far beyond anything seen, and within it a node a person re-adds is
# only counted as gone (the careful side: nothing more is taken off).
RECENT_REMOVAL = 300.0
# Errors after which we cannot know whether UnassociateHaVip was applied.
AMBIGUOUS_CODES = frozenset({"NetworkError", "Timeout"})


# One decision to drive.
Task = Callable[[], "Outcome"]


def _run_in_turn(group: list[tuple[contextvars.Context, Task]]) -> list[Outcome]:
    return [ctx.run(task) for ctx, task in group]


class Step(Enum):
    """Where a drive is. DECIDE always has a view; ACT is `Failover._act`."""

    OBSERVE = "observe"  # look at the HAVIP now
    DECIDE = "decide"  # decide on the view at hand (looking again first if it predates our last call)
    WAIT = "wait"  # let the poll interval pass, then observe


@dataclass
class HavipFacts:
    """What this invocation did to one HAVIP and what the API told it, shared by every
    decision on that HAVIP (they run one after the other)."""

    # instance -> "accepted" (UnassociateHaVip answered) | "maybe" (the answer was lost)
    removed: dict[str, Literal["accepted", "maybe"]] = field(default_factory=dict)
    master_claim: str | None = None  # the master, as the API's last refusal said
    last_answer_at: float = float("-inf")  # monotonic time our last mutating call was answered

    def answered(self, at: float) -> None:
        self.last_answer_at = max(self.last_answer_at, at)

    def accepted(self, instance_id: str) -> bool:
        return self.removed.get(instance_id) == "accepted"

    def sent(self, instance_id: str) -> bool:
        return instance_id in self.removed

    def gone(self, *, besides: str) -> frozenset[str]:
        return frozenset(i for i in self.removed if i != besides)


@dataclass
class _Drive:
    """One (instance, HAVIP) pair on its way to an outcome."""

    out: Outcome
    view: View | None
    survivors: dict[str, str] | None = None  # read for the view at hand
    survivors_error: VpcError | None = None
    recent: dict[str, float] | None = None  # the record's recent removals: node -> when (epoch s)
    last_error: VpcError | None = None
    wait_reason: str = ""  # the first thing waited for
    waiting_for: str = ""  # the latest
    waited: float = 0.0
    retries: int = 0
    view_taken_at: float = 0.0  # the poll cadence counts from here

    def __post_init__(self) -> None:
        if self.view is not None:
            self.observed(self.view)

    def observed(self, view: View) -> None:
        if self.out.before is None:
            self.out.before = view.havip
        self.view = view
        self.view_taken_at = view.taken_at
        self.spent()

    def spent(self) -> None:
        """The view was acted on (or replaced): what was read to decide on it is spent too."""
        self.survivors = None
        self.survivors_error = None
        self.recent = None


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


@dataclass(frozen=True)
class Policy:
    force: str = "auto"
    allow_last_instance: bool = False
    dry_run: bool = False
    managed_ids: tuple[str, ...] = ()
    wait_for_completion: bool = True  # False (HAVIP_WAIT_SECONDS=0): `pending` once accepted
    require_survivor: bool = True  # take a node off only while another one is Running (ECS)
    max_event_age: float = 600.0  # seconds; 0: no limit
    cooldown: float = 300.0  # seconds after a forced master removal before another automatic one


@dataclass
class Outcome:
    """The result of one decision, with everything the canonical log line carries."""

    signal: Signal
    region_id: str | None
    ha_vip_id: str | None
    outcome: str
    reason: str
    force: bool | None = None
    client_token: str | None = None
    api_request_ids: list[str] = field(default_factory=list)
    attempts: int = 0
    elapsed_ms: int = 0
    error: dict[str, Any] | None = None
    before: HaVip | None = None
    after: HaVip | None = None
    survivors: dict[str, str] | None = None  # ECS status of the other nodes, when read

    def to_result(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "haVipId": self.ha_vip_id,
            "instanceId": self.signal.instance_id,
            "regionId": self.region_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "force": self.force,
            "clientToken": self.client_token,
            "apiRequestIds": list(self.api_request_ids),
            "attempts": self.attempts,
            "elapsedMs": self.elapsed_ms,
            "eventId": self.signal.event_id,
            "statusBefore": self.before.status if self.before else None,
            "statusAfter": self.after.status if self.after else None,
            "masterBefore": self.before.master_instance_id if self.before else None,
            "masterAfter": self.after.master_instance_id if self.after else None,
            "survivors": dict(self.survivors) if self.survivors is not None else None,
        }
        if self.error is not None:
            result["error"] = self.error
        return result


def client_token(ha_vip_id: str, instance_id: str, event_id: str) -> str:
    """Deterministic per incident: FC's re-delivery of the same event reuses it (≤ 64 ASCII)."""
    digest = hashlib.sha256(f"{ha_vip_id}|{instance_id}|{event_id}".encode()).hexdigest()
    return f"havip-failover-{digest[:40]}"


def poll_interval(waited: float) -> float:
    """Fast while a disassociation normally finishes, then back off to spare the rate limit."""
    if waited < POLL_FAST_FOR:
        return POLL_FAST
    return min(POLL_MAX, POLL_FAST * float(1.5 ** ((waited - POLL_FAST_FOR) / POLL_FAST + 1)))


def error_dict(err: VpcError) -> dict[str, Any]:
    return {"code": err.code, "message": err.message, "retryable": err.transient, "requestId": err.request_id}


class Failover:
    def __init__(
        self,
        vpc: VpcApi,
        policy: Policy,
        clock: Clock,
        deadline: Deadline,
        rng: random.Random | None = None,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.vpc = vpc
        self.policy = policy
        self.clock = clock
        self.deadline = deadline
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.wall = wall  # UTC epoch seconds: only to age events
        # Within one invocation a region is listed once, however many signals need it.
        self._region_cache: dict[str, tuple[list[HaVip], float]] = {}
        self.observer = Observer(vpc, clock.monotonic, self.retrying, self.call_timeout)
        self.survivors = SurvivorReader(vpc, self.retrying, self.call_timeout)
        self._facts: dict[tuple[str, str], HavipFacts] = {}
        self._facts_lock = threading.Lock()

    def _facts_for(self, region: str, ha_vip_id: str) -> HavipFacts:
        with self._facts_lock:
            return self._facts.setdefault((region, ha_vip_id), HavipFacts())

    # ---- entry -------------------------------------------------------------------

    def run(self, signals: Iterable[tuple[Signal, str | None]]) -> list[Outcome]:
        """Each signal with its region (None when neither event nor configuration gives one)."""
        # Decisions on one HAVIP run one after the other (the second looks afresh: two
        # nodes failing at once must not both come off, leaving the VIP with no holder);
        # different HAVIPs run concurrently.
        groups: dict[str, list[tuple[contextvars.Context, Task]]] = {}
        outcomes: list[Outcome] = []
        seen: set[tuple[str | None, str, str]] = set()
        for signal, region in signals:
            key = (signal.ha_vip_id, signal.instance_id, signal.state)
            if key in seen:  # the same statement twice in one batch: one decision
                continue
            seen.add(key)
            structlog.contextvars.bind_contextvars(eventId=signal.event_id)
            for item in self._resolve(signal, region):
                if isinstance(item, Outcome):
                    outcomes.append(item)
                else:
                    # Each task keeps the context (request id, this signal's event id) it
                    # was created in, also in a worker thread.
                    groups.setdefault(item[0], []).append((contextvars.copy_context(), item[1]))
        jobs = [functools.partial(_run_in_turn, group) for group in groups.values()]
        if len(jobs) == 1:
            outcomes.extend(jobs[0]())
        elif jobs:
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(jobs))) as pool:
                for done in pool.map(lambda job: job(), jobs):
                    outcomes.extend(done)
        for outcome in outcomes:
            log_outcome(outcome)
        return outcomes

    # ---- resolve: which HAVIPs does this signal concern? ----------------------------

    def _resolve(self, signal: Signal, region: str | None) -> list[Outcome | tuple[str, Task]]:
        start = self.clock.monotonic()
        age = None if signal.event_time is None else self.wall() - signal.event_time
        screened = screen(state=signal.state, event_age=age, max_event_age=self.policy.max_event_age)
        if screened is not None:
            if screened.reason == "stale-event":
                log.warning(
                    "havip.stale_event",
                    instanceId=signal.instance_id,
                    ageSeconds=round(age or 0.0, 1),
                    maxEventAgeSeconds=self.policy.max_event_age,
                )
            return [Outcome(signal, region, signal.ha_vip_id, "skipped", screened.reason)]
        if region is None:
            return [
                Outcome(
                    signal,
                    None,
                    signal.ha_vip_id,
                    "failed",
                    "no-region",
                    error={
                        "code": "MissingRegion",
                        "message": "the event names no region and neither HAVIP_REGION_ID nor FC_REGION is set",
                        "retryable": False,
                    },
                )
            ]
        managed = self.policy.managed_ids
        if signal.ha_vip_id is not None:
            if managed and signal.ha_vip_id not in managed:
                return [Outcome(signal, region, signal.ha_vip_id, "skipped", "not-managed")]
            havip_id = signal.ha_vip_id
            return [(havip_id, lambda: self._drive(signal, region, havip_id, None, start))]
        try:
            candidates, taken_at = self._list(region, managed)
        except VpcError as err:
            return [self._failed(signal, region, None, err, start, reason="discovery-failed")]
        holding = [h for h in candidates if signal.instance_id in h.associated_instances]
        if not holding:
            # The end state we want already holds: the instance is on no (managed) HAVIP.
            # (This is also what a re-delivered event finds after the first delivery.)
            reason = "no-managed-havip-holds-instance" if managed else "no-havip-holds-instance"
            return [Outcome(signal, region, None, "already-unassociated", reason, elapsed_ms=self._ms(start))]
        return [self._task(signal, region, View(h, taken_at), start) for h in holding]

    def _task(self, signal: Signal, region: str, view: View, start: float) -> tuple[str, Task]:
        ha_vip_id = view.havip.ha_vip_id if view.havip else ""
        return ha_vip_id, lambda: self._drive(signal, region, ha_vip_id, view, start)

    def _list(self, region: str, ids: tuple[str, ...]) -> tuple[list[HaVip], float]:
        """Every HAVIP of the region (or of the allowlist), over every page, and when the
        listing started (its first page is the oldest part of what it shows)."""
        cache_key = region + "|" + ",".join(ids)
        if cache_key in self._region_cache:
            return self._region_cache[cache_key]
        taken_at = self.clock.monotonic()
        found = [h for page in pages(self.vpc, self.retrying, self.call_timeout, region, ids) for h in page]
        self._region_cache[cache_key] = (found, taken_at)
        return found, taken_at

    # ---- drive one (instance, HAVIP) pair to a final outcome ------------------------

    def _drive(self, signal: Signal, region: str, ha_vip_id: str, seen: View | None, start: float) -> Outcome:
        # A user's ClientToken is used as given only for the one HAVIP it was meant for:
        # one token on two different requests would make the API answer the second with
        # the first's result.
        if signal.client_token and signal.ha_vip_id == ha_vip_id:
            token = signal.client_token
        else:
            token = client_token(ha_vip_id, signal.instance_id, signal.event_id)
        incident = f"{getattr(self.vpc, 'scope', '')}|{region}|{token}"
        with INCIDENTS.hold(incident, self.deadline.remaining() - MIN_CALL_TIMEOUT) as (mine, waited):
            if not mine:
                out = Outcome(signal, region, ha_vip_id, "pending", "same-incident-in-progress", client_token=token)
                return self.finish(out, start)
            with self.observer.watching(region, ha_vip_id):
                # After waiting for another delivery of this incident, what we saw is stale.
                return self._drive_held(signal, region, ha_vip_id, None if waited else seen, start=start, token=token)

    def _drive_held(
        self, signal: Signal, region: str, ha_vip_id: str, view: View | None, *, start: float, token: str
    ) -> Outcome:
        drive = _Drive(Outcome(signal, region, ha_vip_id, "pending", "", client_token=token), view)
        facts = self._facts_for(region, ha_vip_id)
        instance = signal.instance_id
        step: Step = Step.OBSERVE if view is None else Step.DECIDE
        while True:
            if step is Step.OBSERVE:
                try:
                    drive.observed(self.observer.look(region, ha_vip_id, not_before=facts.last_answer_at))
                except VpcError as err:
                    # Out of time for the look: the call's own error (if any) is the one that matters.
                    cause = drive.last_error if drive.last_error and err.code == "DeadlineExceeded" else err
                    return self.finish(self._unobserved(drive.out, cause, facts.accepted(instance), start), start)
                step = Step.DECIDE
                continue

            if step is Step.WAIT:
                # Looks keep a fixed cadence (interval from the previous look's start), so the
                # API's latency does not stretch it.
                interval = poll_interval(drive.waited)
                delay = max(0.0, drive.view_taken_at + interval - self.clock.monotonic())
                if not self.deadline.allows(delay):
                    drive.out.outcome = "pending"
                    if not facts.sent(instance):  # nothing done: say what we were waiting for
                        drive.out.reason = drive.waiting_for
                    return self.finish(drive.out, start)
                self.deadline.sleep(delay)
                drive.waited += interval
                step = Step.OBSERVE
                continue

            assert drive.view is not None
            if drive.view.taken_at < facts.last_answer_at:
                # Never decide on a view older than our own last call on this HAVIP (or than the
                # answer that refused it): look again first.
                step = Step.OBSERVE
                continue
            out = drive.out
            out.after = drive.view.havip
            forced_at = record.parse(drive.view.havip.tags).forced_at if drive.view.havip else None
            recent = drive.recent or {}
            decision = decide(
                state=signal.state,
                instance_id=instance,
                havip=drive.view.havip,
                force_policy=self.policy.force,
                allow_last_instance=self.policy.allow_last_instance,
                requested_force=signal.force,
                requested_instance_type=signal.instance_type,
                removing=facts.accepted(instance) or instance in recent,
                gone=facts.gone(besides=instance) | frozenset(n for n in recent if n != instance),
                master_claim=facts.master_claim,
                require_survivor=self.policy.require_survivor,
                survivors=drive.survivors,
                survivors_unreadable=drive.survivors_error is not None,
                forced_age=None if forced_at is None else self.wall() - forced_at,
                cooldown=self.policy.cooldown,
            )
            action = decision.action
            if action in ("unassociate", "check-survivors") and drive.recent is None:
                # Before anything is taken off: what the record says was taken off lately, by any
                # invocation (a describe may still list it; the last-instance guard must not) —
                # read beside the survivors' ECS states when those are needed too: one round trip.
                needs_survivors = (self.policy.require_survivor or signal.force is not None) and (
                    drive.survivors is None and drive.survivors_error is None
                )
                if not self._read_evidence(drive, region, facts, survivors=needs_survivors):
                    out.outcome, out.reason = "failed", "record-unreadable"
                    out.error = error_dict(drive.last_error) if drive.last_error else None
                    return self.finish(out, start)
                continue
            if action == "check-survivors":
                self._read_survivors(drive, region, facts)
                continue
            if action == "done":
                sent = facts.sent(instance)
                out.outcome = "unassociated" if sent else "already-unassociated"
                # The reason of what we did; else of what we waited for; else not-associated.
                out.reason = out.reason if sent else (drive.wait_reason or decision.reason)
                return self.finish(out, start)
            if action == "skip":
                out.outcome, out.reason = "skipped", decision.reason
                if decision.reason == "no-running-survivor":
                    log.warning(
                        "havip.no_running_survivor",
                        haVipId=ha_vip_id,
                        instanceId=instance,
                        survivors=drive.survivors,
                        message="no other node of the HAVIP is Running: nothing was taken off",
                    )
                return self.finish(out, start)
            if action == "fail":
                out.outcome, out.reason = "failed", decision.reason
                if drive.survivors_error is not None and decision.reason == "survivor-state-unknown":
                    out.error = error_dict(drive.survivors_error)
                else:
                    gone = " (it disappeared while we were working on it)" if out.before is not None else ""
                    out.error = {
                        "code": "InvalidHaVipId.NotFound",
                        "message": f"{ha_vip_id} does not exist in {region}{gone}",
                        "retryable": False,
                    }
                return self.finish(out, start)
            if action == "wait":
                drive.wait_reason = drive.wait_reason or decision.reason
                drive.waiting_for = decision.reason
                out.reason = out.reason or decision.reason
                step = Step.WAIT
                continue

            # action == "unassociate"
            out.force, out.reason = decision.force, decision.reason
            if self.policy.dry_run or signal.dry_run:
                out.outcome = "planned"
                return self.finish(out, start)
            if decision.force and self.clock.monotonic() - drive.view.taken_at > FORCE_FRESH:
                # A forced call is made on a fresh look only (a slow discovery listing, a pause).
                step = Step.OBSERVE
                continue
            if self.deadline.remaining() < MIN_CALL_TIMEOUT:
                # Out of time: report what kept us from finishing, not just the clock.
                out.outcome = "failed"
                out.error = (
                    error_dict(drive.last_error)
                    if drive.last_error
                    else {
                        "code": "DeadlineExceeded",
                        "message": "no time left to call UnassociateHaVip",
                        "retryable": True,
                    }
                )
                return self.finish(out, start)
            following = self._act(drive, facts, region, decision)
            if following is None:
                return self.finish(out, start)
            step = following

    def _act(self, drive: _Drive, facts: HavipFacts, region: str, decision: Decision) -> Step | None:
        """One UnassociateHaVip, and what follows from its answer (None: the outcome is final).
        Whatever the answer, the view it was decided on is used up: the next decision looks anew."""
        out = drive.out
        signal = out.signal
        ha_vip_id = out.ha_vip_id or ""
        out.attempts += 1
        self.observer.forget(ha_vip_id)
        called_at = self.clock.monotonic()
        try:
            request_id = self.vpc.unassociate_ha_vip(
                region,
                ha_vip_id,
                signal.instance_id,
                force=decision.force,
                instance_type=decision.instance_type or "EcsInstance",
                client_token=out.client_token or "",
                timeout=self.call_timeout(),
            )
        except VpcError as err:
            facts.answered(self.clock.monotonic())
            drive.spent()
            drive.last_error = err
            if err.request_id:
                out.api_request_ids.append(err.request_id)
            log.debug("vpc.unassociate.error", haVipId=ha_vip_id, code=err.code, kind=err.kind, attempt=out.attempts)
            if err.code == "ResourceNotAssociated":
                sent = facts.sent(signal.instance_id)
                out.outcome = "unassociated" if sent else "already-unassociated"
                out.reason = out.reason if sent else (drive.wait_reason or "not-associated")
                return None
            if err.code == "Forbidden.UnassociateMaster" and signal.force is None:
                # keepalived promoted this node between our look and our call. The refusal proves
                # our view stale: decide again only on a view that shows this master.
                facts.master_claim = signal.instance_id
                return Step.OBSERVE
            if not err.transient:
                out.outcome = "failed"
                out.error = error_dict(err)
                return None
            if err.code in AMBIGUOUS_CODES:
                facts.removed.setdefault(signal.instance_id, "maybe")  # the call may have been applied
            if not self.pause(drive.retries, err.code):
                out.outcome = "failed"
                out.error = error_dict(err)
                return None
            drive.retries += 1
            return Step.OBSERVE
        facts.answered(self.clock.monotonic())
        facts.removed[signal.instance_id] = "accepted"
        held = len(drive.view.havip.associated_instances) if drive.view and drive.view.havip else 2
        drive.spent()
        out.api_request_ids.append(request_id)
        log.debug("vpc.unassociate.accepted", haVipId=ha_vip_id, requestId=request_id, force=decision.force)
        # The record, within the first poll interval, so it costs the confirmation nothing.
        self.tag(region, ha_vip_id, record.removal_tags(signal.instance_id, self.wall(), held, forced=decision.force))
        if not self.policy.wait_for_completion:
            out.outcome = "pending"  # accepted; completion deliberately not watched
            return None
        # The call is asynchronous: watch it, first one interval after the call was sent.
        drive.view_taken_at = called_at
        return Step.WAIT

    def tag(self, region: str, ha_vip_id: str, tags: dict[str, str]) -> bool:
        """Write to the HAVIP's record. A failure is logged, never fails the failover: without
        the record the node is simply never put back automatically (the safe side)."""
        try:
            self.vpc.tag_resources(region, ha_vip_id, tags, timeout=min(self.call_timeout(), 2.0))
        except VpcError as err:
            log.warning("havip.record.failed", haVipId=ha_vip_id, code=err.code, message=err.message, tags=sorted(tags))
            return False
        return True

    def untag(self, region: str, ha_vip_id: str, keys: list[str]) -> bool:
        """Remove entries from the HAVIP's record; a failure is logged, like `tag`."""
        try:
            self.vpc.untag_resources(region, ha_vip_id, keys, timeout=min(self.call_timeout(), 2.0))
        except VpcError as err:
            log.warning("havip.record.failed", haVipId=ha_vip_id, code=err.code, message=err.message, tags=keys)
            return False
        return True

    def _read_evidence(self, drive: _Drive, region: str, facts: HavipFacts, *, survivors: bool) -> bool:
        """The record (and, when asked, the survivors) for the view at hand, concurrently."""
        if not survivors:
            return self._read_recent(drive, region)
        with ThreadPoolExecutor(max_workers=2) as pool:
            recent = pool.submit(contextvars.copy_context().run, self._read_recent, drive, region)
            pool.submit(contextvars.copy_context().run, self._read_survivors, drive, region, facts).result()
            return recent.result()

    def _read_recent(self, drive: _Drive, region: str) -> bool:
        """The removals the HAVIP's record holds from the last RECENT_REMOVAL seconds."""
        ha_vip_id = drive.out.ha_vip_id or ""
        try:
            tags = self.retrying(lambda: self.vpc.list_tag_resources(region, ha_vip_id, timeout=self.call_timeout()))
        except VpcError as err:
            drive.last_error = err
            log.warning("havip.record.unreadable", haVipId=ha_vip_id, code=err.code, message=err.message)
            return False
        now = self.wall()
        drive.recent = {
            n: r.at for n, r in record.parse(tags.items()).removed.items() if 0 <= now - r.at < RECENT_REMOVAL
        }
        return True

    def _read_survivors(self, drive: _Drive, region: str, facts: HavipFacts) -> None:
        """The ECS state of every other node the HAVIP will still hold (ENIs: of their instance)."""
        assert drive.view is not None and drive.view.havip is not None
        instance = drive.out.signal.instance_id
        gone = facts.gone(besides=instance)
        others = [i for i in drive.view.havip.associated_instances if i != instance and i not in gone]
        try:
            drive.survivors = self.survivors.states(region, others)
        except VpcError as err:
            drive.survivors_error = err
            log.warning("ecs.describe_instance_status.failed", code=err.code, message=err.message, instanceIds=others)
        drive.out.survivors = drive.survivors

    def _unobserved(self, out: Outcome, err: VpcError, accepted: bool, start: float) -> Outcome:
        """DescribeHaVips failed for good while we were watching: after an accepted call
        the disassociation is still on its way (pending); before, we know nothing (failed)."""
        self._failed(out.signal, out.region_id or "", out.ha_vip_id, err, start, base=out)
        if accepted and err.transient:
            out.outcome = "pending"
        return out

    # ---- helpers ---------------------------------------------------------------------

    def retrying(self, call: Callable[[], Any]) -> Any:
        """A read call with backoff on transient errors, within the deadline."""
        retries = 0
        last: VpcError | None = None
        while True:
            if self.deadline.remaining() < MIN_CALL_TIMEOUT:
                raise last or VpcError("DeadlineExceeded", "no time left for DescribeHaVips", kind="transient")
            try:
                return call()
            except VpcError as err:
                if not err.transient:
                    raise
                last = err
                log.debug("vpc.describe.retry", code=err.code, attempt=retries + 1)
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

    def _ms(self, start: float) -> int:
        return int((self.clock.monotonic() - start) * 1000)

    def _failed(
        self,
        signal: Signal,
        region: str,
        ha_vip_id: str | None,
        err: VpcError,
        start: float,
        *,
        token: str | None = None,
        reason: str = "vpc-error",
        base: Outcome | None = None,
    ) -> Outcome:
        out = base or Outcome(signal, region, ha_vip_id, "failed", reason, client_token=token)
        out.outcome = "failed"
        out.reason = out.reason or reason
        out.error = error_dict(err)
        if err.request_id and err.request_id not in out.api_request_ids:
            out.api_request_ids.append(err.request_id)
        out.elapsed_ms = self._ms(start)
        return out

    def finish(self, out: Outcome, start: float) -> Outcome:
        out.elapsed_ms = self._ms(start)
        return out


def log_outcome(out: Outcome) -> None:
    """The canonical line: one per decision, everything an operator asks at 3 a.m."""
    fields = out.to_result()
    fields.update(source=out.signal.source, state=out.signal.state, detail=out.signal.detail)
    level = "info" if out.outcome not in ("failed", "pending") else "warning"
    getattr(log, level)("havip.decision", **fields)
