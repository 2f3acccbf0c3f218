"""Events for every change, end to end: the FC entry with the real SDK over real HTTP, publishing
to the emulator's EventBridge (PutEvents), which keeps what each bus received."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from havip_failover.publish import PUBLISH_SECONDS
from tests.conftest import CALLBACK_TOKEN, RECORD_KEY, event_bytes, manual
from tests.e2e.conftest import SECRET, Invoke
from vpc_emulator import EmulatorServer, Fault, two_node_pair

pytestmark = pytest.mark.e2e

MASTER = "i-bp1master000000001"
STANDBY = "i-bp1standby00000001"
HAVIP = "havip-bp1pair0000000001"
BUS = "havip-failover"
SUBJECT = f"havip/cn-hangzhou/{HAVIP}"
RECONCILE = event_bytes("timer-reconcile.json")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def publishing(emulator: EmulatorServer, fc: Invoke) -> Invoke:
    """The FC entry publishing to the bus `havip-failover` of the emulator, managing the pair."""
    emulator.backend.create_event_bus(BUS)
    emulator.backend.unassociate_delay = 0.3

    def call(event: bytes, **env: str) -> Any:
        return fc(
            event,
            extra_env={
                "HAVIP_EVENT_BUS": BUS,
                "HAVIP_EVENTBRIDGE_ENDPOINT": emulator.endpoint,
                "HAVIP_IDS": HAVIP,
                **env,
            },
        )

    return call


def received(emulator: EmulatorServer) -> list[dict[str, Any]]:
    return [e["event"] for e in emulator.backend.received_events(BUS)]


def body(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"]) if "statusCode" in response else response


def test_a_failover_publishes_one_event_carrying_its_result(emulator: EmulatorServer, publishing: Invoke) -> None:
    # GIVEN the master stopped, WHEN a person orders it off
    emulator.set_instance_status(MASTER, "Stopped")
    result = publishing(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True))
    (r,) = result["results"]
    assert r["outcome"] == "unassociated"
    # THEN exactly one CloudEvent reached the bus, and the result says it was published
    (event,) = received(emulator)
    assert result["events"] == {"bus": BUS, "published": 1, "unpublished": 0, "error": None}
    assert (event["Source"], event["Type"], event["Subject"]) == (
        "havip-failover",
        "havip-failover:HaVip:Unassociated",
        SUBJECT,
    )
    assert (event["SpecVersion"], event["DataContentType"]) == ("1.0", "application/json")
    assert event["Id"].startswith("havip-failover-") and event["Time"].endswith("Z")
    # its data is the decision's result entry, as the result and the havip.decision line carry it
    assert event["Data"] == r
    (put,) = emulator.calls("PutEvents")
    assert put.params["EventBusName"] == BUS and put.status == 200


def test_no_secret_ever_leaves_in_an_event(emulator: EmulatorServer, publishing: Invoke) -> None:
    emulator.set_instance_status(MASTER, "Stopped")
    publishing(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True))
    emulator.set_instance_status(MASTER, "Running")
    publishing(RECONCILE, HAVIP_FAILBACK="standby", HAVIP_FAILBACK_HOLD_SECONDS="0")
    sent = json.dumps([e.params for e in emulator.calls("PutEvents")])
    assert [e["Type"].rsplit(":", 1)[1] for e in received(emulator)] == ["Unassociated", "Associated"]
    for secret in (RECORD_KEY, SECRET, CALLBACK_TOKEN):
        assert secret not in sent


def test_failover_degraded_once_failback_whole_once(emulator: EmulatorServer, publishing: Invoke) -> None:
    failback = {"HAVIP_FAILBACK": "standby", "HAVIP_FAILBACK_HOLD_SECONDS": "0"}
    # the master dies; its event takes it off (no reconcile in that invocation: no pair event yet)
    emulator.set_instance_status(MASTER, "Stopped")
    publishing(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), **failback)
    assert [e["Type"] for e in received(emulator)] == ["havip-failover:HaVip:Unassociated"]
    # FC's timer while it is down: the pair became degraded: said once, and kept in the record
    first = publishing(RECONCILE, **failback)
    assert first["degraded"] == [HAVIP]
    degraded = received(emulator)[-1]
    assert (degraded["Type"], degraded["Subject"]) == ("havip-failover:Pair:Degraded", SUBJECT)
    assert degraded["Data"]["state"] == "degraded" and degraded["Data"]["previousState"] is None
    assert degraded["Data"]["nodes"] == [STANDBY] and degraded["Data"]["degraded"] is True
    assert "havip-failover:pair" in dict(_tags(emulator))
    # the next timers, still degraded: nothing more is published
    for _ in range(2):
        again = publishing(RECONCILE, **failback)
        assert again["degraded"] == [HAVIP] and again["events"]["published"] == 0
    assert len(received(emulator)) == 2
    # it is Running again: the reconciler puts it back (Associated), and the pair is whole (once)
    emulator.set_instance_status(MASTER, "Running")
    back = publishing(RECONCILE, **failback)
    assert [r["outcome"] for r in back["results"]] == ["associated"]
    types = [e["Type"] for e in received(emulator)[2:]]
    assert types == ["havip-failover:HaVip:Associated", "havip-failover:Pair:Whole"]
    whole = received(emulator)[-1]["Data"]
    assert (whole["state"], whole["previousState"], whole["degraded"]) == ("whole", "degraded", False)
    # and then nothing, whole or not
    quiet = publishing(RECONCILE, **failback)
    assert quiet["degraded"] == [] and quiet["events"]["published"] == 0
    assert len(received(emulator)) == 4


def _tags(emulator: EmulatorServer) -> list[tuple[str, str]]:
    havip = emulator.backend.get_havip(HAVIP)
    return [(t["Key"], t["Value"]) for t in (havip.get("Tags") or {}).get("Tag", [])]


def test_a_record_write_that_failed_is_published(emulator: EmulatorServer, publishing: Invoke) -> None:
    # GIVEN the role may not tag the HAVIP
    emulator.deny("TagResources")
    emulator.set_instance_status(MASTER, "Stopped")
    result = publishing(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True))
    (r,) = result["results"]
    # THEN the failover stands, and two events say what happened: the change and the lost record
    assert r["outcome"] == "unassociated" and r["record"]["ok"] is False
    types = [e["Type"] for e in received(emulator)]
    assert types == ["havip-failover:HaVip:Unassociated", "havip-failover:Record:WriteFailed"]
    lost = received(emulator)[-1]["Data"]
    assert lost["record"]["error"]["code"] == "Forbidden.RAM"


def test_a_failed_decision_is_published_and_a_skipped_one_is_not(emulator: EmulatorServer, publishing: Invoke) -> None:
    # a standby that is the last node: skipped (nothing changed, nothing tried): no event
    emulator.backend.unassociate_now(HAVIP, MASTER)
    skipped = publishing(manual(HaVipId=HAVIP, InstanceId=STANDBY, Force=True))
    assert [r["outcome"] for r in skipped["results"]] == ["skipped"]
    assert received(emulator) == [] and emulator.calls("PutEvents") == []
    assert skipped["events"]["published"] == 0
    # a HAVIP that does not exist: failed: one event
    gone = "havip-bp1gone000000001"
    failed = publishing(manual(HaVipId=gone, InstanceId=MASTER, Force=True), HAVIP_IDS=f"{HAVIP},{gone}")
    assert [r["outcome"] for r in failed["results"]] == ["failed"]
    (event,) = received(emulator)
    assert event["Type"] == "havip-failover:HaVip:Failed" and event["Data"]["reason"] == "havip-not-found"


def _failover(
    publishing: Invoke, emulator: EmulatorServer, fault: Fault | None = None
) -> tuple[dict[str, Any], float, list[str]]:
    """The master stopped and ordered off, from a fresh pair: the result, how long the
    invocation took, and the calls it made on the VPC and ECS."""
    emulator.reset(two_node_pair())
    emulator.backend.unassociate_delay = 0.3
    emulator.backend.create_event_bus(BUS)
    if fault is not None:
        emulator.inject(fault)
    emulator.set_instance_status(MASTER, "Stopped")
    started = time.monotonic()
    result = publishing(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True))
    return result, time.monotonic() - started, [c.action for c in emulator.journal if c.action != "PutEvents"]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(action="PutEvents", code="InternalError", http_status=500, times=-1),
        Fault(action="PutEvents", code="Forbidden.RAM", http_status=403, times=-1),
        Fault(action="PutEvents", hang=30.0, times=-1),
        Fault(action="PutEvents", drop=True, times=-1),
    ],
    ids=["5xx", "ram-denied", "hang", "dropped"],
)
def test_a_failing_bus_changes_neither_the_outcome_nor_its_timing(
    emulator: EmulatorServer, publishing: Invoke, fault: Fault
) -> None:
    # GIVEN the same failover with a working bus, as the baseline
    baseline, _, calls = _failover(publishing, emulator)
    assert baseline["events"]["published"] == 1
    # WHEN PutEvents fails or hangs
    result, took, calls_now = _failover(publishing, emulator, fault)
    emulator.clear_faults()
    # THEN the outcome, its reason, `ok` and the calls on the HAVIP are the same
    (was,), (now,) = baseline["results"], result["results"]
    assert (now["outcome"], now["reason"], now["force"], result["ok"]) == (
        was["outcome"],
        was["reason"],
        was["force"],
        baseline["ok"],
    )
    assert sorted(calls_now) == sorted(calls)  # (the record and ECS are read side by side: any order)
    # the decision took as long as without the fault (publishing comes after it: elapsedMs is its own)
    assert abs(now["elapsedMs"] - was["elapsedMs"]) < 400, (was["elapsedMs"], now["elapsedMs"])
    # the failure is reported, and the invocation ended within the publishing budget
    assert result["events"]["published"] == 0 and result["events"]["error"] is not None
    assert took < now["elapsedMs"] / 1000 + PUBLISH_SECONDS + 1.0


def test_over_http_a_hanging_bus_never_delays_the_answer_past_cloudmonitors_wait(
    emulator: EmulatorServer, publishing: Invoke
) -> None:
    # GIVEN PutEvents that never answers, WHEN CloudMonitor's alarm comes over the HTTP trigger
    emulator.inject(Fault(action="PutEvents", hang=30.0, times=-1))
    emulator.set_instance_status(MASTER, "Stopped")
    started = time.monotonic()
    response = publishing(event_bytes("cloudmonitor-alarm-master.json"))
    took = time.monotonic() - started
    # THEN the failover is done and answered 200 within the HTTP trigger's 4 s (CloudMonitor waits 5)
    result = body(response)
    assert response["statusCode"] == 200 and [r["outcome"] for r in result["results"]] == ["unassociated"]
    assert result["events"]["error"]["code"] in ("Timeout", "NetworkError", "DeadlineExceeded")
    assert took < 4.6


def test_a_bus_that_does_not_exist_is_reported(emulator: EmulatorServer, publishing: Invoke) -> None:
    emulator.set_instance_status(MASTER, "Stopped")
    result = publishing(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), HAVIP_EVENT_BUS="not-created")
    assert result["ok"] is True
    assert result["events"]["error"]["code"] == "EventBusNotExist"
    assert len(emulator.calls("PutEvents")) == 1  # permanent: not retried


def test_without_a_bus_nothing_is_published(emulator: EmulatorServer, fc: Invoke) -> None:
    emulator.set_instance_status(MASTER, "Stopped")
    result = fc(manual(HaVipId=HAVIP, InstanceId=MASTER, Force=True), extra_env={"HAVIP_IDS": HAVIP})
    assert "events" not in result
    fc(RECONCILE, extra_env={"HAVIP_IDS": HAVIP})
    assert emulator.calls("PutEvents") == []
    assert "havip-failover:pair" not in dict(_tags(emulator))  # nothing kept for events that are off


def test_make_demo_shows_the_events_of_the_failover_and_the_failback() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/demo.py"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    shown = done.stdout[done.stdout.index("Events on the EventBridge bus havip-failover") :].splitlines()[1:5]
    kinds = [line.split()[1] for line in shown]
    assert kinds == [
        "havip-failover:HaVip:Unassociated",
        "havip-failover:Pair:Degraded",
        "havip-failover:HaVip:Associated",
        "havip-failover:Pair:Whole",
    ]
