"""Plain value types shared by the parsers, the decision and the orchestration.

Nothing here imports the SDK, reads the environment or looks at a clock, so every
layer (and every test) can build these values directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# What an event says about an instance. `info` covers everything that must never
# lead to a disassociation: INSUFFICIENT_DATA, Starting, a health check below the
# failure threshold, an unknown ECS state.
SignalState = Literal["failed", "recovered", "info"]

# Where the signal came from; the value appears in results and logs.
SourceName = Literal[
    "cloudmonitor-callback",
    "eventbridge-ecs",
    "eventbridge-cms-agent",
    "eventbridge-cms-alert",
    "manual",
    "health-check",
    "reconcile",
    "drill",
]


@dataclass(frozen=True)
class Signal:
    """One normalised statement: this instance failed/recovered, per this event."""

    source: SourceName
    # Stable identity of the incident: the same on every re-delivery of the same event
    # (EventBridge `source`+`id`, alarm rule+instance+timestamp, ...). Feeds the ClientToken.
    event_id: str
    instance_id: str  # `i-...` (ECS) or `eni-...` (ENI)
    state: SignalState
    # Why the parser concluded `state`, for people: "ecs state Stopped", "alarm ALERT/CRITICAL".
    detail: str
    region_id: str | None = None  # None: the configured / function region
    ha_vip_id: str | None = None  # None: discover (or use the HAVIP_IDS allowlist)
    # Only the manual event sets these; None means "decide automatically".
    force: bool | None = None
    instance_type: str | None = None  # "EcsInstance" | "NetworkInterface"
    client_token: str | None = None
    dry_run: bool | None = None
    # When the event says it happened (UTC epoch seconds): the alarm's timestamp, the
    # CloudEvent's time, the ECS notification's eventTime, the health check's checkedAt.
    # None for a manual order, or when the event carries no readable time.
    event_time: float | None = None


# A change to a HAVIP: take a node off it, or put one (back) on it.
IntentKind = Literal["remove", "add"]

# Why a decision ended as it did: the whole vocabulary (docs/operations.md explains each).
Reason = Literal[
    # the screen: signals that need no HAVIP
    "recovery-signal",
    "informational-signal",
    "stale-event",
    "event-time-in-future",
    # placing a signal
    "no-region",
    "not-managed",
    "discovery-failed",
    "no-havip-holds-instance",
    "no-managed-havip-holds-instance",
    # the machine
    "same-incident-in-progress",
    "instance-limit",
    "havip-not-found",
    "waiting-for-completion",
    "havip-unassociating",
    "havip-associating",
    "havip-status-Creating",
    "havip-status-Deleting",
    "havip-status-unknown",
    "record-unreadable",
    "vpc-error",  # the API failed us before anything was decided (the error says how)
    # remove
    "not-associated",
    "last-instance",
    "stale-view",
    "master-force-not-requested",
    "master-force-never",
    "cooldown",
    "survivor-state-unknown",
    "no-running-survivor",
    "master-failed",
    "standby-failed",
    # add
    "not-removed-by-function",
    "pair-already-whole",
    "nodes-changed-since-removal",
    "failback-hold",
    "node-state-unknown",
    "node-not-running",
    "failback-standby",
    # a drill (it only ever acts on a settled, whole pair whose every node is Running)
    "drill-havip-busy",
    "drill-pair-not-whole",
    "drill-node-not-running",
    "drill-no-master",
    "drill-record-unwritable",
    "drill-standby",
]


@dataclass(frozen=True)
class Intent:
    """One change the engine is to drive on one HAVIP. Every driver makes these: an event's
    failed node becomes `remove`; the reconciler plans `remove` (a master ECS shows down) and
    `add` (failback); a person's order is a `remove` with its own Force and ClientToken."""

    kind: IntentKind
    region_id: str
    ha_vip_id: str
    node: str  # `i-...` or `eni-...`
    source: SourceName
    # Stable identity of what asked (an event, an order, a reconcile situation, a removal to
    # undo): the same on every re-delivery. Feeds the ClientToken.
    incident: str
    detail: str  # why, for people
    ordered: bool = False  # a person's order: Force is as given, the survivors only reported
    requested_force: bool | None = None
    instance_type: str | None = None
    client_token: str | None = None  # a person's own ClientToken (only for the HAVIP it named)
    dry_run: bool = False
    event_time: float | None = None
    # Putting back the standby a drill took off: at once (no failback hold, whatever
    # HAVIP_FAILBACK says), and the drill's entry in the record is cleared with its removal's.
    drill: bool = False

    @property
    def state(self) -> SignalState:
        return "failed" if self.kind == "remove" else "recovered"


@dataclass(frozen=True)
class DrillOrder:
    """A person's order to prove the whole path on a live pair: take the standby off, put it back."""

    ha_vip_id: str
    region_id: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class ParseOptions:
    """What parsing needs from the configuration (kept out of the parsers' imports)."""

    min_consecutive_failures: int = 1


class BadEvent(Exception):
    """Input that no retry can fix: reported as a structured rejection, never raised to FC."""

    def __init__(self, code: str, message: str, envelope: str = "direct", status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        # "http" when the event came through the HTTP trigger: the answer is then
        # an HTTP response (400 for unreadable input) rather than a bare result.
        self.envelope = envelope
        # The HTTP status when it is not 400 (413 too large, 403 an order sent over HTTP).
        self.status = status


class Unauthorized(BadEvent):
    """An HTTP-trigger request without a valid callback token (401 missing, 403 wrong)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(code, message, envelope="http", status=status)
        self.status: int = status


class NotForUs(Exception):
    """A readable event that says nothing this function can act on (an alarm on another
    product, with no instance, or an availability alarm naming only its prober).

    Parsers raise it; the dispatcher turns it into an `Ignored` entry, and the answer is
    a success (2xx), so that CloudMonitor does not send it three more times.
    """

    def __init__(self, code: str, message: str, subject: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.subject = subject


@dataclass(frozen=True)
class Ignored:
    """An event (or batch element) read and deliberately left alone, and why."""

    code: str  # NoInstanceInAlarm | OtherProduct | AvailabilityAlarmNamesNoNode
    message: str  # for people: why, and what to change if it was meant for us
    subject: str  # what was ignored: "alarm 'db ping' (rule r-1, acs_networkmonitor)"
    index: int | None = None  # the batch element, when it came in a batch


@dataclass(frozen=True)
class Rejected:
    """A batch element that could not be read; the rest of the batch was still handled."""

    index: int
    code: str
    message: str


@dataclass(frozen=True)
class HaVip:
    """A HAVIP as DescribeHaVips shows it, reduced to what the decision needs."""

    ha_vip_id: str
    status: str  # Available | InUse | Unassociating | Associating | Creating | Deleting ...
    associated_instances: tuple[str, ...] = ()
    master_instance_id: str | None = None
    associated_instance_type: str | None = None  # EcsInstance | NetworkInterface
    ip_address: str | None = None
    vpc_id: str | None = None
    region_id: str | None = None
    # DescribeHaVips' HaVips.HaVip[].Tags.Tag[] as (Key, Value), in the API's order.
    tags: tuple[tuple[str, str], ...] = ()


@dataclass
class Parsed:
    """What one invocation's event said: the signals, and how it arrived."""

    signals: list[Signal] = field(default_factory=list)
    envelope: str = "direct"  # "direct" | "http" | "eventbridge-batch" | "timer"
    ignored: list[Ignored] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    reconcile: bool = False  # FC's timer: reconcile every managed HAVIP
    warmup: bool = False  # FC's timer with the payload "ping": no API call at all
    drill: DrillOrder | None = None  # a drill order (FC console, s invoke, the CLI)
    inspect: bool = False  # a read-only view of every managed pair (GET on the HTTP trigger)
