"""Issue 8 and 10, as properties over random sequences (in memory: thousands of sequences fit
in seconds; tests/reliability/test_properties.py runs the same kinds of steps over real HTTP
against the emulator).

A sequence is several invocations of the real entry against one pair, the clock moving between
them: nodes failing (one or both, in one batch or apart), re-deliveries of the same event, a
describe that lags the truth, throttles on every call, ECS states changing, another actor
removing or adding nodes, timer reconciles with failback on. After every sequence:

(1) the HAVIP never ends with no node (HAVIP_ALLOW_LAST_INSTANCE is false), unless another
    actor removed a node after the state the function's last look showed: between that look and
    the call, or within the describe's lag before it (a change no describe showed yet: a race no
    API lets a client close);
(2) no node is taken off while no other node of the HAVIP is Running in ECS, unless a person
    ordered it (manual Force);
(3) two distinct incidents never share a ClientToken; every delivery of one incident does;
(4) failback never forces, never adds a node the function did not remove, never makes the
    HAVIP hold more nodes than it did before;
(5) a second reconcile with nothing changed makes no call that changes anything.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context
from havip_failover.vpc import VpcError
from tests.conftest import BASE_ENV
from tests.fakes import FakeClock, FakeVpc, pair
from tests.reliability._gen import write_report

EXAMPLES = max(1, int(os.environ.get("HAVIP_PROPERTY_EXAMPLES", "80"))) * 5
MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
THIRD = "i-bp1third0000000001"
HAVIP = "havip-bp1pair0000000001"
NODES = (MASTER, STANDBY, THIRD)
THROTTLE = VpcError("Throttling.User", "Request was denied due to user flow control.", http_status=400)
TIMER = json.dumps({"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "reconcile", "payload": ""}).encode()


@dataclass(frozen=True)
class Step:
    kind: str  # "fail" | "batch" | "order" | "timer" | "ecs" | "actor-remove" | "actor-add"
    nodes: tuple[str, ...] = ()
    incident: int = 0  # the same number: a re-delivery of the same event
    status: str = "Running"
    wait: str = "5"
    throttles: tuple[str, ...] = ()  # actions throttled once at the start of this step
    advance: float = 0.0
    race: bool = False  # the actor's change happens right before our UnassociateHaVip


steps = st.one_of(
    st.builds(
        Step,
        kind=st.just("fail"),
        nodes=st.tuples(st.sampled_from(NODES)),
        incident=st.integers(0, 3),
        wait=st.sampled_from(["0", "5"]),
        throttles=st.lists(
            st.sampled_from(["UnassociateHaVip", "DescribeHaVips", "DescribeInstanceStatus"]), max_size=3
        ).map(tuple),
        advance=st.sampled_from([0.0, 0.5, 2.0, 400.0]),
    ),
    st.builds(
        Step,
        kind=st.just("batch"),
        nodes=st.permutations([MASTER, STANDBY]).map(tuple),
        incident=st.integers(0, 3),
        wait=st.sampled_from(["0", "5"]),
        advance=st.sampled_from([0.0, 1.0]),
    ),
    st.builds(Step, kind=st.just("order"), nodes=st.tuples(st.sampled_from(NODES)), incident=st.integers(4, 5)),
    st.builds(Step, kind=st.just("timer"), advance=st.sampled_from([0.0, 60.0, 400.0])),
    st.builds(
        Step,
        kind=st.just("ecs"),
        nodes=st.tuples(st.sampled_from(NODES)),
        status=st.sampled_from(["Running", "Stopped", "Stopping", "Absent", "Starting"]),
    ),
    st.builds(
        Step,
        kind=st.sampled_from(["actor-remove", "actor-add"]),
        nodes=st.tuples(st.sampled_from(NODES)),
        race=st.booleans(),
    ),
)


@dataclass
class World:
    clock: FakeClock
    vpc: FakeVpc
    wall: list[float] = field(default_factory=lambda: [1_800_000_000.0])
    excused_empty: bool = False  # another actor raced our call
    actor_removed_at: float = float("-inf")  # clock time of another actor's last removal
    violations: list[str] = field(default_factory=list)
    tokens: dict[str, set[str]] = field(default_factory=dict)  # "event id|instance" (an incident) -> tokens
    ordered: set[str] = field(default_factory=set)  # client tokens of a person's orders
    removed_by_us: set[str] = field(default_factory=set)
    released: set[str] = field(default_factory=set)  # instances ECS no longer knows
    accepted: set[str] = field(default_factory=set)  # ClientTokens of UnassociateHaVip calls the API accepted
    held_most: int = 2


def _watch(world: World) -> None:
    """Check every mutating call against the truth at the moment it is served."""
    vpc = world.vpc
    real_unassociate = vpc.unassociate_ha_vip
    real_associate = vpc.associate_ha_vip

    def unassociate(region_id: str, ha_vip_id: str, instance_id: str, **kw: Any) -> str:
        request_id = real_unassociate(region_id, ha_vip_id, instance_id, **kw)
        h = vpc.havips[ha_vip_id]
        # not a replay of a call the API accepted before (an attempt refused, e.g. throttled, is none)
        fresh = kw["client_token"] not in world.accepted
        world.accepted.add(kw["client_token"])
        if fresh and h.status == "Unassociating":
            world.removed_by_us.add(instance_id)
            others = [i for i in h.associated_instances if i != instance_id]
            unseen = world.clock.now - world.actor_removed_at <= vpc.lag + 1.0  # FORCE_FRESH
            world.excused_empty = world.excused_empty or (not others and unseen)
            if not others and not world.excused_empty:
                world.violations.append(f"(1) {instance_id} was the last node")
            if (
                others
                and kw["client_token"] not in world.ordered
                and not any(vpc.ecs.get(i) == "Running" for i in others)
            ):
                world.violations.append(f"(2) {instance_id} taken off while no other node was Running: {vpc.ecs}")
        return request_id

    def associate(region_id: str, ha_vip_id: str, instance_id: str, **kw: Any) -> str:
        h = vpc.havips[ha_vip_id]
        if instance_id not in world.removed_by_us:
            world.violations.append(f"(4) failback of {instance_id}, which the function never removed")
        if len(h.associated_instances) + 1 > world.held_most:
            world.violations.append(f"(4) failback would make the HAVIP hold {len(h.associated_instances) + 1}")
        return real_associate(region_id, ha_vip_id, instance_id, **kw)

    vpc.unassociate_ha_vip = unassociate  # type: ignore[method-assign]
    vpc.associate_ha_vip = associate  # type: ignore[method-assign]


def _run(world: World, event: bytes, wait: str = "5") -> Any:
    env = {
        **BASE_ENV,
        "HAVIP_IDS": HAVIP,
        "HAVIP_WAIT_SECONDS": wait,
        "HAVIP_FAILBACK": "standby",
        "HAVIP_FAILBACK_HOLD_SECONDS": "60",
    }
    result = invoke(
        event, Fc310Context(request_id="req"), env=env, vpc=world.vpc, clock=world.clock, wall=lambda: world.wall[0]
    )
    for r in result["results"]:
        if r.get("clientToken") and r["eventId"]:
            world.tokens.setdefault(f"{r['eventId']}|{r['instanceId']}", set()).add(r["clientToken"])
    return result


def _health(node: str, incident: int) -> dict[str, Any]:
    return {
        "type": "havip.health",
        "instanceId": node,
        "haVipId": HAVIP,
        "healthy": False,
        "id": f"incident-{incident}",
    }


def _settle(world: World) -> None:
    world.clock.now += 10.0  # the backend applies what is due on the next read
    world.wall[0] += 10.0


def _apply(world: World, step: Step) -> None:
    vpc = world.vpc
    world.clock.now += step.advance
    world.wall[0] += step.advance
    for action in step.throttles:
        vpc.fail_next(action, THROTTLE)
    if step.kind == "fail":
        _run(world, json.dumps(_health(step.nodes[0], step.incident)).encode(), step.wait)
    elif step.kind == "batch":
        batch = [
            {
                "specversion": "1.0",
                "id": f"b{step.incident}-{n}",
                "source": "checker",
                "type": "havip.health",
                "data": _health(node, step.incident * 10 + n),
            }
            for n, node in enumerate(step.nodes)
        ]
        _run(world, json.dumps(batch).encode(), step.wait)
    elif step.kind == "order":
        token = f"order-{step.incident}-{step.nodes[0]}"
        world.ordered.add(token)
        event = {"HaVipId": HAVIP, "InstanceId": step.nodes[0], "Force": True, "ClientToken": token}
        _run(world, json.dumps(event).encode())
    elif step.kind == "timer":
        _run(world, TIMER)
        # (5): once what is under way has settled and describes caught up, a reconcile that
        # changed nothing is followed by one that changes nothing either.
        _settle(world)
        before = len(vpc.mutations())
        _run(world, TIMER)
        if len(vpc.mutations()) == before:
            _settle(world)
            _run(world, TIMER)
            if len(vpc.mutations()) != before:
                world.violations.append("(5) a second reconcile with nothing changed made a mutating call")
    elif step.kind == "ecs":
        node = step.nodes[0]
        if node in world.released:
            return  # a released instance never comes back (ECS never reuses an id)
        if step.status == "Absent":
            # The platform drops a released instance from the HAVIP at once: another actor's removal.
            world.released.add(node)
            if node in vpc.havips[HAVIP].associated_instances:
                world.actor_removed_at = world.clock.now
                vpc.ecs[node] = step.status
                left = vpc.havips[HAVIP]
                # emptied by the release, or by it and the removal of the last other node under way
                last_going = left.status == "Unassociating" and len(left.associated_instances) == 1
                world.excused_empty = world.excused_empty or not left.associated_instances or last_going
                return
        vpc.ecs[node] = step.status
    else:
        node = step.nodes[0]

        def change(v: FakeVpc) -> None:
            h = v.havips[HAVIP]
            if h.status not in ("InUse", "Available"):
                return
            if step.kind == "actor-remove" and node in h.associated_instances:
                rest = tuple(i for i in h.associated_instances if i != node)
                master = h.master_instance_id if h.master_instance_id != node else (rest[0] if rest else None)
                v.havips[HAVIP] = replace(h, associated_instances=rest, master_instance_id=master)
                # the actor emptied it itself, or raced our call (between our look and it)
                world.excused_empty = world.excused_empty or step.race or not rest
                world.actor_removed_at = v.clock.now
            elif (
                step.kind == "actor-add"
                and node not in h.associated_instances
                and len(h.associated_instances) < v.limit
                and v.ecs.get(node) in ("Running", "Stopped")  # what AssociateHaVip takes
            ):
                v.havips[HAVIP] = replace(h, associated_instances=(*h.associated_instances, node))

        if step.race:
            vpc.race("UnassociateHaVip", change)
        else:
            change(vpc)


TALLY: dict[str, Any] = {
    "sequences": 0,
    "steps": {},
    "lag": {},
    "unassociate_calls": 0,
    "associate_calls": 0,
    "final_nodes": {},
    "excused_races": 0,
}


def _tally(lag: float, sequence: list[Step], vpc: FakeVpc, world: World) -> None:
    TALLY["sequences"] += 1
    for step in sequence:
        TALLY["steps"][step.kind] = TALLY["steps"].get(step.kind, 0) + 1
    TALLY["lag"][str(lag)] = TALLY["lag"].get(str(lag), 0) + 1
    TALLY["unassociate_calls"] += vpc.count("UnassociateHaVip")
    TALLY["associate_calls"] += vpc.count("AssociateHaVip")
    n = str(len(vpc.havips[HAVIP].associated_instances))
    TALLY["final_nodes"][n] = TALLY["final_nodes"].get(n, 0) + 1
    TALLY["excused_races"] += int(world.excused_empty)
    write_report("sequences.json", {**TALLY, "examples_setting": EXAMPLES})


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    lag=st.sampled_from([0.0, 0.5, 2.0]),
    settle=st.sampled_from([0.3, 1.0, 2.5]),
    sequence=st.lists(steps, min_size=1, max_size=8),
)
def test_safety_holds_over_random_sequences(lag: float, settle: float, sequence: list[Step]) -> None:
    clock = FakeClock()
    vpc = FakeVpc(clock, lag=lag, settle=settle)
    vpc.add(pair())
    vpc.ecs[THIRD] = "Running"  # a third instance in the vSwitch, on no HAVIP
    world = World(clock, vpc)
    _watch(world)
    for step in sequence:
        _apply(world, step)
    clock.now += 60
    final = vpc.havips[HAVIP]
    if not final.associated_instances and not world.excused_empty:
        world.violations.append("(1) the HAVIP ended with no node")
    for incident, tokens in world.tokens.items():
        if len(tokens) > 1 and not incident.startswith("reconcile:"):
            world.violations.append(f"(3) incident {incident} used tokens {tokens}")
    seen: dict[str, str] = {}
    for incident, tokens in world.tokens.items():
        for token in tokens:
            if token in seen and seen[token] != incident:
                world.violations.append(f"(3) incidents {seen[token]} and {incident} share {token}")
            seen[token] = incident
    assert world.violations == [], (sequence, world.violations)
    _tally(lag, sequence, vpc, world)
