"""The function's record on the HAVIP itself, in its tags: durable across cold starts, shared by
every FC instance, visible in the console, no database — and a security boundary.

Whoever may tag a HAVIP may write any tag, so a tag is input, not truth: every entry this
function writes carries an HMAC-SHA256 (HAVIP_RECORD_KEY, a secret only the function holds)
over the HAVIP id, the tag key (so the node) and the value. An entry that fails the check, is
malformed or absurd is ignored — never trusted, never a crash — and `Record.ignored` says why.

    havip-failover:removed:<node> = v1;<state>;<at>;<held>;<left>;<up>;<mac>
        state  removing: our UnassociateHaVip was accepted; removed: a describe showed it done
        at     when the call was accepted (ISO 8601 UTC, the writer's clock)
        held   how many nodes the HAVIP held before (1..10): failback never makes it hold more
        left   digest of the nodes the removal left on the HAVIP: failback puts the node back
               only onto exactly those (so removals are undone last-first, and never onto a
               HAVIP that people have changed since)
        up     when the node was first seen Running again (the failback hold), or "-"
    havip-failover:forced = v1;<at>;<node>;<mac>     the last time a master was forced off
    havip-failover:pair   = v1;<degraded|whole>;<at>;<mac>   how the pair was last reported
    havip-failover:drill  = v1;<at>;<node>;<mac>     a drill took this standby off: put it back

Pure: parsing, verifying and building entries; no I/O, no clock (the caller passes `now`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Literal

from .ids import ENI_ID_RE, INSTANCE_ID_RE

PREFIX = "havip-failover:"
REMOVED = PREFIX + "removed:"
FORCED = PREFIX + "forced"
PAIR = PREFIX + "pair"
DRILL = PREFIX + "drill"
VERSION = "v1"
MIN_KEY_LENGTH = 32
# Entries written up to this far in the future still count (one FC instance's clock ahead of
# another's); further ahead is absurd and ignored.
CLOCK_SKEW = 300.0
# How long an unconfirmed removal ("removing") counts as in flight: a describe may still list
# the node that long. How far describes lag is not published; five minutes is far beyond
# anything seen. After it, a node still listed is judged on the describe.
IN_FLIGHT = 300.0
MAC_BYTES = 16  # 128 bits of HMAC-SHA256, base64url: 22 characters
MAX_VALUE = 128  # the tag service's limit

RemovalState = Literal["removing", "removed"]
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_HELD = re.compile(r"^(?:[1-9]|10)$")  # a HAVIP holds at most 10 instances or ENIs
_LEFT = re.compile(r"^[0-9a-f]{12}$")
_MAC = re.compile(r"^[A-Za-z0-9_-]{22}$")


class RecordKey:
    """The key entries are signed with, and the previous one during a rotation (entries it
    signed still verify; every entry written is signed with the current one)."""

    def __init__(self, current: str, previous: str | None = None) -> None:
        if len(current) < MIN_KEY_LENGTH:
            raise ValueError(f"a record key has at least {MIN_KEY_LENGTH} characters")
        self._keys = tuple(k.encode() for k in (current, previous) if k)

    def __repr__(self) -> str:
        return "RecordKey(<secret>)"

    def sign(self, ha_vip_id: str, key: str, body: str) -> str:
        return _mac(self._keys[0], ha_vip_id, key, body)

    def verifies(self, ha_vip_id: str, key: str, body: str, mac: str) -> bool:
        return any(hmac.compare_digest(_mac(k, ha_vip_id, key, body), mac) for k in self._keys)


def _mac(secret: bytes, ha_vip_id: str, key: str, body: str) -> str:
    message = "\n".join((VERSION, ha_vip_id, key, body)).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Removal:
    node: str
    state: RemovalState
    at: float  # when the function's UnassociateHaVip was accepted (epoch seconds)
    held: int  # how many nodes the HAVIP held before
    left: str  # digest of the nodes it left on the HAVIP
    up_since: float | None = None  # first seen Running again (the failback hold)

    def recent(self, now: float) -> bool:
        """Within the window a describe may lag by (or written by a clock a little ahead)."""
        return -CLOCK_SKEW <= now - self.at < IN_FLIGHT

    def in_flight(self, now: float) -> bool:
        """Unconfirmed and recent: a describe that still lists the node may be lagging."""
        return self.state == "removing" and self.recent(now)


@dataclass(frozen=True)
class Forced:
    at: float
    node: str


@dataclass(frozen=True)
class PairState:
    state: Literal["degraded", "whole"]
    at: float  # since when (the reconcile that saw it change)


@dataclass(frozen=True)
class Drill:
    at: float
    node: str  # the standby a drill took off, to be put back whatever HAVIP_FAILBACK says


@dataclass(frozen=True)
class Ignored:
    key: str
    why: str


@dataclass(frozen=True)
class Record:
    removals: dict[str, Removal] = field(default_factory=dict)
    forced: Forced | None = None
    ignored: tuple[Ignored, ...] = ()
    pair: PairState | None = None
    drill: Drill | None = None

    def in_flight(self, now: float, *, besides: str = "") -> frozenset[str]:
        """Nodes whose removal by some invocation is in flight (other than `besides`)."""
        return frozenset(n for n, r in self.removals.items() if n != besides and r.in_flight(now))

    def public(self) -> dict[str, object]:
        """For results and inspect: times in ISO 8601 UTC, with epoch seconds beside them."""
        return {
            "removed": {
                n: {
                    "state": r.state,
                    "at": iso(r.at),
                    "atEpoch": int(r.at),
                    "heldBefore": r.held,
                    "upSince": iso(r.up_since) if r.up_since is not None else None,
                }
                for n, r in sorted(self.removals.items())
            },
            "forced": {"at": iso(self.forced.at), "atEpoch": int(self.forced.at), "node": self.forced.node}
            if self.forced
            else None,
            "pair": {"state": self.pair.state, "since": iso(self.pair.at)} if self.pair else None,
            "drill": {"node": self.drill.node, "at": iso(self.drill.at)} if self.drill else None,
            "ignored": [{"key": i.key, "why": i.why} for i in self.ignored],
        }


def iso(epoch: float) -> str:
    """A time for people: ISO 8601 UTC, to the second."""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> float:
    if not _TIME.match(text):
        raise ValueError(f"{text!r} is not a time YYYY-MM-DDTHH:MM:SSZ")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def left_digest(nodes: Iterable[str]) -> str:
    """Which nodes a removal left on the HAVIP, as a digest (a tag value holds 128 characters)."""
    return hashlib.sha256(",".join(sorted(set(nodes))).encode()).hexdigest()[:12]


def is_node(text: str) -> bool:
    return bool(INSTANCE_ID_RE.match(text) or ENI_ID_RE.match(text))


def parse(tags: Iterable[tuple[str, str]], ha_vip_id: str, key: RecordKey, now: float) -> Record:
    """The record in a HAVIP's tags. Only entries this function signed for this HAVIP are
    trusted; anything else under our prefix is ignored with the reason."""
    removals: dict[str, Removal] = {}
    forced: Forced | None = None
    pair: PairState | None = None
    drill: Drill | None = None
    ignored: list[Ignored] = []
    for tag, value in tags:
        if not tag.startswith(PREFIX):
            continue  # someone else's tag
        try:
            if tag == FORCED:
                at, node = _stamp(tag, value, ha_vip_id, key, now)
                forced = Forced(at, node)
            elif tag == DRILL:
                at, node = _stamp(tag, value, ha_vip_id, key, now)
                drill = Drill(at, node)
            elif tag == PAIR:
                pair = _pair(tag, value, ha_vip_id, key, now)
            elif tag.startswith(REMOVED):
                removal = _removal(tag, value, ha_vip_id, key, now)
                removals[removal.node] = removal
            else:
                raise ValueError("not a key this function writes")
        except ValueError as err:
            ignored.append(Ignored(tag, str(err)))
        except Exception as err:  # whatever a hostile value does, it is ignored, never a crash
            ignored.append(Ignored(tag, f"unreadable ({type(err).__name__})"))
    return Record(removals, forced, tuple(ignored), pair, drill)


def _fields(tag: str, value: str, count: int, ha_vip_id: str, key: RecordKey) -> list[str]:
    if len(value) > MAX_VALUE:
        raise ValueError("longer than a tag value can be")
    parts = value.split(";")
    if len(parts) != count or parts[0] != VERSION:
        raise ValueError(f"not an entry of this function ({VERSION};…;signature expected)")
    body, mac = ";".join(parts[:-1]), parts[-1]
    if not _MAC.match(mac) or not key.verifies(ha_vip_id, tag, body, mac):
        raise ValueError(
            "its signature does not verify with HAVIP_RECORD_KEY (or HAVIP_RECORD_KEY_PREVIOUS): "
            "written by someone else, copied from another HAVIP, or signed with a key no longer set"
        )
    return parts[1:-1]


def _removal(tag: str, value: str, ha_vip_id: str, key: RecordKey, now: float) -> Removal:
    node = tag[len(REMOVED) :]
    if not is_node(node):
        raise ValueError(f"{node!r} is not an instance or ENI id")
    state, at_text, held_text, left, up_text = _fields(tag, value, 7, ha_vip_id, key)
    if state not in ("removing", "removed"):
        raise ValueError(f"unknown state {state!r}")
    if not _HELD.match(held_text) or not _LEFT.match(left):
        raise ValueError("malformed node count or digest")
    at = _epoch(at_text)
    up = None if up_text == "-" else _epoch(up_text)
    if at > now + CLOCK_SKEW or (up is not None and up > now + CLOCK_SKEW):
        raise ValueError(f"written in the future (more than {int(CLOCK_SKEW)} s ahead): absurd")
    if up is not None and up < at:
        raise ValueError("seen Running again before it was removed: absurd")
    return Removal(node, "removing" if state == "removing" else "removed", at, int(held_text), left, up)


def _stamp(tag: str, value: str, ha_vip_id: str, key: RecordKey, now: float) -> tuple[float, str]:
    """`v1;<at>;<node>;<mac>`: when, and which node (the forced stamp, the drill's)."""
    at_text, node = _fields(tag, value, 4, ha_vip_id, key)
    at = _epoch(at_text)
    if at > now + CLOCK_SKEW:
        raise ValueError(f"written in the future (more than {int(CLOCK_SKEW)} s ahead): absurd")
    if not is_node(node):
        raise ValueError(f"{node!r} is not an instance or ENI id")
    return at, node


def _pair(tag: str, value: str, ha_vip_id: str, key: RecordKey, now: float) -> PairState:
    state, at_text = _fields(tag, value, 4, ha_vip_id, key)
    if state not in ("degraded", "whole"):
        raise ValueError(f"unknown pair state {state!r}")
    at = _epoch(at_text)
    if at > now + CLOCK_SKEW:
        raise ValueError(f"written in the future (more than {int(CLOCK_SKEW)} s ahead): absurd")
    return PairState("degraded" if state == "degraded" else "whole", at)


def removal_tag(key: RecordKey, ha_vip_id: str, removal: Removal) -> tuple[str, str]:
    up = iso(removal.up_since) if removal.up_since is not None else "-"
    fields = (removal.state, iso(removal.at), str(removal.held), removal.left, up)
    return _signed(key, ha_vip_id, REMOVED + removal.node, *fields)


def _signed(key: RecordKey, ha_vip_id: str, tag: str, *fields: str) -> tuple[str, str]:
    body = ";".join((VERSION, *fields))
    return tag, f"{body};{key.sign(ha_vip_id, tag, body)}"


def forced_tag(key: RecordKey, ha_vip_id: str, forced: Forced) -> tuple[str, str]:
    return _signed(key, ha_vip_id, FORCED, iso(forced.at), forced.node)


def drill_tag(key: RecordKey, ha_vip_id: str, drill: Drill) -> tuple[str, str]:
    return _signed(key, ha_vip_id, DRILL, iso(drill.at), drill.node)


def pair_tag(key: RecordKey, ha_vip_id: str, pair: PairState) -> tuple[str, str]:
    return _signed(key, ha_vip_id, PAIR, pair.state, iso(pair.at))


def label(tag: str, value: str | None) -> str:
    """A record write, for people: "removing i-…", "removed i-…", "forced", "cleared i-…"."""
    node = tag[len(REMOVED) :] if tag.startswith(REMOVED) else ""
    if value is None:
        return f"cleared {node or tag}"
    if node:
        return f"{value.split(';')[1]} {node}"
    if tag == PAIR:
        return f"pair {value.split(';')[1]}"
    return tag[len(PREFIX) :] if tag.startswith(PREFIX) else tag


def removal_of(node: str, at: float, remaining: Sequence[str]) -> Removal:
    """The entry for taking `node` off a HAVIP that holds `remaining` (node included) once the
    removals already in flight have landed."""
    return Removal(node, "removing", float(int(at)), len(remaining), left_digest(n for n in remaining if n != node))


def confirmed(removal: Removal) -> Removal:
    return replace(removal, state="removed")
