"""Record entries as the function writes them (signed with the tests' record key), and forged
ones, for tests that start from a HAVIP whose record already says something."""

from __future__ import annotations

from collections.abc import Sequence

from havip_failover import record
from havip_failover.record import Forced, RecordKey, Removal
from tests.conftest import RECORD_KEY

KEY = RecordKey(RECORD_KEY)


def removed(
    ha_vip_id: str,
    node: str,
    *,
    at: float,
    left: Sequence[str],
    state: str = "removed",
    up_since: float | None = None,
    held: int | None = None,
) -> tuple[str, str]:
    """The entry for `node`, removed at `at` from a HAVIP it left holding `left`."""
    removal = Removal(node, state, float(int(at)), held or len(left) + 1, record.left_digest(left), up_since)  # type: ignore[arg-type]
    return record.removal_tag(KEY, ha_vip_id, removal)


def forced(ha_vip_id: str, node: str, *, at: float) -> tuple[str, str]:
    return record.forced_tag(KEY, ha_vip_id, Forced(float(int(at)), node))
