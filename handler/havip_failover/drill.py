"""The drill: prove, on a live pair and without moving the VIP, that the whole path works — the
role's permissions, the endpoints, the API's real timings — before the night it is needed.

It refuses unless the HAVIP is settled and whole and every node is Running in ECS (the pure
`decide.drill_plan`); then, through the one engine, it takes the standby off (never the master:
the VIP does not move), waits until the API shows it done, puts it back and waits again, and
leaves the record as it found it. Before anything changes it marks the drill on the record
(`havip-failover:drill`, signed): a drill cut short — the deadline, a refusal — is finished by
the reconciler, which puts a drill's standby back at once whatever HAVIP_FAILBACK says.

Every API call is timed (`Timed` wraps the API the engine uses), so the report shows each step's
time and every permission the drill proved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from . import record
from .decide import drill_plan
from .engine import Engine
from .model import DrillOrder, Intent, Reason
from .observe import View
from .result import Outcome, Report, error_dict
from .vpc import VpcApi, VpcError

# The API methods the function calls, and the RAM action each one proves.
PERMISSIONS = {
    "describe_ha_vips": "vpc:DescribeHaVips",
    "list_tag_resources": "vpc:ListTagResources",
    "tag_resources": "vpc:TagResources",
    "untag_resources": "vpc:UnTagResources",
    "describe_instance_status": "ecs:DescribeInstanceStatus",
    "describe_network_interfaces": "ecs:DescribeNetworkInterfaces",
    "unassociate_ha_vip": "vpc:UnassociateHaVip",
    "associate_ha_vip": "vpc:AssociateHaVip",
    "put_events": "eventbridge:PutEvents",  # with HAVIP_EVENT_BUS: the drill's own events
}

Status = Literal["done", "planned", "refused", "cut-short", "failed"]


@dataclass(frozen=True)
class Call:
    permission: str  # the RAM action this call needs ("vpc:DescribeHaVips")
    at: float  # monotonic start
    ms: int
    error: str | None  # its error code; None: it succeeded
    auth: bool = False  # the error is one of credentials or permissions


class Timed:
    """The API, every call timed and kept (which action, how long, how it ended)."""

    def __init__(self, api: VpcApi, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._api = api
        self._monotonic = monotonic
        self.calls: list[Call] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._api, name)
        permission = PERMISSIONS.get(name)
        if permission is None or not callable(target):
            return target

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = self._monotonic()
            try:
                result = target(*args, **kwargs)
            except VpcError as err:
                ms = int((self._monotonic() - start) * 1000)
                self.calls.append(Call(permission, start, ms, err.code, err.kind == "auth"))
                raise
            self.calls.append(Call(permission, start, int((self._monotonic() - start) * 1000), None))
            return result

        return timed

    def as_api(self) -> VpcApi:
        return cast(VpcApi, self)


@dataclass
class DrillRun:
    order: DrillOrder
    region: str
    status: Status = "failed"
    reason: Reason | str | None = None
    message: str = ""
    standby: str | None = None
    master: str | None = None
    reports: list[Report] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    started: float = 0.0
    window_ms: int | None = None  # how long the standby was off the HAVIP
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("done", "planned")

    def permissions(self) -> dict[str, str]:
        """Every permission the function needs, and what this drill proved of it."""
        seen: dict[str, str] = {}
        for call in self.calls:
            if call.error is None:
                seen[call.permission] = "proved"
            elif seen.get(call.permission) != "proved":
                seen[call.permission] = f"{'denied' if call.auth else 'failed'}: {call.error}"
        return {p: seen.get(p, "not used") for p in sorted(set(PERMISSIONS.values()))}

    def steps(self) -> list[dict[str, Any]]:
        return [
            {
                "call": c.permission.split(":", 1)[1],
                "atMs": int((c.at - self.started) * 1000),
                "ms": c.ms,
                "error": c.error,
            }
            for c in self.calls
        ]

    def to_result(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "haVipId": self.order.ha_vip_id,
            "regionId": self.region,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "standby": self.standby,
            "master": self.master,
            "standbyOffMs": self.window_ms,
            "steps": self.steps(),
            "permissions": self.permissions(),
        }
        if self.error is not None:
            out["error"] = self.error
        return out


def run_drill(engine: Engine, timed: Timed, order: DrillOrder, region: str, incident: str) -> DrillRun:
    """The drill on one HAVIP; `engine` drives through `timed` (so every call is on the report)."""
    run = DrillRun(order, region, started=engine.clock.monotonic())
    try:
        _run(engine, timed, run, incident)
    finally:
        run.calls = list(timed.calls)
    return run


def _run(engine: Engine, timed: Timed, run: DrillRun, incident: str) -> None:
    order, region = run.order, run.region
    h = order.ha_vip_id
    try:
        view = engine.observer.look(region, h)
        havip = view.havip
        if havip is None:
            _end(run, "refused", "havip-not-found", f"{h} does not exist in {region}")
            return
        found = engine.read_record(region, h)
        ecs, _ = engine.survivors.read(region, havip.associated_instances)
    except VpcError as err:
        _end(run, "failed", "vpc-error", f"the HAVIP, its record or ECS could not be read: {err.code}")
        run.error = error_dict(err)
        return
    plan = drill_plan(havip, found, ecs)
    run.master = havip.master_instance_id
    if plan.standby is None:
        _end(run, "refused", plan.reason, f"refused: {plan.message}")
        return
    standby = run.standby = plan.standby
    if order.dry_run or engine.policy.dry_run:
        _end(run, "planned", "drill-standby", f"dry run: {plan.message}")
        return
    # The marker first: whatever happens next, the reconciler knows to put the standby back.
    mark = record.drill_tag(engine.key, h, record.Drill(float(int(engine.wall())), standby))
    marked = engine.write_record(region, h, dict([mark]), ())
    if marked.error is not None:
        _end(run, "refused", "drill-record-unwritable", "refused: the drill could not be marked on the record")
        run.error = marked.error
        return
    detail = f"drill: the standby, taken off and put back ({incident})"
    remove = Intent("remove", region, h, standby, "drill", incident, detail, requested_force=False)
    (off,) = engine.drive([(remove, View(havip, view.taken_at))])
    run.reports.append(off)
    if off.outcome is not Outcome.UNASSOCIATED:
        changed = off.outcome is Outcome.PENDING or bool(off.record and off.record.written)
        if not changed:  # nothing of ours to finish: the marker goes too
            engine.write_record(region, h, {}, [record.DRILL])
        _cut_short(run, off, changed)
        return
    add = Intent("add", region, h, standby, "drill", incident, detail, drill=True)
    (on,) = engine.drive([(add, None)])
    run.reports.append(on)
    if on.outcome not in (Outcome.ASSOCIATED, Outcome.ALREADY_ASSOCIATED):
        _cut_short(run, on, True)
        return
    unwritten = [r.record.error for r in (off, on) if r.record is not None and r.record.error is not None]
    if unwritten:  # the HAVIP is as it was, its record is not: not proved
        _end(
            run,
            "cut-short",
            "drill-record-unwritable",
            f"{standby} is back on the HAVIP, but its record could not be written in full "
            f"({unwritten[-1]['code']}): the reconciler clears what is left",
        )
        run.error = unwritten[-1]
        return
    removed_at = next((c.at for c in timed.calls if c.permission == "vpc:UnassociateHaVip" and not c.error), None)
    if removed_at is not None:
        run.window_ms = int((engine.clock.monotonic() - removed_at) * 1000)
    _end(run, "done", "drill-standby", f"{standby} was taken off and put back; the master {run.master} was not touched")


def _cut_short(run: DrillRun, report: Report, changed: bool) -> None:
    what = f"{report.intent} of {report.node}: {report.outcome.value} ({report.reason})"
    later = (
        "the reconciler puts the standby back at once (its drill entry on the record says so)"
        if changed
        else "nothing was changed"
    )
    _end(run, "cut-short", report.reason, f"cut short at the {what}; {later}")
    run.error = report.error


def _end(run: DrillRun, status: Status, reason: Reason | str | None, message: str) -> None:
    run.status, run.reason, run.message = status, reason, message


def render_result(drill: Mapping[str, Any]) -> str:
    """A drill's result as a person reads it: what happened, each call and its time, what it proved."""
    lines = [f"drill {drill['haVipId']} ({drill['regionId']}): {drill['status']} — {drill['message']}"]
    steps = drill.get("steps") or []
    if steps:
        lines.append(f"  {'at':>8}  {'call':<24} {'time':>8}  result")
        for step in steps:
            result = "ok" if step["error"] is None else step["error"]
            lines.append(f"  {step['atMs']:>6}ms  {step['call']:<24} {step['ms']:>6}ms  {result}")
    if drill.get("standbyOffMs") is not None:
        lines.append(f"  the standby {drill['standby']} was off the HAVIP for {drill['standbyOffMs']} ms")
    lines.append("  permissions:")
    for permission, what in (drill.get("permissions") or {}).items():
        lines.append(f"    {permission:<30} {what}")
    return "\n".join(lines)
