"""Resolve -> observe -> decide -> act -> wait, for every signal of one invocation (DESIGN §4, §5).

Everything that touches the outside comes in as a parameter (the VPC API, the clock,
the random source), so functional tests drive this with an in-memory fake and a fake
clock, and the end-to-end tests with the real SDK against the emulator.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import random
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import structlog

from .decide import decide
from .model import HaVip, Signal
from .observe import INCIDENTS, Observer, pages
from .vpc import MIN_CALL_TIMEOUT, VpcApi, VpcError

log = structlog.get_logger("havip_failover")

MAX_PARALLEL = 8  # HAVIPs handled at once for one invocation (an HA pair rarely holds more)
POLL_FAST = 0.25  # s: at most one DescribeHaVips per 250 ms while a disassociation finishes
POLL_FAST_FOR = 5.0  # s of fast polling before backing off (a disassociation takes ~1-3 s)
POLL_MAX = 1.0
RETRY_BASE = 0.2  # s: first backoff after a transient error
RETRY_CAP = 2.0
THROTTLE_FLOOR = 0.5  # s: never hammer a throttled API faster than this
# Errors after which we cannot know whether UnassociateHaVip was applied.
AMBIGUOUS_CODES = frozenset({"NetworkError", "Timeout"})


# One decision to drive; its argument says whether what discovery saw may be stale
# (another decision on the same HAVIP ran first).
Task = Callable[[bool], "Outcome"]


def _run_in_turn(group: list[tuple[contextvars.Context, Task]]) -> list[Outcome]:
    return [ctx.run(task, n > 0) for n, (ctx, task) in enumerate(group)]


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
    ) -> None:
        self.vpc = vpc
        self.policy = policy
        self.clock = clock
        self.deadline = deadline
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        # Within one invocation a region is listed once, however many signals need it.
        self._region_cache: dict[str, list[HaVip]] = {}
        self.observer = Observer(vpc, clock.monotonic, self._retrying, self._call_timeout)

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
        if signal.state != "failed":
            decision = decide(state=signal.state, instance_id=signal.instance_id, havip=None)
            return [Outcome(signal, region, signal.ha_vip_id, "skipped", decision.reason)]
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
            return [(havip_id, lambda _fresh: self._drive(signal, region, havip_id, None, start))]
        try:
            candidates = self._list(region, managed)
        except VpcError as err:
            return [self._failed(signal, region, None, err, start, reason="discovery-failed")]
        holding = [h for h in candidates if signal.instance_id in h.associated_instances]
        if not holding:
            # The end state we want already holds: the instance is on no (managed) HAVIP.
            # (This is also what a re-delivered event finds after the first delivery.)
            reason = "no-managed-havip-holds-instance" if managed else "no-havip-holds-instance"
            return [Outcome(signal, region, None, "already-unassociated", reason, elapsed_ms=self._ms(start))]
        return [self._task(signal, region, h, start) for h in holding]

    def _task(self, signal: Signal, region: str, havip: HaVip, start: float) -> tuple[str, Task]:
        def task(fresh: bool) -> Outcome:
            return self._drive(signal, region, havip.ha_vip_id, None if fresh else havip, start)

        return havip.ha_vip_id, task

    def _list(self, region: str, ids: tuple[str, ...]) -> list[HaVip]:
        """Every HAVIP of the region (or of the allowlist), over every page."""
        cache_key = region + "|" + ",".join(ids)
        if cache_key in self._region_cache:
            return self._region_cache[cache_key]
        found = [h for page in pages(self.vpc, self._retrying, self._call_timeout, region, ids) for h in page]
        self._region_cache[cache_key] = found
        return found

    # ---- drive one (instance, HAVIP) pair to a final outcome ------------------------

    def _drive(self, signal: Signal, region: str, ha_vip_id: str, seen: HaVip | None, start: float) -> Outcome:
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
                return self._finish(out, start)
            with self.observer.watching(region, ha_vip_id):
                # After waiting for another delivery of this incident, what we saw is stale.
                return self._drive_held(signal, region, ha_vip_id, None if waited else seen, start=start, token=token)

    def _drive_held(
        self, signal: Signal, region: str, ha_vip_id: str, seen: HaVip | None, *, start: float, token: str
    ) -> Outcome:
        out = Outcome(signal, region, ha_vip_id, "pending", "", client_token=token)
        last_look = self.clock.monotonic()
        try:
            current = seen if seen is not None else self.observer.look(region, ha_vip_id)
        except VpcError as err:
            return self._finish(self._failed(signal, region, ha_vip_id, err, start, token=token), start)
        out.before = current
        accepted = False  # UnassociateHaVip answered with a RequestId
        sent = False  # a call may have been applied (accepted, or its answer was lost)
        refusals = 0  # Forbidden.UnassociateMaster answers: the API says it is the master
        master_hint = False  # said twice while our looks still say standby: believe the API
        waited = 0.0
        retries = 0
        last_error: VpcError | None = None
        wait_reason = ""
        while True:
            out.after = current
            decision = decide(
                state=signal.state,
                instance_id=signal.instance_id,
                havip=replace(current, master_instance_id=signal.instance_id) if current and master_hint else current,
                force_policy=self.policy.force,
                allow_last_instance=self.policy.allow_last_instance,
                requested_force=signal.force,
                requested_instance_type=signal.instance_type,
            )
            if decision.action == "unassociate" and accepted:
                # Accepted but not visible yet: watch, do not call again.
                decision = replace(decision, action="wait", reason="waiting-for-completion")
            if decision.action == "done":
                out.outcome = "unassociated" if sent else "already-unassociated"
                # The reason of what we did; else of what we waited for; else not-associated.
                out.reason = out.reason if sent else (wait_reason or decision.reason)
                return self._finish(out, start)
            if decision.action == "skip":
                out.outcome, out.reason = "skipped", decision.reason
                return self._finish(out, start)
            if decision.action == "fail":
                out.outcome, out.reason = "failed", decision.reason
                gone = " (it disappeared while we were working on it)" if out.before is not None else ""
                out.error = {
                    "code": "InvalidHaVipId.NotFound",
                    "message": f"{ha_vip_id} does not exist in {region}{gone}",
                    "retryable": False,
                }
                return self._finish(out, start)
            if decision.action == "wait":
                wait_reason = wait_reason or decision.reason
                out.reason = out.reason or decision.reason
                # Looks keep a fixed cadence (interval from the previous look's start), so the
                # API's latency does not stretch it.
                interval = poll_interval(waited)
                delay = max(0.0, last_look + interval - self.clock.monotonic())
                if not self.deadline.allows(delay):
                    out.outcome = "pending"
                    return self._finish(out, start)
                self.deadline.sleep(delay)
                waited += interval
                last_look = self.clock.monotonic()
                try:
                    current = self.observer.look(region, ha_vip_id)
                except VpcError as err:
                    return self._finish(self._unobserved(out, err, accepted, start), start)
                continue

            # decision.action == "unassociate"
            out.force, out.reason = decision.force, decision.reason
            if self.policy.dry_run or signal.dry_run:
                out.outcome = "planned"
                return self._finish(out, start)
            if self.deadline.remaining() < MIN_CALL_TIMEOUT:
                # Out of time: report what kept us from finishing, not just the clock.
                out.outcome = "failed"
                out.error = (
                    error_dict(last_error)
                    if last_error
                    else {
                        "code": "DeadlineExceeded",
                        "message": "no time left to call UnassociateHaVip",
                        "retryable": True,
                    }
                )
                return self._finish(out, start)
            out.attempts += 1
            self.observer.forget(ha_vip_id)  # whatever the answer, look anew afterwards
            called_at = self.clock.monotonic()
            try:
                request_id = self.vpc.unassociate_ha_vip(
                    region,
                    ha_vip_id,
                    signal.instance_id,
                    force=decision.force,
                    instance_type=decision.instance_type or "EcsInstance",
                    client_token=token,
                    timeout=self._call_timeout(),
                )
            except VpcError as err:
                last_error = err
                if err.request_id:
                    out.api_request_ids.append(err.request_id)
                log.debug(
                    "vpc.unassociate.error", haVipId=ha_vip_id, code=err.code, kind=err.kind, attempt=out.attempts
                )
                if err.code == "ResourceNotAssociated":
                    out.outcome = "unassociated" if sent else "already-unassociated"
                    out.reason = out.reason if sent else (wait_reason or "not-associated")
                    return self._finish(out, start)
                if err.code == "Forbidden.UnassociateMaster" and refusals < 2 and signal.force is None:
                    # keepalived promoted this node between our look and our call: look
                    # again and decide on what we see (Force, or skip under "never"). If the
                    # API refuses again while we still see a standby, our look is stale.
                    refusals += 1
                    master_hint = refusals == 2
                elif err.transient:
                    if not self._pause(retries, err.code):
                        out.outcome = "failed"
                        out.error = error_dict(err)
                        return self._finish(out, start)
                    retries += 1
                    # A lost answer may hide an applied call, and a status error means the
                    # HAVIP is busy: look before calling again. Anything else: same call,
                    # same ClientToken.
                    sent = sent or err.code in AMBIGUOUS_CODES
                    if err.code not in AMBIGUOUS_CODES and err.code != "IncorrectHaVipStatus":
                        continue
                else:
                    out.outcome = "failed"
                    out.error = error_dict(err)
                    return self._finish(out, start)
                last_look = self.clock.monotonic()
                try:
                    current = self.observer.look(region, ha_vip_id)
                except VpcError as derr:
                    # Out of time for the look: the call's own error is the one that matters.
                    cause = last_error if derr.code == "DeadlineExceeded" else derr
                    return self._finish(self._unobserved(out, cause, False, start), start)
                continue
            accepted = sent = True
            out.api_request_ids.append(request_id)
            log.debug("vpc.unassociate.accepted", haVipId=ha_vip_id, requestId=request_id, force=decision.force)
            if not self.policy.wait_for_completion:
                out.outcome = "pending"  # accepted; completion deliberately not watched
                return self._finish(out, start)
            # The call is asynchronous: the loop now waits (accepted turns "unassociate" into
            # "wait") and looks one interval after the call was sent.
            last_look = called_at

    def _unobserved(self, out: Outcome, err: VpcError, accepted: bool, start: float) -> Outcome:
        """DescribeHaVips failed for good while we were watching: after an accepted call
        the disassociation is still on its way (pending); before, we know nothing (failed)."""
        self._failed(out.signal, out.region_id or "", out.ha_vip_id, err, start, base=out)
        if accepted and err.transient:
            out.outcome = "pending"
        return out

    # ---- helpers ---------------------------------------------------------------------

    def _retrying(self, call: Callable[[], Any]) -> Any:
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
                if not self._pause(retries, err.code):
                    raise
                retries += 1

    def _pause(self, retries: int, code: str) -> bool:
        """Back off before retry number `retries + 1`; False when no call would fit after it.
        The last pause is shortened to leave room for one more attempt before the deadline."""
        room = self.deadline.remaining() - MIN_CALL_TIMEOUT
        if room <= 0:
            return False
        self.deadline.sleep(min(self._backoff(retries, code), room))
        return True

    def _backoff(self, retries: int, code: str) -> float:
        ceiling = min(RETRY_CAP, RETRY_BASE * 2**retries)
        delay = self.rng.uniform(ceiling / 2, ceiling)  # jitter: parallel invocations spread out
        if code.startswith("Throttling"):
            delay = max(delay, THROTTLE_FLOOR)
        return delay

    def _call_timeout(self) -> float:
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

    def _finish(self, out: Outcome, start: float) -> Outcome:
        out.elapsed_ms = self._ms(start)
        return out


def log_outcome(out: Outcome) -> None:
    """The canonical line: one per decision, everything an operator asks at 3 a.m."""
    fields = out.to_result()
    fields.update(source=out.signal.source, state=out.signal.state, detail=out.signal.detail)
    level = "info" if out.outcome not in ("failed", "pending") else "warning"
    getattr(log, level)("havip.decision", **fields)
