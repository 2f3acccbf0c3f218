"""The decision of DESIGN §4: pure, no I/O, no clock, no SDK types.

Given what an event said about an instance and the HAVIP as DescribeHaVips shows it
now, say what to do. The orchestration (failover.py) loops: observe, decide, act,
observe again, until the decision is final or the deadline passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .ids import instance_type_of
from .model import HaVip, SignalState

# skip: final, nothing to do (and nothing was wrong); done: the instance is not
# associated (any more); wait: observe again later; unassociate: call the API;
# fail: final, a permanent problem.
Action = Literal["skip", "done", "wait", "unassociate", "fail"]

# Statuses in which UnassociateHaVip is accepted (API usage notes).
ACTIONABLE_STATUSES = frozenset({"Available", "InUse"})


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    force: bool = False
    instance_type: str | None = None


def decide(
    *,
    state: SignalState,
    instance_id: str,
    havip: HaVip | None,
    managed: bool = True,
    force_policy: str = "auto",
    allow_last_instance: bool = False,
    requested_force: bool | None = None,
    requested_instance_type: str | None = None,
) -> Decision:
    """Decide for one (instance, HAVIP) pair. Rows in the order of DESIGN §4's table."""
    if state == "recovered":
        return Decision("skip", "recovery-signal")
    if state != "failed":
        return Decision("skip", "informational-signal")
    if not managed:
        return Decision("skip", "not-managed")
    if havip is None:
        return Decision("fail", "havip-not-found")
    if instance_id not in havip.associated_instances:
        return Decision("done", "not-associated")
    if havip.status == "Unassociating":
        return Decision("wait", "havip-unassociating")
    if havip.status not in ACTIONABLE_STATUSES:
        return Decision("wait", f"havip-status-{havip.status or 'unknown'}")
    if len(havip.associated_instances) < 2 and not allow_last_instance:
        # Removing the only instance leaves the VIP with no holder at all.
        return Decision("skip", "last-instance")

    instance_type = requested_instance_type or havip.associated_instance_type or instance_type_of(instance_id)
    is_master = havip.master_instance_id == instance_id
    if requested_force is not None:
        # A person (manual event) said what they want: respected, never second-guessed
        # into a forced removal of the master they asked us to leave alone.
        if is_master and not requested_force:
            return Decision("skip", "master-force-not-requested")
        reason = "master-failed" if is_master else "standby-failed"
        return Decision("unassociate", reason, force=requested_force, instance_type=instance_type)
    if is_master:
        if force_policy != "auto":
            return Decision("skip", "master-force-never")
        return Decision("unassociate", "master-failed", force=True, instance_type=instance_type)
    return Decision("unassociate", "standby-failed", force=False, instance_type=instance_type)
