"""A drill order (FC console's test panel, `s invoke`, `python -m havip_failover drill`):

    {"action": "drill", "haVipId": "havip-…", "regionId": "cn-hangzhou", "dryRun": true}

`haVipId` is required; `regionId` (default: the function's region) and `dryRun` are optional.
The drill takes the pair's standby off and puts it back, through the same engine as a failover:
it carries a person's authority, so like a manual order it is refused over the HTTP trigger.
"""

from __future__ import annotations

from collections.abc import Mapping

from havip_failover.model import DrillOrder

from . import ecs, eventbridge, health, manual
from ._common import fail, havip_id, parse_bool, region_id, reject_typos, safe_repr

ACTIONS = ("drill",)
DRILL_KEYS = ("action", "haVipId", "regionId", "dryRun")


def looks_like_order(obj: Mapping[str, object]) -> bool:
    """An object with `action` that is no other shape (a note called "action" in an event stays a note)."""
    others = (eventbridge.looks_like_cloudevent, health.looks_like_health, ecs.looks_like_notification)
    return "action" in obj and not manual.looks_like_manual(obj) and not any(looks(obj) for looks in others)


def parse_drill(obj: Mapping[str, object]) -> DrillOrder:
    action = obj.get("action")
    if action not in ACTIONS:
        fail("UnknownAction", f"action must be one of {', '.join(ACTIONS)}, got {safe_repr(action)}")
    reject_typos(obj, DRILL_KEYS, "drill")
    if obj.get("haVipId") is None:
        fail("MissingHaVipId", "a drill needs haVipId: the HAVIP whose standby it takes off and puts back")
    ha_vip = havip_id(obj["haVipId"], "haVipId")
    region = None if obj.get("regionId") is None else region_id(obj["regionId"], "regionId")
    dry_run = False if obj.get("dryRun") is None else parse_bool(obj["dryRun"], "dryRun")
    return DrillOrder(ha_vip, region, dry_run)
