"""The drill order's shape, and which standby a drill takes (or why it refuses), from plain values."""

from __future__ import annotations

from dataclasses import replace

import pytest

from havip_failover.decide import drill_plan
from havip_failover.model import BadEvent, DrillOrder, HaVip, ParseOptions
from havip_failover.record import Record
from havip_failover.sources import parse_event

MASTER, STANDBY, THIRD = "i-bp1master000000001", "i-bp1standby00000001", "i-bp1third0000000001"
TRIO = HaVip("havip-bp1pair0000000001", "InUse", (THIRD, MASTER, STANDBY), MASTER, "EcsInstance")
RUNNING = {MASTER: "Running", STANDBY: "Running", THIRD: "Running"}


def test_a_drill_order_reads_its_parameters() -> None:
    raw = b'{"action": "drill", "haVipId": "havip-bp1pair0000000001", "regionId": "cn-shanghai", "dryRun": "TRUE"}'
    parsed = parse_event(raw, ParseOptions(), None)
    assert parsed.drill == DrillOrder("havip-bp1pair0000000001", "cn-shanghai", True) and parsed.signals == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"action": "drill"}', "MissingHaVipId"),
        (b'{"action": "drill", "haVipId": "vip-1"}', "InvalidHaVipId"),
        (b'{"action": "drill", "haVipId": "havip-bp1pair0000000001", "dryrun": true}', "UnknownParameter"),
        (b'{"action": "drill", "haVipId": "havip-bp1pair0000000001", "dryRun": "soon"}', "InvalidParameter"),
        (b'{"action": "failover", "haVipId": "havip-bp1pair0000000001"}', "UnknownAction"),
    ],
)
def test_a_bad_drill_order_is_refused_naming_the_problem(body: bytes, code: str) -> None:
    with pytest.raises(BadEvent) as info:
        parse_event(body, ParseOptions(), None)
    assert info.value.code == code


def test_a_manual_order_with_a_note_called_action_stays_a_manual_order() -> None:
    raw = b'{"HaVipId": "havip-bp1pair0000000001", "InstanceId": "i-bp1master000000001", "action": "note"}'
    parsed = parse_event(raw, ParseOptions(), None)
    assert parsed.drill is None and [s.source for s in parsed.signals] == ["manual"]


def test_the_drill_takes_one_standby_by_id_never_the_master() -> None:
    plan = drill_plan(TRIO, Record(), RUNNING)
    assert (plan.standby, plan.reason) == (STANDBY, None)  # the lower id of the two that are not master
    assert drill_plan(replace(TRIO, master_instance_id=STANDBY), Record(), RUNNING).standby == MASTER


def test_the_drill_names_every_node_that_is_not_running() -> None:
    plan = drill_plan(TRIO, Record(), {MASTER: "Running", STANDBY: "Stopping"})
    assert plan.reason == "drill-node-not-running"
    assert f"{STANDBY} is Stopping" in plan.message and f"{THIRD} is Absent" in plan.message
