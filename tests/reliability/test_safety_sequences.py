"""The safety invariants as properties over random sequences of invocations (in memory, on the
emulator's own model of the cloud: thousands of sequences fit in seconds;
tests/reliability/test_properties.py runs the same kinds of steps over real HTTP).

A sequence is several invocations of the real entry against one HAVIP — a pair, three nodes, or
a pair of ENIs — the clocks moving between them: nodes failing (one or both, in one batch or
apart), re-deliveries, a describe that lags the truth, throttles, ECS states changing, another
actor removing or adding nodes, reconciles with failback, forged and malformed tags written by
someone who may only tag the HAVIP, record writes and reads that fail, FC instances whose clocks
disagree, and invocations that run while another's call is being served (a timer during an
alarm, two timers, a failure event during an association). After every sequence:

(1) the HAVIP never ends with no node (HAVIP_ALLOW_LAST_INSTANCE is false), unless another actor
    removed a node after the state the function's last look showed (a race no API lets a client
    close), or emptied it itself;
(2) no node is taken off while no other node of the HAVIP is Running in ECS (for an ENI: its
    instance), unless a person ordered it (manual Force);
(3) two distinct incidents never share a ClientToken; every delivery of one incident does;
(4) failback never forces, never adds a node the function did not remove, never a node the record
    does not hold a signed entry for at that moment, never a node ECS shows not Running, never makes
    the HAVIP hold more nodes than it did before;
(5) a second reconcile with nothing changed makes no call that changes anything;
(6) no tag, however forged, holds a failover back: once the dust settles (and a genuine
    cooldown has passed), a master ECS shows Stopped while another node is Running is taken off;
(7) a drill never takes the master off, and one that reports done leaves the HAVIP's nodes, its
    master and its record as it found them (a drill cut short is finished by a later reconcile).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from havip_failover import observe, record
from havip_failover.entry import invoke
from havip_failover.fc_context import Fc310Context
from havip_failover.observe import IncidentLocks
from havip_failover.vpc import VpcError
from tests.conftest import BASE_ENV
from tests.fakes import FakeClock, FakeVpc
from tests.records import KEY, removed
from tests.reliability._gen import write_report

EXAMPLES = max(1, int(os.environ.get("HAVIP_PROPERTY_EXAMPLES", "80"))) * 5
HAVIP = "havip-bp1pair0000000001"
THROTTLE = VpcError("Throttling.User", "Request was denied due to user flow control.", http_status=400)
DENIED = VpcError("Forbidden.RAM", "User not authorized to operate on the specified resource.", http_status=403)
TIMER = json.dumps({"triggerTime": "2026-12-02T03:00:00Z", "triggerName": "reconcile", "payload": ""}).encode()
COOLDOWN = 300.0


@dataclass(frozen=True)
class Shape:
    name: str
    nodes: tuple[str, ...]  # on the HAVIP at the start, the master first
    spare: str  # in the vSwitch, on no HAVIP
    hosts: tuple[tuple[str, str], ...] = ()  # ENI -> the instance it is attached to
    limit: int = 2

    @property
    def every(self) -> tuple[str, ...]:
        return (*self.nodes, self.spare)

    def host(self, node: str) -> str:
        return dict(self.hosts).get(node, node)


PAIR = Shape("pair", ("i-bp1master000000001", "i-bp1standby00000001"), "i-bp1third0000000001")
TRIO = Shape(
    "three nodes",
    ("i-bp1master000000001", "i-bp1standby00000001", "i-bp1third0000000001"),
    "i-bp1spare0000000001",
    limit=3,
)
ENIS = Shape(
    "ENI pair",
    ("eni-bp1a0000000001", "eni-bp1b0000000001"),
    "eni-bp1c0000000001",
    (
        ("eni-bp1a0000000001", "i-bp1hosta00000001"),
        ("eni-bp1b0000000001", "i-bp1hostb00000001"),
        ("eni-bp1c0000000001", "i-bp1hostc00000001"),
    ),
)
ATTACKER = "i-bp1attacker0000001"


@dataclass(frozen=True)
class Step:
    # fail | batch | order | timer | ecs | actor-remove | actor-add | forge | record-fault
    kind: str
    nodes: tuple[int, ...] = ()  # indices into the shape's nodes and spare (modulo)
    incident: int = 0  # the same number: a re-delivery of the same event
    status: str = "Running"
    wait: str = "5"
    throttles: tuple[str, ...] = ()  # actions throttled once at the start of this step
    advance: float = 0.0
    race: bool = False  # the actor's change happens right before our UnassociateHaVip
    skew: float = 0.0  # this invocation's FC instance clock runs this far from the others'
    during: str = ""  # "" | "timer" | "alarm": another invocation while this one's call is served
    form: str = ""  # forge: what was forged; record-fault: which call fails how


MAX_SKEW = 240.0  # how far an FC instance's clock runs ahead of the others' here
skews = st.sampled_from([0.0, 0.0, 30.0, -30.0, MAX_SKEW])
steps = st.one_of(
    st.builds(
        Step,
        kind=st.just("fail"),
        nodes=st.tuples(st.integers(0, 3)),
        incident=st.integers(0, 3),
        wait=st.sampled_from(["0", "5"]),
        throttles=st.lists(
            st.sampled_from(["UnassociateHaVip", "DescribeHaVips", "DescribeInstanceStatus", "TagResources"]),
            max_size=3,
        ).map(tuple),
        advance=st.sampled_from([0.0, 0.5, 2.0, 400.0]),
        skew=skews,
        during=st.sampled_from(["", "", "timer", "alarm"]),
    ),
    st.builds(
        Step,
        kind=st.just("batch"),
        nodes=st.permutations([0, 1]).map(tuple),
        incident=st.integers(0, 3),
        wait=st.sampled_from(["0", "5"]),
        advance=st.sampled_from([0.0, 1.0]),
    ),
    st.builds(Step, kind=st.just("order"), nodes=st.tuples(st.integers(0, 3)), incident=st.integers(4, 5)),
    st.builds(
        Step,
        kind=st.just("timer"),
        advance=st.sampled_from([0.0, 60.0, 400.0]),
        skew=skews,
        during=st.sampled_from(["", "", "timer", "alarm"]),
    ),
    st.builds(
        Step,
        kind=st.just("ecs"),
        nodes=st.tuples(st.integers(0, 3)),
        status=st.sampled_from(["Running", "Stopped", "Stopping", "Absent", "Starting"]),
    ),
    # a drill, whole or cut short (the role may not AssociateHaVip this once)
    st.builds(Step, kind=st.just("drill"), form=st.sampled_from(["", "", "cut"])),
    # a node the function took off is Running again, and the failback hold passes
    st.builds(Step, kind=st.just("recover"), nodes=st.tuples(st.integers(0, 2)), advance=st.just(61.0)),
    st.builds(
        Step,
        kind=st.sampled_from(["actor-remove", "actor-add"]),
        nodes=st.tuples(st.integers(0, 3)),
        race=st.booleans(),
    ),
    st.builds(
        Step,
        kind=st.just("forge"),
        nodes=st.tuples(st.integers(0, 4)),  # 4: an attacker's own instance
        form=st.sampled_from(
            ["in-flight", "failback", "cooldown", "other-havip", "copied-forced", "unsigned", "malformed"]
        ),
    ),
    st.builds(
        Step,
        kind=st.just("record-fault"),
        form=st.sampled_from(["tag-denied", "tag-throttled", "untag-denied", "list-throttled"]),
    ),
)


@dataclass
class World:
    shape: Shape
    clock: FakeClock
    vpc: FakeVpc
    wall: list[float] = field(default_factory=lambda: [1_800_000_000.0])
    skew: float = 0.0  # of the invocation running now
    excused_empty: bool = False  # another actor raced our call, or emptied the HAVIP itself
    actor_removed_at: float = float("-inf")  # clock time of another actor's last removal
    actor_added_at: float = float("-inf")  # and of its last association
    violations: list[str] = field(default_factory=list)
    tokens: dict[str, set[str]] = field(default_factory=dict)  # "event id|instance|intent" -> tokens
    ordered: set[str] = field(default_factory=set)  # client tokens of a person's orders
    removed_by_us: set[str] = field(default_factory=set)
    released: set[str] = field(default_factory=set)  # instances ECS no longer knows
    accepted: set[str] = field(default_factory=set)  # ClientTokens of calls the API accepted
    after_call: dict[str, list[Callable[[str], None]]] = field(default_factory=dict)  # action -> hooks
    forgeries: list[tuple[str, str]] = field(default_factory=list)  # (node, form), refreshed at the end
    depth: int = 0  # nested invocations (another one while a call is served)
    drilling: str | None = None  # the master when a drill began, while it runs
    counts: dict[str, int] = field(default_factory=dict)

    def node(self, index: int) -> str:
        every = self.shape.every
        return ATTACKER if index >= len(every) else every[index % len(every)]

    def running(self, node: str) -> bool:
        return self.vpc.ecs.get(self.shape.host(node)) == "Running"

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


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
        if world.drilling is not None and instance_id == world.drilling:
            world.violations.append(f"(7) a drill took the master {instance_id} off")
        if fresh and h.status == "Unassociating":
            world.removed_by_us.add(instance_id)
            others = [i for i in h.associated_instances if i != instance_id]
            unseen = world.clock.now - world.actor_removed_at <= vpc.lag + 1.0  # FORCE_FRESH
            world.excused_empty = world.excused_empty or (not others and unseen)
            if not others and not world.excused_empty:
                world.violations.append(f"(1) {instance_id} was the last node")
            if others and kw["client_token"] not in world.ordered and not any(world.running(i) for i in others):
                world.violations.append(f"(2) {instance_id} taken off while no other node was Running: {vpc.ecs}")
        for hook in world.after_call.pop("UnassociateHaVip", []):
            hook(instance_id)
        return request_id

    def associate(region_id: str, ha_vip_id: str, instance_id: str, **kw: Any) -> str:
        h = vpc.havips[ha_vip_id]
        signed = record.parse(h.tags, ha_vip_id, KEY, world.wall[0] + world.skew).removals
        if instance_id not in world.removed_by_us:
            world.violations.append(f"(4) failback of {instance_id}, which the function never removed")
        if instance_id not in signed:
            world.violations.append(f"(4) failback of {instance_id} without a signed entry: {h.tags}")
        if not world.running(instance_id):
            world.violations.append(f"(4) failback of {instance_id}, which ECS shows not Running")
        held = signed[instance_id].held if instance_id in signed else len(world.shape.nodes)
        request_id = real_associate(region_id, ha_vip_id, instance_id, **kw)  # (refused: no change)
        # Another actor's association within the describe's lag before the call is one no client
        # can see (its view shows the HAVIP without it): the race (1) excuses for removals.
        unseen = world.clock.now - world.actor_added_at <= vpc.lag + 1.0
        if len(h.associated_instances) + 1 > held and not unseen:
            world.violations.append(f"(4) failback made the HAVIP hold {len(h.associated_instances) + 1}")
        for hook in world.after_call.pop("AssociateHaVip", []):
            hook(instance_id)
        return request_id

    vpc.unassociate_ha_vip = unassociate  # type: ignore[method-assign]
    vpc.associate_ha_vip = associate  # type: ignore[method-assign]


def _run(world: World, event: bytes, wait: str = "5", skew: float = 0.0) -> Any:
    env = {
        **BASE_ENV,
        "HAVIP_IDS": HAVIP,
        "HAVIP_WAIT_SECONDS": wait,
        "HAVIP_FAILBACK": "standby",
        "HAVIP_FAILBACK_HOLD_SECONDS": "60",
        "HAVIP_COOLDOWN_SECONDS": str(int(COOLDOWN)),
    }
    outer_skew, world.skew = world.skew, skew
    try:
        result = invoke(
            event,
            Fc310Context(request_id="req"),
            env=env,
            vpc=world.vpc,
            clock=world.clock,
            wall=lambda: world.wall[0] + skew,
        )
    finally:
        world.skew = outer_skew
    for r in result["results"]:
        if r.get("clientToken") and r["eventId"]:
            # an incident's change: its identity, the node, and which change (a drill makes two)
            world.tokens.setdefault(f"{r['eventId']}|{r['instanceId']}|{r['intent']}", set()).add(r["clientToken"])
    return result


def _elsewhere(world: World, event: bytes, skew: float, wait: str) -> None:
    """Another invocation, in another FC instance (its own incident locks), right now."""
    if world.depth:
        return
    world.depth += 1
    locks, observe.INCIDENTS = observe.INCIDENTS, IncidentLocks()
    try:
        # The faults queued for this step are the outer invocation's; and the other one must not
        # sleep away time (a backoff) while the outer call is in flight.
        with world.vpc.without_faults():
            _run(world, event, wait, skew)
    finally:
        observe.INCIDENTS = locks
        world.depth -= 1


def _health(world: World, node: str, incident: int | str, healthy: bool = False) -> dict[str, Any]:
    return {"type": "havip.health", "instanceId": node, "haVipId": HAVIP, "healthy": healthy, "id": f"c-{incident}"}


def _settle(world: World, seconds: float = 10.0, *, wall: bool = True) -> None:
    world.clock.now += seconds  # the backend applies what is due on the next read
    if wall:  # (not: no hold or cooldown may end meanwhile)
        world.wall[0] += seconds


def _during(world: World, step: Step) -> None:
    """Another invocation while this step's first call that changes a HAVIP is served: before it
    (a timer or an alarm for another node, racing our look), and after an association (a failure
    event for the node being associated)."""
    if not step.during:
        return
    world.count(f"during {step.during}")
    other = json.dumps(_health(world, world.shape.nodes[-1], f"other-{step.incident}")).encode()
    event = TIMER if step.during == "timer" else other

    def before(_v: FakeVpc) -> None:
        # Its call lands just before ours, while ours is in flight: it does not wait for its
        # change to finish (a whole removal within one request's flight is not physical: it
        # takes seconds, and the clock here stands still while ours is served).
        _elsewhere(world, event, -step.skew, "0")

    world.vpc.race("UnassociateHaVip" if step.kind == "fail" else "AssociateHaVip", before)

    def while_associating(node: str) -> None:
        _elsewhere(world, json.dumps(_health(world, node, f"assoc-{node}")).encode(), 0.0, "5")

    world.after_call.setdefault("AssociateHaVip", []).append(while_associating)


def _forged(world: World, node: str, form: str) -> tuple[str, str]:
    """A tag someone who may only tag the HAVIP writes, dated now: each would steer the function
    if it were trusted — a removal in flight (a veto: the last-instance guard), a removal to
    undo onto the nodes the HAVIP holds now (an association), a cooldown stamp (a veto)."""
    now = world.wall[0]
    nodes = world.vpc.havips[HAVIP].associated_instances
    in_flight = removed(HAVIP, node, at=now, left=[], state="removing")
    to_undo = removed(HAVIP, node, at=now - 7200, left=nodes, up_since=now - 3600, held=len(nodes) + 1)
    unsigned = {
        "in-flight": (in_flight[0], in_flight[1][:-22] + "A" * 22),  # our format, signed without the key
        "failback": (to_undo[0], to_undo[1][:-22] + "A" * 22),
        "cooldown": (record.FORCED, f"v1;{record.iso(now)};{node};" + "A" * 22),
        "other-havip": removed("havip-bp1other000000001", node, at=now, left=[], state="removing"),  # signed, elsewhere
        "copied-forced": (
            record.FORCED,
            record.forced_tag(KEY, "havip-bp1other000000001", record.Forced(now, node))[1],
        ),
        "unsigned": (record.REMOVED + node, f"{int(now)}/2"),  # the first release's format
        "malformed": (record.REMOVED + node, f"{int(now)}/\u00b2"),
    }
    return unsigned[form]


def _forge(world: World, node: str, form: str) -> None:
    key, value = _forged(world, node, form)
    h = world.vpc.havips[HAVIP]
    current = dict(h.tags)
    if key in current and record.parse([(key, current[key])], HAVIP, KEY, world.wall[0]).ignored == ():
        return  # overwriting a genuine entry is deleting it (a record-fault step is the like)
    if len(current) >= 20 and key not in current:
        return  # the HAVIP's tag quota
    current[key] = value
    world.vpc.havips[HAVIP] = replace(h, tags=tuple(current.items()))
    world.count(f"forged {form}")


def _apply(world: World, step: Step) -> None:
    vpc = world.vpc
    world.clock.now += step.advance
    world.wall[0] += step.advance
    for action in step.throttles:
        vpc.fail_next(action, THROTTLE)
    if step.kind == "fail":
        _during(world, step)
        node = world.node(min(step.nodes[0], 3))
        _run(world, json.dumps(_health(world, node, step.incident)).encode(), step.wait, step.skew)
    elif step.kind == "batch":
        batch = [
            {
                "specversion": "1.0",
                "id": f"b{step.incident}-{n}",
                "source": "checker",
                "type": "havip.health",
                "data": _health(world, world.node(i), step.incident * 10 + n),
            }
            for n, i in enumerate(step.nodes)
        ]
        _run(world, json.dumps(batch).encode(), step.wait)
    elif step.kind == "order":
        node = world.node(step.nodes[0])
        token = f"order-{step.incident}-{node}"
        world.ordered.add(token)
        event = {"HaVipId": HAVIP, "InstanceId": node, "Force": True, "ClientToken": token}
        _run(world, json.dumps(event).encode())
    elif step.kind == "timer":
        _during(world, step)
        _run(world, TIMER, skew=step.skew)
        world.after_call.clear()  # what did not happen during this step does not happen later
        # (5): once what is under way has settled and describes caught up, a reconcile that
        # changed nothing is followed by one that changes nothing either (no hold or cooldown
        # ends meanwhile: the wall clock stands still).
        _settle(world, wall=False)
        before = len(vpc.mutations())
        _run(world, TIMER)
        if len(vpc.mutations()) == before:
            _settle(world, wall=False)
            _run(world, TIMER)
            if len(vpc.mutations()) != before:
                world.violations.append("(5) a second reconcile with nothing changed made a mutating call")
    elif step.kind == "ecs":
        _set_ecs(world, world.node(step.nodes[0]), step.status)
    elif step.kind == "recover":
        node = world.node(step.nodes[0])
        _set_ecs(world, node, "Running")
        _run(world, TIMER)  # the hold starts (recorded) ...
        world.wall[0] += step.advance
        world.clock.now += step.advance
        _run(world, TIMER)  # ... and has passed
    elif step.kind == "drill":
        _drill(world, step)
    elif step.kind == "forge":
        node = world.node(step.nodes[0])
        world.forgeries.append((node, step.form))
        _forge(world, node, step.form)
    elif step.kind == "record-fault":
        action, errors = {
            "tag-denied": ("TagResources", [DENIED] * 3),
            "tag-throttled": ("TagResources", [THROTTLE] * 3),
            "untag-denied": ("UnTagResources", [DENIED] * 2),
            "list-throttled": ("ListTagResources", [THROTTLE] * 2),
        }[step.form]
        vpc.fail_next(action, *errors)
        world.count(f"record fault {step.form}")
    else:
        _actor(world, step)
    world.after_call.clear()


def _drill(world: World, step: Step) -> None:
    vpc = world.vpc
    before = vpc.havips[HAVIP]
    actor_before = world.actor_removed_at
    if step.form == "cut":
        vpc.fail_next("AssociateHaVip", DENIED)
    world.drilling = before.master_instance_id
    try:
        result = _run(world, json.dumps({"action": "drill", "haVipId": HAVIP}).encode())
    finally:
        world.drilling = None
    status = result["drill"]["status"]
    world.count(f"drill {status}")
    after = vpc.havips[HAVIP]
    if status == "done" and world.actor_removed_at == actor_before:
        same = (set(after.associated_instances), after.master_instance_id, after.tags)
        if same != (set(before.associated_instances), before.master_instance_id, before.tags):
            world.violations.append(f"(7) a drill left {after}, found {before}")


def _set_ecs(world: World, node: str, status: str) -> None:
    vpc = world.vpc
    host = world.shape.host(node)
    if host in world.released:
        return  # a released instance never comes back (ECS never reuses an id)
    if status != "Absent":
        vpc.ecs[host] = status
        return
    # The platform drops a released instance (and the ENI it held) from the HAVIP at once:
    # another actor's removal.
    world.released.add(host)
    held = vpc.havips[HAVIP].associated_instances
    on_it = [n for n in held if world.shape.host(n) == host]
    vpc.ecs[host] = status
    if on_it:
        world.actor_removed_at = world.clock.now
        left = vpc.havips[HAVIP]
        last_going = left.status == "Unassociating" and len(left.associated_instances) == 1
        world.excused_empty = world.excused_empty or not left.associated_instances or last_going


def _actor(world: World, step: Step) -> None:
    node = world.node(step.nodes[0])

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
            and node != ATTACKER
            and node not in h.associated_instances
            and len(h.associated_instances) < v.limit
            and v.ecs.get(world.shape.host(node)) in ("Running", "Stopped")  # what AssociateHaVip takes
            and world.shape.host(node) not in world.released
        ):
            v.havips[HAVIP] = replace(h, associated_instances=(*h.associated_instances, node))
            world.actor_added_at = v.clock.now

    if step.race:
        world.vpc.race("UnassociateHaVip", change)
    else:
        change(world.vpc)


def _no_forged_veto(world: World, master_dies: bool) -> None:
    """(6): once everything settled and a genuine cooldown has passed, a master ECS shows Stopped
    while another node of the HAVIP is Running is taken off by the reconciler — with every
    forged tag refreshed right before (each reconcile also checks (4) against the forgeries)."""
    vpc = world.vpc
    vpc.clear_faults()
    _settle(world, 60.0)
    # a genuine cooldown has passed by the clock of whichever instance stamped it
    world.wall[0] += COOLDOWN + MAX_SKEW + 1
    h = vpc.havips[HAVIP]
    if master_dies and h.master_instance_id and any(world.running(n) for n in h.associated_instances):
        _set_ecs(world, h.master_instance_id, "Stopped")
    h = vpc.havips[HAVIP]
    master = h.master_instance_id
    others = [n for n in h.associated_instances if n != master]
    # (Stopping: the API refuses until it is Stopped — IncorrectInstanceStatus)
    dead = master is not None and vpc.ecs.get(world.shape.host(master)) == "Stopped"
    owed = dead and any(world.running(n) for n in others) and h.status in ("InUse", "Available")
    # Every kind of forgery seen in the sequence, refreshed right before, aimed where it would
    # steer most: a veto (a removal in flight) at the survivors, a failback at an instance on no
    # HAVIP. A forged veto must not hold, however recent, nor a forged failback act.
    seen = {form for _, form in world.forgeries}
    h = vpc.havips[HAVIP]
    aims: list[tuple[list[str], list[str]]] = [
        ([f for f in ("in-flight", "other-havip") if f in seen], [n for n in h.associated_instances if n != master]),
        ([f for f in ("failback", "unsigned", "malformed") if f in seen], [world.shape.spare, ATTACKER]),
        ([f for f in ("cooldown", "copied-forced") if f in seen], [master or ATTACKER]),
    ]
    for k in range(2):  # the first may only confirm what is under way
        for forms, nodes in aims:
            for node in nodes if forms else ():
                _forge(world, node, forms[k % len(forms)])
        _run(world, TIMER)
        _settle(world)
    if not owed:
        return
    world.count("final failover checked")
    h = vpc.havips[HAVIP]
    if master in h.associated_instances:
        world.violations.append(f"(6) the dead master {master} was kept, tags {dict(h.tags)}")


TALLY: dict[str, Any] = {
    "sequences": 0,
    "shapes": {},
    "steps": {},
    "lag": {},
    "unassociate_calls": 0,
    "associate_calls": 0,
    "final_nodes": {},
    "excused_races": 0,
    "situations": {},
}


def _tally(lag: float, sequence: list[Step], world: World) -> None:
    vpc = world.vpc
    TALLY["sequences"] += 1
    TALLY["shapes"][world.shape.name] = TALLY["shapes"].get(world.shape.name, 0) + 1
    for step in sequence:
        TALLY["steps"][step.kind] = TALLY["steps"].get(step.kind, 0) + 1
    TALLY["lag"][str(lag)] = TALLY["lag"].get(str(lag), 0) + 1
    TALLY["unassociate_calls"] += vpc.count("UnassociateHaVip")
    TALLY["associate_calls"] += vpc.count("AssociateHaVip")
    n = str(len(vpc.havips[HAVIP].associated_instances))
    TALLY["final_nodes"][n] = TALLY["final_nodes"].get(n, 0) + 1
    TALLY["excused_races"] += int(world.excused_empty)
    for what, count in world.counts.items():
        TALLY["situations"][what] = TALLY["situations"].get(what, 0) + count
    write_report("sequences.json", {**TALLY, "examples_setting": EXAMPLES})


def _world(shape: Shape, lag: float, settle: float) -> World:
    from havip_failover.model import HaVip

    clock = FakeClock()
    vpc = FakeVpc(clock, lag=lag, settle=settle, limit=shape.limit)
    for eni, host in shape.hosts:
        vpc.enis[eni] = host
    kind = "NetworkInterface" if shape.hosts else "EcsInstance"
    vpc.add(HaVip(HAVIP, "InUse", shape.nodes, shape.nodes[0], kind, "192.168.1.100", "vpc-bp1demo", "cn-hangzhou"))
    vpc.ecs[shape.host(shape.spare)] = "Running"  # another instance in the vSwitch, on no HAVIP
    if not shape.hosts:
        vpc.ecs[ATTACKER] = "Running"  # the instance whoever forges tags would like on the HAVIP
    world = World(shape, clock, vpc)
    _watch(world)
    return world


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    shape=st.sampled_from([PAIR, PAIR, TRIO, ENIS]),
    lag=st.sampled_from([0.0, 0.5, 2.0]),
    settle=st.sampled_from([0.3, 1.0, 2.5]),
    sequence=st.lists(steps, min_size=1, max_size=8),
    master_dies=st.booleans(),
)
def test_safety_holds_over_random_sequences(
    shape: Shape, lag: float, settle: float, sequence: list[Step], master_dies: bool
) -> None:
    world = _world(shape, lag, settle)
    for step in sequence:
        _apply(world, step)
    _no_forged_veto(world, master_dies)
    world.clock.now += 60
    final = world.vpc.havips[HAVIP]
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
    assert world.violations == [], (shape.name, sequence, world.violations)
    _tally(lag, sequence, world)
