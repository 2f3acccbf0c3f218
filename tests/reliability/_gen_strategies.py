"""Hypothesis strategies for scenarios: HAVIP layouts of an ECS or ENI pair, one event of any
source naming an instance as failed / recovered / informational (with the expected state
computed independently of the parser), fault schedules, and whole `Case`s."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.reliability._gen_faults import PERMANENT, TRANSIENT, FaultSpec
from tests.reliability._gen_scenarios import DECOYS, IDS, MISSING_HAVIP, TARGETS, Case, EventSpec, HavipSpec

ECS_STATES = {
    "Stopping": "failed",
    "Stopped": "failed",
    "Deleted": "failed",
    "Running": "recovered",
    "Starting": "info",
    "Pending": "info",
    "Created": "info",
}
FAILURE_TYPES = (
    "ecs:Instance:SystemFailure.Reboot",
    "ecs:Instance:SystemFailure.Redeploy",
    "ecs:Instance:SystemFailure.Stop",
    "ecs:Instance:SystemFailure.Delete",
    "ecs:Instance:InstanceFailure.Reboot",
)


def alarm_state(alert_state: str, level: str | None) -> str:
    """The oracle for CloudMonitor alarms (README's table), written independently of the parser."""
    if alert_state == "OK":
        return "recovered"
    if alert_state == "INSUFFICIENT_DATA":
        return "info"
    return "failed" if level in (None, "CRITICAL", "WARN") else "info"


@st.composite
def event_specs(
    draw: st.DrawFn, kind: str, *, min_failures: int, only: str | None = None, sources: tuple[str, ...] = ()
) -> EventSpec:
    """One event naming an instance of the scenario.

    only=None: mostly failures (three in four), the rest recoveries and informational;
    only="quiet": recoveries and informational signals only.
    """
    quiet = only == "quiet"
    ids = IDS[kind]
    instance = draw(st.sampled_from([ids["a"], ids["a"], ids["b"], ids["b"], ids["outsider"]]))
    ident = draw(st.integers(0, 10**6))
    havip_choice = st.sampled_from([None] * 4 + [TARGETS[0]] * 3 + [TARGETS[1], DECOYS[0], MISSING_HAVIP])
    choices = (
        ["manual", "health"]
        if kind == "eni"
        else [
            "manual",
            "ecs-state",
            "ecs-failure",
            "agent",
            "alarm-http",
            "alarm-webhook",
            "health",
        ]
    )
    if quiet:
        choices = [c for c in choices if c not in ("manual", "ecs-failure")]
    elif kind == "ecs":
        choices.append("batch")
    source = draw(st.sampled_from(list(sources) or choices))
    fail = False if quiet else draw(st.sampled_from([True, True, True, False]))

    if source == "batch":
        n = draw(st.integers(2, 3))
        items = [draw(event_specs(kind, min_failures=min_failures, sources=_EB_SOURCES)) for _ in range(n)]
        if draw(st.booleans()):  # EventBridge delivering one event twice within a batch
            items[1] = items[0]
        state = "failed" if any(i.state == "failed" for i in items) else "info"
        return EventSpec("batch", items[0].instance, state, items=tuple(items))

    if source == "manual":
        opts = {
            "HaVipId": draw(havip_choice),
            "Force": draw(st.sampled_from([None, None, None, True, False])),
            "DryRun": draw(st.sampled_from([None, None, None, None, True, False])),
            "region": draw(st.booleans()),
            "ClientToken": draw(st.sampled_from([None, None, f"change-{ident}"])),
            "InstanceType": draw(st.sampled_from([None, "EcsInstance" if kind == "ecs" else "NetworkInterface"])),
        }
        return EventSpec("manual", instance, "failed", tuple(opts.items()))
    if source == "ecs-state":
        states = [s for s, v in ECS_STATES.items() if (v == "failed") == fail]
        ecs = draw(st.sampled_from(states))
        opts1 = (("ecs", ecs), ("id", ident), ("region", draw(st.booleans())))
        return EventSpec(source, instance, ECS_STATES[ecs], opts1)
    if source == "ecs-failure":
        # README's table: Executing (or no status) is down now; Executed of a reboot/redeploy is
        # back, of a stop/delete is down; announced, avoided, cancelled or failed is nothing.
        event_type = draw(st.sampled_from(FAILURE_TYPES))
        comes_back = event_type.endswith(("Reboot", "Redeploy"))
        if fail:
            statuses = [None, "Executing"] if comes_back else [None, "Executing", "Executed"]
            status, state = draw(st.sampled_from(statuses)), "failed"
        else:
            quiet_statuses = ["Canceled", "Avoided", "Scheduled", "Inquiring", "Failed"]
            status = draw(st.sampled_from([*quiet_statuses, "Executed"] if comes_back else quiet_statuses))
            state = "recovered" if status == "Executed" else "info"
        opts2 = (("type", event_type), ("status", status), ("id", ident), ("region", True))
        return EventSpec(source, instance, state, opts2)
    if source == "agent":
        where = draw(st.sampled_from(["instanceId", "dimensions", "content"]))
        opts_a = (("where", where), ("id", ident), ("region", True))
        return EventSpec(source, instance, "failed" if fail else "recovered", opts_a)
    if source in ("alarm-http", "alarm-webhook"):
        if fail:
            alert, level = "ALERT", draw(st.sampled_from([None, "CRITICAL", "CRITICAL", "WARN"]))
        else:
            alert = draw(st.sampled_from(["ALERT", "OK", "INSUFFICIENT_DATA"]))
            levels = ["INFO", "OK"] if alert == "ALERT" else [None, "CRITICAL", "WARN", "INFO", "OK"]
            level = draw(st.sampled_from(levels))
        opts3: dict[str, Any] = {"alertState": alert, "triggerLevel": level, "id": ident, "region": draw(st.booleans())}
        if source == "alarm-http":
            opts3["body"] = draw(st.sampled_from(["form", "form", "json"]))
            opts3["token"] = draw(st.sampled_from(["query", "header"]))
            opts3["base64"] = draw(st.booleans())
            opts3["name"] = draw(st.sampled_from(["db-pair host down", "数据库主节点不可达"]))
        return EventSpec(source, instance, alarm_state(alert, level), tuple(opts3.items()))
    # health check: failed when unhealthy with at least HAVIP_MIN_CONSECUTIVE_FAILURES failures
    threshold = max(1, min_failures)
    if fail:
        healthy, failures = False, draw(st.sampled_from([None, threshold, threshold + 2]))
        if failures is None and threshold > 1:
            failures = threshold
    else:
        healthy = draw(st.booleans())
        failures = draw(st.sampled_from([None, 0, 1, 3])) if healthy else draw(st.integers(0, threshold - 1))
        if not healthy and failures == 0 and draw(st.booleans()):
            failures = None if threshold > 1 else 0
    effective = 1 if failures is None else failures
    state = "recovered" if healthy else ("failed" if effective >= threshold else "info")
    via = draw(st.sampled_from(["direct", "http", "eventbridge"] if kind == "ecs" else ["direct", "http"]))
    opts4 = {
        "healthy": healthy,
        "failures": failures,
        "HaVipId": draw(havip_choice),
        "region": draw(st.booleans()),
        "via": via,
        "id": ident,
        "token": draw(st.sampled_from(["query", "header"])),
    }
    return EventSpec("health", instance, state, tuple(opts4.items()))


_EB_SOURCES = ("ecs-state", "ecs-failure", "agent", "alarm-webhook")


@st.composite
def havip_layouts(draw: st.DrawFn, kind: str) -> tuple[HavipSpec, ...]:
    ids = IDS[kind]
    a, b = ids["a"], ids["b"]
    n_targets = draw(st.integers(1, 2))
    havips: list[HavipSpec] = []
    for n in range(n_targets):
        instances = draw(st.sampled_from([(a, b), (a, b), (b, a), (a,), (b,)]))
        master = draw(st.sampled_from([*instances, *instances, None]))
        status = draw(st.sampled_from(["InUse"] * 8 + ["Unassociating", "Associating"]))
        if status == "Unassociating" and len(instances) == 2:
            other = draw(st.sampled_from(instances))
            remaining = draw(st.sampled_from([0.1, 0.3, 0.6]))
            havips.append(HavipSpec(TARGETS[n], instances, master, "Unassociating", other, remaining))
        elif status == "Associating" and len(instances) == 1:
            other = b if instances == (a,) else a
            remaining = draw(st.sampled_from([0.1, 0.3, 0.6]))
            havips.append(HavipSpec(TARGETS[n], instances, master, "Associating", other, remaining))
        else:
            havips.append(HavipSpec(TARGETS[n], instances, master))
    for n in range(draw(st.integers(0, 2))):
        instances = draw(st.sampled_from([(ids["d1"], ids["d2"]), (ids["outsider"],), (ids["d1"],), ()]))
        master = instances[0] if instances else None
        havips.append(HavipSpec(DECOYS[n], instances, master, "InUse" if instances else "Available"))
    return tuple(havips)


@st.composite
def fault_specs(draw: st.DrawFn, kind: str, havips: tuple[HavipSpec, ...], wait: float) -> FaultSpec:
    ids = IDS[kind]
    targets = [h.id for h in havips if h.id in TARGETS]
    fkind = draw(
        st.sampled_from(
            ["error", "error", "error", "permanent", "latency", "drop", "hang", "mutate", "mutate", "mutate", "lag"]
            + (["ecs"] if kind == "ecs" else [])
        )
    )
    action = draw(st.sampled_from(["DescribeHaVips", "UnassociateHaVip", "UnassociateHaVip", None]))
    after = draw(st.integers(0, 2))
    if fkind == "error":
        code, status = draw(st.sampled_from(TRANSIENT))
        times = draw(st.sampled_from([1, 1, 2, 3, -1]))
        return FaultSpec("error", action, code, status, times=times, after=after)
    if fkind == "permanent":
        code, status = draw(st.sampled_from(PERMANENT))
        return FaultSpec("permanent", "UnassociateHaVip", code, status, times=1, after=after)
    if fkind == "latency":
        seconds = draw(st.sampled_from([0.05, 0.2, 0.5, 1.0, 1.5]))
        return FaultSpec("latency", action, times=draw(st.integers(1, 2)), after=after, seconds=seconds)
    if fkind == "drop":
        return FaultSpec("drop", action, times=draw(st.integers(1, 2)), after=after)
    if fkind == "hang":
        seconds = draw(st.sampled_from([0.3, 0.8, max(0.3, wait - 0.5), wait]))
        return FaultSpec("hang", action, times=1, after=after, seconds=seconds)
    if fkind == "lag":
        return FaultSpec("lag", "DescribeHaVips", seconds=draw(st.sampled_from([0.5, 1.0, 2.0])))
    if fkind == "ecs":  # the survivor check's ECS call: throttled, or denied by RAM
        code, status = draw(st.sampled_from([*TRANSIENT[:2], ("Forbidden.RAM", 403)]))
        return FaultSpec("error", "DescribeInstanceStatus", code, status, times=draw(st.sampled_from([1, 2, -1])))
    mutation = draw(
        st.sampled_from(["promote", "promote", "disassociate", "disassociate-settled", "delete", "stopped"])
    )
    target = draw(st.sampled_from([ids["a"], ids["b"]]))
    if mutation == "stopped" and kind == "eni":
        mutation = "promote"
    return FaultSpec(
        "mutate",
        draw(st.sampled_from(["DescribeHaVips", "UnassociateHaVip"])),
        after=after,
        mutation=mutation,
        havip=draw(st.sampled_from(targets)),
        target=target,
    )


@st.composite
def cases(draw: st.DrawFn, *, only: str | None = None, faults: bool = True, races: bool = False) -> Case:
    kind = draw(st.sampled_from(["ecs", "ecs", "eni"]))
    ids = IDS[kind]
    min_failures = draw(st.sampled_from([1, 1, 2, 3]))
    havips = draw(havip_layouts(kind))
    event = draw(event_specs(kind, min_failures=min_failures, only=only))
    statuses: list[tuple[str, str]] = []
    if kind == "ecs":
        for who in ("a", "b"):
            status = draw(st.sampled_from(["Running"] * 6 + ["Stopped", "Stopping"]))
            if status != "Running":
                statuses.append((ids[who], status))
    wait = draw(st.sampled_from([1.0, 1.5, 2.0, 3.0]))
    allowlist: tuple[str, ...] = ()
    if draw(st.integers(0, 3)) == 0:
        allowlist = tuple(
            draw(
                st.lists(st.sampled_from([h.id for h in havips] + [MISSING_HAVIP]), min_size=1, max_size=3, unique=True)
            )
        )
    schedule: tuple[FaultSpec, ...] = ()
    if faults:
        n = draw(st.sampled_from([0, 0, 1, 1, 2, 3] if not races else [1, 2, 3]))
        specs = [draw(fault_specs(kind, havips, wait)) for _ in range(n)]
        if races:
            specs = [s for s in specs if s.kind == "mutate"] or [
                draw(fault_specs(kind, havips, wait).filter(lambda s: s.kind == "mutate"))
            ]
        if any(s.kind == "lag" for s in specs):
            # A change made before a look that a lagging describe does not show yet is one no
            # client can see (README): the races stay those between a look and a call.
            specs = [s for s in specs if not (s.kind == "mutate" and s.action == "DescribeHaVips")]
        schedule = tuple(specs)
    return Case(
        kind=kind,
        havips=havips,
        statuses=tuple(statuses),
        event=event,
        force=draw(st.sampled_from(["auto", "auto", "never"])),
        allow_last=draw(st.booleans()),
        dry_run=draw(st.sampled_from([False, False, False, True])),
        wait=wait,
        timeout=draw(st.sampled_from([3, 5, 10, 60, 60])),
        min_failures=min_failures,
        allowlist=allowlist,
        runtime=draw(st.sampled_from(["python3.10", "python3.12"])),
        unassociate_delay=draw(st.sampled_from([0.05, 0.1, 0.2, 0.3])),
        faults=schedule,
        log_level=draw(st.sampled_from(["INFO", "INFO", "DEBUG"])),
    )
