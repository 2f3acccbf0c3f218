"""The function's record on the HAVIP itself, as tags (DESIGN §10.1): durable across cold
starts, shared by every FC instance, visible in the console, no database.

    havip-failover:removed:<node>  = "<epoch seconds>/<nodes the HAVIP held before>"
    havip-failover:up:<node>       = "<epoch seconds>"   first seen Running again (failback hold)
    havip-failover:forced          = "<epoch seconds>"   last time a master was forced off

Only what the function removed is ever put back; a node a person removed carries no record.
Pure: parsing and building tags, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

PREFIX = "havip-failover:"
REMOVED = PREFIX + "removed:"
UP = PREFIX + "up:"
FORCED = PREFIX + "forced"


@dataclass(frozen=True)
class Removal:
    node: str
    at: float  # when the function took it off (epoch seconds)
    size: int  # how many nodes the HAVIP held before: a failback never makes it hold more


@dataclass(frozen=True)
class Record:
    removed: dict[str, Removal] = field(default_factory=dict)
    up_since: dict[str, float] = field(default_factory=dict)
    forced_at: float | None = None

    @property
    def empty(self) -> bool:
        return not self.removed and not self.up_since and self.forced_at is None

    def public(self) -> dict[str, object]:
        return {
            "removed": {n: {"at": int(r.at), "heldBefore": r.size} for n, r in sorted(self.removed.items())},
            "upSince": {n: int(t) for n, t in sorted(self.up_since.items())},
            "forcedAt": int(self.forced_at) if self.forced_at is not None else None,
        }


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse(tags: Iterable[tuple[str, str]]) -> Record:
    """The record in a HAVIP's tags; a malformed entry (edited by hand) is ignored, never trusted."""
    removed: dict[str, Removal] = {}
    up: dict[str, float] = {}
    forced: float | None = None
    for key, value in tags:
        if key.startswith(REMOVED) and len(key) > len(REMOVED):
            at_text, _, size_text = value.partition("/")
            at = _number(at_text)
            size = int(size_text) if size_text.isdigit() else 2
            if at is not None:
                removed[key[len(REMOVED) :]] = Removal(key[len(REMOVED) :], at, max(2, size))
        elif key.startswith(UP) and len(key) > len(UP):
            since = _number(value)
            if since is not None:
                up[key[len(UP) :]] = since
        elif key == FORCED:
            forced = _number(value)
    return Record(removed, up, forced)


def removal_tags(node: str, at: float, size: int, *, forced: bool) -> dict[str, str]:
    tags = {REMOVED + node: f"{int(at)}/{size}"}
    if forced:
        tags[FORCED] = str(int(at))
    return tags


def up_tag(node: str, at: float) -> dict[str, str]:
    return {UP + node: str(int(at))}


def node_keys(node: str) -> list[str]:
    """Every key of a node's entry (cleared once it is back, or gone for good)."""
    return [REMOVED + node, UP + node]
